import Foundation
import LLVMKit
import QuantOps
import QuantSchedule

/// Measures the peak multiply-accumulate rate of one instruction on this core *now*: a JIT-compiled
/// loop of the instruction on independent register accumulators (no memory traffic, no dependent
/// chains), built by the same `DotEmitter` the microkernels use. "% of peak" is quoted against
/// this, since the machine's throughput drifts (ARCHITECTURE.md, "CPUs: throughput drifts").
public enum PeakProbe {
    public struct Result: Sendable {
        public let isa: ISA
        public let gmacs: Double
        public let accumulators: Int
    }

    private typealias ProbeFunction = @convention(c) (Int64, UnsafeMutableRawPointer) -> Void

    /// Runs the probe for `isa` for about `seconds` and returns the best rate seen.
    public static func measure(_ isa: ISA, seconds: Double = 0.2) throws(QuantError) -> Result {
        let instruction = try InstructionTable.instruction(for: isa)
        let compiler = try KernelCompiler.shared()
        try compiler.checkFeatures(instruction)
        let accumulators = instruction.usesTiles ? tilePeakAccumulators : min(12, instruction.vectorRegisters - 3)
        let name = "qf_peak_\(isa.rawValue)_\(UInt32.random(in: 0...UInt32.max))"
        let function: ProbeFunction
        let tracker: LLJIT.Tracker
        do {
            let context = Context(forJIT: ())
            let module = Module(name: name, context: context)
            module.triple = compiler.jit.triple
            if instruction.usesTiles {
                emitTiles(instruction, accumulators: accumulators, module: module, name: name, features: compiler.jit.features)
            } else {
                try emit(instruction, accumulators: accumulators, module: module, name: name, features: compiler.jit.features)
            }
            try module.verify()
            tracker = try compiler.jit.add(module)
            function = unsafeBitCast(try compiler.jit.lookup(name), to: ProbeFunction.self)
        } catch let error as LLVMError {
            throw .compilationFailed(stage: "peak probe: \(error.operation)", message: error.message)
        } catch {
            throw .compilationFailed(stage: "peak probe", message: "\(error)")
        }
        defer { try? compiler.jit.remove(tracker) }
        let gmacs = bestRate(function, macsPerIteration: Double(accumulators * instruction.lanes * instruction.kStep), seconds: seconds) {
            $0.initializeMemory(as: UInt8.self, repeating: 3, count: 4096)
        }
        return Result(isa: isa, gmacs: gmacs, accumulators: accumulators)
    }

    /// The best rate (GMAC/s) of `function` over about `seconds`: runs of doubling length on a
    /// 4 KiB operand sink filled by `fill`, until a run takes 2 ms.
    private static func bestRate(_ function: ProbeFunction, macsPerIteration: Double, seconds: Double,
                                 fill: (UnsafeMutableRawPointer) -> Void) -> Double {
        let sink = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 64)
        defer { sink.deallocate() }
        fill(sink)
        var iterations: Int64 = 1 << 12
        var best = 0.0
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            let start = DispatchTime.now().uptimeNanoseconds
            function(iterations, sink)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start)
            best = max(best, macsPerIteration * Double(iterations) / elapsed)
            if elapsed < 2e6 { iterations *= 2 }
        }
        return best
    }

    /// The f32 fused multiply-add peak of the widest vectors this CPU runs (16 lanes with AVX-512,
    /// 8 with AVX2, 4 otherwise): independent `llvm.fma` chains, as the int8 probe. The f32
    /// baselines (OpenBLAS, `qforge minilm`) are quoted against it.
    public static func measureFP32FMA(seconds: Double = 0.2) throws(QuantError) -> (gmacs: Double, lanes: Int) {
        let host = HostCPU.current
        let lanes = host.supports(.avx512vnni) ? 16 : (host.supports(.avx2) ? 8 : 4)
        let compiler = try KernelCompiler.shared()
        let accumulators = 12
        let name = "qf_peak_fma_\(UInt32.random(in: 0...UInt32.max))"
        let function: ProbeFunction
        let tracker: LLJIT.Tracker
        do {
            let context = Context(forJIT: ())
            let module = Module(name: name, context: context)
            module.triple = compiler.jit.triple
            let b = IRBuilder(context)
            let floats = context.vector(context.f32, lanes)
            let fn = module.addFunction(name, type: context.function(context.void, [context.i64, context.pointer(to: context.i8)]))
            b.position(at: b.appendBlock(fn, "entry"))
            let iterations = IRFunction.parameter(fn, 0), sink = IRFunction.parameter(fn, 1)
            let x = b.load(floats, from: sink, align: 4), y = b.load(floats, from: b.byteOffset(sink, context.constInt(context.i64, 64)), align: 4)
            let initial = (0..<accumulators).map { i in b.load(floats, from: b.byteOffset(sink, context.constInt(context.i64, Int64(128 + 64 * i))), align: 4) }
            let fma = try module.intrinsic("llvm.fma", overloads: [floats])
            let result = LoopBuilder(builder: b, function: fn).loop("i", from: context.constInt(context.i64, 0), step: 1, carried: initial,
                                                                   while: { b.icmp(.slt, $0, iterations) }) { _, values in
                values.map { b.call(fma.function, type: fma.type, [$0, x, y]) }
            }
            for (i, value) in result.carried.enumerated() {
                b.store(value, to: b.byteOffset(sink, context.constInt(context.i64, Int64(128 + 64 * i))), align: 4)
            }
            b.retVoid()
            try module.verify()
            tracker = try compiler.jit.add(module)
            function = unsafeBitCast(try compiler.jit.lookup(name), to: ProbeFunction.self)
        } catch let error as LLVMError {
            throw .compilationFailed(stage: "fp32 peak probe: \(error.operation)", message: error.message)
        } catch {
            throw .compilationFailed(stage: "fp32 peak probe", message: "\(error)")
        }
        defer { try? compiler.jit.remove(tracker) }
        let gmacs = bestRate(function, macsPerIteration: Double(accumulators * lanes), seconds: seconds) {
            $0.initializeMemory(as: Float.self, repeating: 0.999, count: 1024)
        }
        return (gmacs, lanes)
    }

    /// The tile form: `tdpbusd` into `accumulators` independent accumulator tiles from one A and one
    /// B tile loaded from `sink` (their rows at stride 0: the sink is 4 KiB), through the same
    /// `TileOperations` as the kernels (real, or emulated under `QFORGE_AMX_EMULATION`).
    static func emitTiles(_ instruction: DotInstruction, accumulators: Int, module: Module, name: String, features: String) {
        let context = module.context, b = IRBuilder(context)
        let function = module.addFunction(name, type: context.function(context.void, [context.i64, context.pointer(to: context.i8)]))
        b.position(at: b.appendBlock(function, "entry"))
        let loops = LoopBuilder(builder: b, function: function)
        let tiles = makeTileOperations(features: features, module: module, b: b, loops: loops, prefix: name)
        tiles.configure()
        let iterations = IRFunction.parameter(function, 0), sink = IRFunction.parameter(function, 1)
        let zeroStride = context.constInt(context.i64, 0)
        let (aTile, bTile) = (accumulators, accumulators + 1)
        for t in 0..<accumulators { tiles.zero(t) }
        tiles.load(aTile, from: sink, stride: zeroStride)
        tiles.load(bTile, from: b.byteOffset(sink, context.constInt(context.i64, 64)), stride: zeroStride)
        loops.loop("i", from: context.constInt(context.i64, 0), step: 1, while: { b.icmp(.slt, $0, iterations) }) { _, _ in
            for t in 0..<accumulators { tiles.dot(t, aTile, bTile, aSigned: false, bSigned: true) }
            return []
        }
        for t in 0..<accumulators { tiles.store(t, to: sink, stride: zeroStride) }
        b.retVoid()
    }

    /// The AMX probe as an object for `target` (`void symbol(int64_t iterations, void *sink)`, a
    /// 4 KiB sink), for programs without LLVM (the standalone AMX checker); its accumulator tiles
    /// (`tilePeakAccumulators`) each take 16·16·64 MACs per iteration.
    public static func tileProbeObject(target: CodegenTarget, symbol: String) throws(QuantError) -> [UInt8] {
        try target.require(InstructionTable.amxTile)
        do {
            let machine = try TargetMachine(triple: target.triple, cpu: target.cpu, features: target.features)
            let module = MatMulModule.make(name: symbol, context: Context(), machine: machine)
            emitTiles(InstructionTable.amxTile, accumulators: tilePeakAccumulators, module: module, name: symbol, features: machine.features)
            try MatMulModule.finish(module, name: symbol, machine: machine)
            return try machine.emit(module, as: .object)
        } catch {
            throw .compilationFailed(stage: "AMX peak probe", message: "\(error)")
        }
    }

    /// Accumulator tiles of the AMX probe (8 tile registers: one A and one B tile besides).
    public static let tilePeakAccumulators = InstructionTable.amxTile.vectorRegisters - 2

    /// `void name(i64 iterations, i8* sink)`: loads A and B operands from `sink`, runs the loop,
    /// stores the accumulators back (so nothing is optimized away).
    private static func emit(_ instruction: DotInstruction, accumulators: Int, module: Module, name: String,
                             features: String) throws {
        let context = module.context, b = IRBuilder(context)
        let bytePointer = context.pointer(to: context.i8)
        let function = module.addFunction(name, type: context.function(context.void, [context.i64, bytePointer]))
        instruction.confine(function, in: module, targetFeatures: features)
        let dot = try DotEmitters.make(instruction, module: module, bSigned: true)
        b.position(at: b.appendBlock(function, "entry"))
        let iterations = IRFunction.parameter(function, 0), sink = IRFunction.parameter(function, 1)
        let a = dot.loadA(b, at: sink, validBytes: instruction.kGroup, flipSign: false, signed: true)
        let bVector = dot.loadB(b, at: b.byteOffset(sink, context.constInt(context.i64, 64)))
        let initial = (0..<accumulators).map { i in
            b.load(dot.accumulatorType, from: b.byteOffset(sink, context.constInt(context.i64, Int64(128 + 64 * i))), align: 1)
        }
        let loops = LoopBuilder(builder: b, function: function)
        // Each accumulator is also its own A operand: every multiply depends on the previous
        // iteration, so LLVM cannot hoist a loop-invariant multiply out of forms whose accumulate is a
        // separate add (vpmaddwd + vpaddd, mul + add) and the probe times the real instruction mix.
        // The portable form is the exception: its operands are widened bytes, which LLVM multiplies
        // in 16 bits, so it keeps a broadcast A and reloads B each iteration (from one of two copies),
        // as its kernels do per K group.
        let operandType = context.type(of: a)
        let portable = instruction.kind == .portableWidening
        let result = loops.loop("i", from: context.constInt(context.i64, 0), step: 1, carried: initial,
                                while: { b.icmp(.slt, $0, iterations) }) { i, values in
            if portable {
                let copy = b.mul(b.and(i, context.constInt(context.i64, 1)), context.constInt(context.i64, 64))
                let reloaded = dot.loadB(b, at: b.byteOffset(sink, b.add(copy, context.constInt(context.i64, 64))))
                return values.map { dot.dot(b, $0, a, reloaded) }
            }
            return values.map { dot.dot(b, $0, b.bitcast($0, to: operandType), bVector) }
        }
        for (i, value) in result.carried.enumerated() {
            b.store(value, to: b.byteOffset(sink, context.constInt(context.i64, Int64(128 + 64 * i))), align: 1)
        }
        b.retVoid()
    }
}
