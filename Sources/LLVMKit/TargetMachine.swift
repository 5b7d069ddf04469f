import CLLVM
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

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

    /// Serializes `unrecognizedNames`' redirection of standard error.
    private static let stderrCapture = NSLock()

    /// What LLVM says about `cpu` and `features` for `triple` — its own lists decide, e.g.
    /// `'x' is not a recognized processor for this target` — without generating any code (LLVM
    /// only warns about an unknown name here, and aborts later when code is generated for it).
    /// Throws when LLVM has no target for the triple. LLVM prints these warnings on standard
    /// error, so it is captured through a pipe for the moment the machine is created.
    public static func unrecognizedNames(triple: String, cpu: String, features: String) throws -> [String] {
        LLVM.initialize()
        var target: LLVMTargetRef?
        var message: UnsafeMutablePointer<CChar>?
        if LLVMGetTargetFromTriple(triple, &target, &message) != 0 {
            throw LLVMError("find target for triple \(triple)", LLVMError.takeMessage(message))
        }
        // Standard error is one per process: two checks at once would each save the other's pipe
        // as "the" standard error and one reader would wait forever. One check at a time.
        stderrCapture.lock()
        defer { stderrCapture.unlock() }
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw LLVMError("check target names", "cannot create a pipe") }
        // Drained while LLVM writes (another thread's output in that moment lands here too, and
        // must not fill the pipe).
        let reader = ends[0]
        let drained = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var captured: [UInt8] = []
        DispatchQueue.global().async {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let got = chunk.withUnsafeMutableBytes { read(reader, $0.baseAddress, 4096) }
                if got <= 0 { break }
                captured += chunk[0..<got]
            }
            drained.signal()
        }
        fflush(nil)
        let saved = dup(2)
        dup2(ends[1], 2)
        let machine = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelNone, LLVMRelocPIC, LLVMCodeModelDefault)
        fflush(nil)
        dup2(saved, 2)
        close(saved)
        close(ends[1])
        drained.wait()
        close(ends[0])
        if let machine { LLVMDisposeTargetMachine(machine) }
        return String(decoding: captured, as: UTF8.self).split(separator: "\n").map(String.init).filter { $0.contains("not a recognized") }
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
