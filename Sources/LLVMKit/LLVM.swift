import CLLVM
import Foundation

/// Process-wide facts about the LLVM this build links against.
public enum LLVM {
    /// The major version of the LLVM headers and library (14, 15, ...).
    public static var majorVersion: Int { Int(LLVM_VERSION_MAJOR) }

    /// The full version of the LLVM headers, e.g. `14.0.6`.
    public static var versionString: String { LLVM_VERSION_STRING }

    private static let initialized: Bool = {
        // Static inline in llvm-c/Target.h: one call per target this LLVM was built with.
        LLVMInitializeAllTargetInfos()
        LLVMInitializeAllTargets()
        LLVMInitializeAllTargetMCs()
        LLVMInitializeAllAsmPrinters()
        LLVMInitializeAllAsmParsers()
        return true
    }()

    /// Registers every target LLVM was built with (x86, AArch64, ...). Idempotent and thread-safe.
    public static func initialize() {
        _ = initialized
    }

    /// The triple of the machine this process runs on, e.g. `x86_64-pc-linux-gnu`.
    public static var hostTriple: String {
        LLVMError.takeMessage(LLVMGetDefaultTargetTriple())
    }

    /// The host CPU's name as LLVM knows it (may be `generic` on CPUs newer than this LLVM).
    public static var hostCPUName: String {
        LLVMError.takeMessage(LLVMGetHostCPUName())
    }

    /// The host CPU's features as LLVM sees them, e.g. `+avx2,+avx512vnni,-amx-tile,...`.
    public static var hostCPUFeatures: String {
        LLVMError.takeMessage(LLVMGetHostCPUFeatures())
    }
}
