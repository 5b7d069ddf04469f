import CLLVM

/// A failure reported by LLVM, carrying LLVM's own message.
public struct LLVMError: Error, CustomStringConvertible, Sendable {
    /// What QuantForge was doing ("verify module", "add module to JIT", ...).
    public let operation: String
    /// LLVM's message, verbatim.
    public let message: String

    public init(_ operation: String, _ message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "LLVM failed to \(operation): \(message)" }

    /// Consumes an `LLVMErrorRef` (nil = success), freeing its message.
    static func check(_ error: LLVMErrorRef?, _ operation: String) throws {
        guard let error else { return }
        let cMessage = LLVMGetErrorMessage(error)
        let message = cMessage.map { String(cString: $0) } ?? "unknown error"
        LLVMDisposeErrorMessage(cMessage)
        throw LLVMError(operation, message)
    }

    /// Takes ownership of a `char*` message from LLVM and frees it.
    static func takeMessage(_ cMessage: UnsafeMutablePointer<CChar>?) -> String {
        guard let cMessage else { return "" }
        defer { LLVMDisposeMessage(cMessage) }
        return String(cString: cMessage)
    }
}
