import Crypto
import Foundation
import LLVMKit
import QuantFiles
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
        target = CodegenTarget(triple: machine.triple, cpu: machine.cpu, features: machine.features,
                               emulatesAMX: HostCPU.current.amxEmulation)
        // The JIT consumes the target machine (passes and dumps create their own).
        jit = try LLJIT(machine: machine)
        creationMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
    }

    /// Throws `unsupportedISA` when the JIT's target cannot run `instruction`: emitting it anyway
    /// would abort the process inside LLVM's instruction selection.
    public func checkFeatures(_ instruction: DotInstruction) throws(QuantError) {
        try target.require(instruction)
    }

    // MARK: Compilation through objects

    /// Compiled kernel objects on disk (nil: none). Set once, before compiling.
    public var objectCache: KernelObjectCache? {
        get { lock.lock(); defer { lock.unlock() }; return cache }
        set { lock.lock(); cache = newValue; lock.unlock() }
    }
    private var cache: KernelObjectCache? = KernelObjectCache.fromEnvironment
    private let lock = NSLock()
    /// Live machine code by symbol: identical kernels share one copy.
    private var live: [String: WeakCode] = [:]
    private struct WeakCode { weak var code: JITCode? }

    /// What the compiler has done so far in this process.
    public struct Statistics: Sendable, Equatable {
        /// Kernels that went through LLVM's code generator.
        public var codegens = 0
        /// Kernels loaded from the on-disk object cache.
        public var diskHits = 0
        /// Kernels that reused machine code already in the JIT.
        public var shared = 0
        /// Kernels whose machine code was freed.
        public var freed = 0
        /// Bytes of object code currently in the JIT.
        public var liveBytes = 0
    }
    private var stats = Statistics()
    public var statistics: Statistics { lock.lock(); defer { lock.unlock() }; return stats }

    /// Compiles `op` with `schedule` into a callable kernel: builds and verifies the loop IR and the
    /// LLVM IR, then takes the machine code from a live identical kernel, the disk cache, or LLVM's
    /// code generator (in that order), and links the object into the JIT.
    /// With `convolution`, the kernel is the GEMM of an implicit-GEMM convolution group.
    public func compileMatMul(_ op: MatMul, schedule: MatMulSchedule,
                              convolution: ConvolutionGeometry? = nil) throws(QuantError) -> CompiledMatMulKernel {
        let started = DispatchTime.now()
        let plan = try MatMulPlan(op: op, schedule: schedule, convolution: convolution)
        try checkFeatures(plan.instruction)
        IRDump.write("schedule", "\(schedule)", "layout: \(plan.layout)\nop: \(op)\(convolution.map { "\n\($0)" } ?? "")")
        let code = try compileFunction { module, machine in
            try OperatorKernel.emitMatMul(plan, into: module, name: "qf_kernel", targetFeatures: machine.features)
        }
        return CompiledMatMulKernel(plan: plan, code: code,
                                    compileMilliseconds: milliseconds(since: started))
    }

    /// Compiles the one function `emit` adds to an empty module for the JIT's target: the symbol
    /// is named from a hash of the IR and the target, and the machine code comes from a live
    /// identical kernel, the disk cache, or LLVM's code generator (in that order).
    public func compileFunction(_ emit: (Module, TargetMachine) throws -> IRValue) throws(QuantError) -> JITCode {
        var phases: [(String, UInt64)] = [("start", DispatchTime.now().uptimeNanoseconds)]
        func phase(_ name: String) { phases.append((name, DispatchTime.now().uptimeNanoseconds)) }
        do {
            let machine = try TargetMachine(triple: jit.triple, cpu: jit.cpu, features: jit.features, largeCodeModel: true)
            let module = MatMulModule.make(name: "qf_kernel", context: Context(), machine: machine)
            let function = try emit(module, machine)
            phase("emit")
            // The key names everything the machine code depends on: the IR (as emitted, in
            // bitcode), the target, LLVM, the IR passes and the generator. Equal kernels get equal
            // keys and symbols in every process, so the disk cache can find them.
            var digest = SHA256()
            module.withBitcode { digest.update(bufferPointer: UnsafeRawBufferPointer($0)) }
            let key = """
                ir-sha256 \(Digest.hex(digest.finalize()))
                target \(machine.triple) \(machine.cpu) \(machine.features) large-code-model
                llvm \(LLVM.versionString)
                passes \(MatMulModule.irPipeline)
                generator \(generatorVersion)
                """
            let symbol = "qf_k_" + Digest.sha256(Data(key.utf8)).prefix(16)
            phase("hash")
            IRFunction.setName(function, symbol)
            if let code = sharedCode(symbol) { return code }
            var linked: JITCode? = nil
            if let cached = objectCache?.load(key) {
                phase("disk cache")
                linked = linkCached(cached, key: key, symbol: symbol)
                if linked != nil { count { $0.diskHits += 1 } }
            }
            let code: JITCode
            if let linked {
                code = linked
            } else {
                try MatMulModule.finish(module, name: symbol, machine: machine, phase: phase)
                let object = try machine.emit(module, as: .object)
                phase("codegen")
                count { $0.codegens += 1 }
                objectCache?.store(key, object)
                code = try link(object, symbol: symbol)
            }
            phase("link")
            IRDump.write("timing", symbol, zip(phases.dropFirst(), phases).map { next, previous in
                String(format: "%@ %.2f ms", next.0, Double(next.1 - previous.1) / 1e6)
            }.joined(separator: ", "))
            return code
        } catch let error as QuantError {
            throw error
        } catch let error as LLVMError {
            throw .compilationFailed(stage: error.operation, message: error.message)
        } catch {
            throw .compilationFailed(stage: "codegen", message: "\(error)")
        }
    }

    private func milliseconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
    }

    private func count(_ change: (inout Statistics) -> Void) {
        lock.lock()
        change(&stats)
        lock.unlock()
    }

    private func sharedCode(_ symbol: String) -> JITCode? {
        lock.lock()
        defer { lock.unlock() }
        guard let code = live[symbol]?.code else { return nil }
        stats.shared += 1
        return code
    }

    /// Links `object` unless an identical kernel got there first (checked again under the lock).
    private func link(_ object: [UInt8], symbol: String) throws -> JITCode {
        lock.lock()
        defer { lock.unlock() }
        if let code = live[symbol]?.code {
            stats.shared += 1
            return code
        }
        let tracker = try jit.add(object: object, name: symbol)
        let entry: UnsafeRawPointer
        do { entry = try jit.lookup(symbol) } catch {
            try? jit.remove(tracker)  // so that a good object can define the symbol afterwards
            throw error
        }
        let code = JITCode(symbol: symbol, entry: entry, tracker: tracker, bytes: object.count, compiler: self)
        live[symbol] = WeakCode(code: code)
        stats.liveBytes += object.count
        return code
    }

    /// Links an object from the disk cache; one that LLVM refuses (a valid entry of a broken object)
    /// is discarded from the cache and nil returned, so that the caller compiles the kernel again.
    private func linkCached(_ object: [UInt8], key: String, symbol: String) -> JITCode? {
        if let problem = KernelObjectCache.objectProblem(object, triple: jit.triple) {
            objectCache?.discard(key, because: problem)
            return nil
        }
        do { return try link(object, symbol: symbol) } catch {
            objectCache?.discard(key, because: "LLVM could not link it: \(error)")
            return nil
        }
    }

    /// Frees a kernel's machine code (called when the last kernel using it goes).
    fileprivate func release(_ code: JITCode) {
        lock.lock()
        if live[code.symbol]?.code == nil { live[code.symbol] = nil }
        stats.freed += 1
        stats.liveBytes -= code.bytes
        lock.unlock()
        try? jit.remove(code.tracker)
    }
}

/// The machine code of one kernel in the JIT, shared by every kernel compiled from the same IR
/// for the same target. Freed (ORC resource tracker removed) when the last user goes.
public final class JITCode: @unchecked Sendable {
    public let symbol: String
    public let entry: UnsafeRawPointer
    /// Size of the object the code was linked from.
    public let bytes: Int
    fileprivate let tracker: LLJIT.Tracker
    private let compiler: KernelCompiler

    fileprivate init(symbol: String, entry: UnsafeRawPointer, tracker: LLJIT.Tracker, bytes: Int, compiler: KernelCompiler) {
        self.symbol = symbol
        self.entry = entry
        self.tracker = tracker
        self.bytes = bytes
        self.compiler = compiler
    }

    deinit { compiler.release(self) }
}
