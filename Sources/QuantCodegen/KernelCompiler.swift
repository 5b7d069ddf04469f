import CLLVM
import Foundation
import LLVMKit
import QuantOps
import QuantSchedule

/// Compiles kernels for the host CPU with one process-wide ORC LLJIT. IR is built in a fresh
/// context per kernel (so several threads can build at once); adding to and looking up in the JIT
/// is serialized by `LLJIT`.
public final class KernelCompiler: @unchecked Sendable {
    public let jit: LLJIT
    /// What the JIT generates code for (the host), checked before an instruction is emitted.
    public let target: CodegenTarget
    /// How long creating the target machine and the LLJIT took (paid once per process).
    public let creationMilliseconds: Double
    private let counter = NSLock()
    private var nextID = 0

    /// The shared compiler for this process, created on first use.
    public static func shared() throws(QuantError) -> KernelCompiler {
        switch sharedResult {
        case let .success(compiler): return compiler
        case let .failure(error): throw error
        }
    }

    private static let sharedResult: Result<KernelCompiler, QuantError> = {
        do {
            return .success(try KernelCompiler())
        } catch let error as LLVMError {
            return .failure(.compilationFailed(stage: "create JIT", message: error.description))
        } catch {
            return .failure(.compilationFailed(stage: "create JIT", message: "\(error)"))
        }
    }()

    public init() throws {
        let started = DispatchTime.now().uptimeNanoseconds
        let machine = try TargetMachine.host(optimization: .default)
        target = CodegenTarget(triple: machine.triple, cpu: machine.cpu, features: machine.features)
        // The JIT consumes the target machine (passes and dumps create their own).
        jit = try LLJIT(machine: machine)
        creationMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
    }

    /// Throws `unsupportedISA` when the JIT's target cannot run `instruction`: emitting it anyway
    /// would abort the process inside LLVM's instruction selection.
    public func checkFeatures(_ instruction: DotInstruction) throws(QuantError) {
        try target.require(instruction)
    }

    private func uniqueName(_ prefix: String) -> String {
        counter.lock()
        defer { counter.unlock() }
        nextID += 1
        return "\(prefix)_\(nextID)"
    }

    /// Compiles `op` with `schedule` into a callable kernel.
    public func compileMatMul(_ op: MatMul, schedule: MatMulSchedule) throws(QuantError) -> CompiledMatMulKernel {
        let started = DispatchTime.now()
        let emitter = try MatMulKernelEmitter(op: op, schedule: schedule)
        try checkFeatures(emitter.instruction)
        let name = uniqueName("qf_matmul")
        IRDump.write("schedule", name, "\(schedule)\nlayout: \(emitter.layout)\nop: \(op)")
        var phases: [(String, UInt64)] = [("start", DispatchTime.now().uptimeNanoseconds)]
        func phase(_ name: String) { phases.append((name, DispatchTime.now().uptimeNanoseconds)) }
        do {
            let context = Context(forJIT: ())
            let machine = try TargetMachine(triple: jit.triple, cpu: jit.cpu, features: jit.features)
            let module = try MatMulModule.build(emitter, name: name, context: context, machine: machine, phase: phase)
            let tracker = try jit.add(module)
            let entry = try jit.lookup(name)
            phase("codegen+link")
            IRDump.write("timing", name, zip(phases.dropFirst(), phases).map { next, previous in
                String(format: "%@ %.2f ms", next.0, Double(next.1 - previous.1) / 1e6)
            }.joined(separator: ", "))
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
            return CompiledMatMulKernel(op: op, schedule: schedule, emitter: emitter, entry: entry,
                                        tracker: tracker, compiler: self, compileMilliseconds: elapsed)
        } catch let error as QuantError {
            throw error
        } catch let error as LLVMError {
            throw .compilationFailed(stage: error.operation, message: error.message)
        } catch {
            throw .compilationFailed(stage: "codegen", message: "\(error)")
        }
    }
}
