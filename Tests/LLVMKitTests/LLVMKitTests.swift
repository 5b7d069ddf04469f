import Testing
@testable import LLVMKit
