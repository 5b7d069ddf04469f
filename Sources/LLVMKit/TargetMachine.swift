import CLLVM

/// An LLVM target machine: a triple, a CPU name and a feature string, and the code generator for
/// them. Used by the JIT (host) and for ahead-of-time objects (any registered target).
public final class TargetMachine: @unchecked Sendable {
    public let ref: LLVMTargetMachineRef
    public let triple: String
    public let cpu: String
    public let features: String
    private var owned = true

    public enum OptimizationLevel: Sendable {
        case none, less, `default`, aggressive
        var llvm: LLVMCodeGenOptLevel {
            switch self {
            case .none: LLVMCodeGenLevelNone
            case .less: LLVMCodeGenLevelLess
            case .default: LLVMCodeGenLevelDefault
            case .aggressive: LLVMCodeGenLevelAggressive
            }
        }
    }

    /// A target machine for `triple`/`cpu`/`features`; throws when LLVM lacks the target.
    /// `largeCodeModel`: 64-bit absolute addresses for every symbol, so that code loaded anywhere
    /// (the JIT) reaches libm and libc however far away they are mapped.
    public init(triple: String, cpu: String, features: String, optimization: OptimizationLevel = .default,
                positionIndependent: Bool = true, largeCodeModel: Bool = false) throws {
        LLVM.initialize()
        var target: LLVMTargetRef?
        var message: UnsafeMutablePointer<CChar>?
        if LLVMGetTargetFromTriple(triple, &target, &message) != 0 {
            throw LLVMError("find target for triple \(triple)", LLVMError.takeMessage(message))
        }
        guard let machine = LLVMCreateTargetMachine(
            target, triple, cpu, features, optimization.llvm,
            positionIndependent ? LLVMRelocPIC : LLVMRelocDefault, largeCodeModel ? LLVMCodeModelLarge : LLVMCodeModelDefault)
        else { throw LLVMError("create target machine", "\(triple) cpu=\(cpu) features=\(features)") }
        self.ref = machine
        self.triple = triple
        self.cpu = cpu
        self.features = features
    }

    /// The machine this process runs on, with all of its CPU features.
    public static func host(optimization: OptimizationLevel = .default) throws -> TargetMachine {
        LLVM.initialize()
        return try TargetMachine(triple: LLVM.hostTriple, cpu: LLVM.hostCPUName, features: LLVM.hostCPUFeatures,
                                 optimization: optimization)
    }

    deinit {
        if owned { LLVMDisposeTargetMachine(ref) }
    }

    /// Hands the handle to an owner that disposes it (the ORC JIT target machine builder).
    func relinquish() -> LLVMTargetMachineRef {
        owned = false
        return ref
    }

    public enum FileKind { case object, assembly }

    /// Compiles `module` into an object file or assembly text in memory.
    public func emit(_ module: Module, as kind: FileKind) throws -> [UInt8] {
        var buffer: LLVMMemoryBufferRef?
        var message: UnsafeMutablePointer<CChar>?
        let fileType = kind == .object ? LLVMObjectFile : LLVMAssemblyFile
        if LLVMTargetMachineEmitToMemoryBuffer(ref, module.ref, fileType, &message, &buffer) != 0 {
            throw LLVMError("emit \(kind == .object ? "object" : "assembly") for \(triple)", LLVMError.takeMessage(message))
        }
        guard let buffer else { throw LLVMError("emit code", "no output buffer") }
        defer { LLVMDisposeMemoryBuffer(buffer) }
        let size = LLVMGetBufferSize(buffer)
        guard let start = LLVMGetBufferStart(buffer) else { return [] }
        return start.withMemoryRebound(to: UInt8.self, capacity: size) { Array(UnsafeBufferPointer(start: $0, count: size)) }
    }
}
