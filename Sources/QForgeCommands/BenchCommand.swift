import ArgumentParser
import Foundation
import QuantForge
import QuantForgeTooling

/// `qforge bench`: single-thread GMAC/s of the generated matmul on the peers' shape set, of the
/// dynamic quantized linear (`--op f32_dynquant`), of weight-only 4/8-bit linears (`--op
/// f32_nbits4_b32_int8`, …: MatMulNBits, with the weights' GB/s against the read bandwidth measured
/// now), or of convolution layers (`--conv`).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Time int8 kernels (GMAC/s).")

    static let peerShapes = "1x384x384,1x384x1536,1x1536x384,1x768x768,1x768x3072,1x3072x768,"
        + "16x384x384,16x384x1536,16x1536x384,16x768x768,16x768x3072,16x3072x768,"
        + "128x384x384,128x384x1536,128x1536x384,128x768x768,128x768x3072,128x3072x768,"
        + "1x4096x4096,1x4096x11008,256x256x256,1024x1024x1024,2048x2048x2048"

    static let nbitsShapes = "1x4096x4096,1x4096x11008,1x11008x4096,1x768x3072,16x4096x4096,128x4096x4096"

    @Option(help: "u8s8s32 | u8s8u8_requant | s8s8s32 (same meaning as ../shared/peers) | u8s8u8_gelu (bias + GELU + requantize fused) | f32_dynquant (dynamic quantized linear, f32 in and out) | f32_nbits{4|8}_b{16..256}[_asym]_{int8|f32} (MatMulNBits: weight-only blockwise 4/8-bit, the peers' names; default shapes theirs).")
    var op: BenchOperator = .matmul(.u8s8s32)
    @Option(help: "Time the convolution layers of a network instead: resnet50 | mobilenetv2 (QLinearConv, NHWC, batch 1; each GEMM-shaped layer is compared with the matmul of the same MxKxN).")
    var conv: ConvolutionPreset?
    @Option(help: "Comma-separated MxKxN shapes (default: the peers' set).")
    var shapes: String = BenchCommand.peerShapes
    @Option(help: "Instruction set (default: the best this CPU has).")
    var isa: String?
    @Option(help: "A schedule instead of the default, e.g. 'avx512vnni mr6 nv4 ku4 mc252 nc8 panelsOuter'.")
    var schedule: String?
    @Option(help: "Use the tuned schedules of this tuning database (shapes it lacks use the default).")
    var db: String?
    @Option(help: "Threads per call (the caller included).")
    var threads: Int = 1
    @Option(help: "Minimum measuring time per shape, seconds.")
    var minTime: Double = 0.2
    @Flag(help: "Also time each shape through MatMulDispatcher (M dynamic; bucket lookup and checks per call).")
    var dispatch = false
    @Flag(help: "One JSON object per line (the peers' field names).")
    var json = false
    @Option(help: "Instead of timing: this many compile-and-evict cycles, with the process's RSS before and after (JIT memory must be freed).")
    var memory: Int?

    func validate() throws {
        try OptionChecks.threads(threads)
        try OptionChecks.seconds(minTime, "min-time", limit: 600)
        if let memory { try OptionChecks.count(memory, "memory", 1...1_000_000) }
        if let isa { _ = try OptionChecks.isas(isa) }
        try OptionChecks.schedule(schedule)
        if conv != nil && schedule != nil {
            throw ValidationError("--schedule applies to matmul shapes; --conv layers use their tuned or default schedules")
        }
        if conv != nil && shapes != Self.peerShapes { throw ValidationError("--shapes and --conv exclude each other") }
        if case .nbits = op, schedule != nil || dispatch || conv != nil {
            throw ValidationError("--schedule, --dispatch and --conv apply to matmul operators, not \(op)")
        }
        _ = try parseShapes()
    }

    func parseShapes() throws -> [(m: Int, k: Int, n: Int)] {
        if case .nbits = op, shapes == Self.peerShapes { return try OptionChecks.shapes(Self.nbitsShapes) }
        return try OptionChecks.shapes(shapes)
    }

    func run() throws {
        if let memory {
            let engine = try Engine(isa: isa.map { try ISA.parse($0) }, kernelCacheBytes: 64 << 10)
            let warm = try MemoryCycles.run(engine: engine, cycles: 200)
            let start = DispatchTime.now().uptimeNanoseconds
            let after = try MemoryCycles.run(engine: engine, cycles: memory, offset: 200)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let statistics = try KernelCompiler.shared().statistics
            print(String(format: "%d compile/evict cycles in %.1f s (%@): RSS %.1f MiB after 200 warm-up cycles, %.1f MiB after %d more (%+.1f MiB); JIT code live %d KiB, kernels freed %d",
                         memory, seconds, engine.isa.rawValue, Double(warm.residentBytes) / 1048576, Double(after.residentBytes) / 1048576, memory,
                         Double(after.residentBytes - warm.residentBytes) / 1048576, after.liveCodeBytes >> 10, statistics.freed))
            return
        }
        let database = try db.map { try TuningDatabase(path: $0, access: .readOnly) }
        let engine = try Engine(isa: isa.map { try ISA.parse($0) }, threads: threads, database: database)
        // The unit's peak measured now (all threads), so that "% of peak" is honest on a noisy machine.
        let peak = try PeakProbe.measure(engine.isa, seconds: 0.2).gmacs * Double(OptionChecks.coresUsed(threads))
        if !json {
            let jitMilliseconds = try KernelCompiler.shared().creationMilliseconds
            print(String(format: "op %@, isa %@, %d thread(s), peak now %.1f GMAC/s (LLJIT created in %.2f ms)", op.description,
                         engine.isa == .amx && engine.host.amxEmulation ? "amx (emulated with AVX-512)" : engine.isa.rawValue,
                         threads, peak, jitMilliseconds))
        }
        if let conv {
            try benchConvolutions(conv, engine: engine, peak: peak)
            return
        }
        let preset: OperatorPreset
        switch op {
        case let .nbits(nbits):
            try benchNBits(nbits, engine: engine, peak: peak)
            return
        case let .matmul(matmul):
            preset = matmul
        }
        for shape in try parseShapes() {
            // M fixed at compile time, as the peers fix it when they create a primitive or session.
            let matmul = try preset.matMul(m: shape.m, k: shape.k, n: shape.n)
            if matmul.aType == .f32 {
                try benchDynamicLinear(matmul, engine: engine, peak: peak)
                continue
            }
            let kernel = try engine.compile(matmul, schedule: schedule.map { try MatMulSchedule(parsing: $0) })
            var generator = SeededGenerator(seed: UInt64(shape.m * 31 + shape.k * 7 + shape.n))
            let b = generator.bytes(shape.k * shape.n), a = generator.bytes(shape.m * shape.k)
            let weights = try kernel.packWeights(b)
            var c = [UInt8](repeating: 0, count: try matmul.cSpec(m: shape.m).requiredBytes)
            let timing = try a.withUnsafeBytes { aBuffer in
                try c.withUnsafeMutableBytes { cBuffer in
                    let call = try kernel.compiled.prepareCall(a: aBuffer, weights: weights, c: cBuffer)
                    return KernelTiming.measure(minSeconds: minTime) { kernel.runPrepared(call) }
                }
            }
            var dispatched: KernelTiming.Result? = nil
            if dispatch {
                let dispatcher = try b.withUnsafeBytes { try MatMulDispatcher(engine: engine, op: matmul, b: $0) }
                dispatched = a.withUnsafeBytes { aBuffer in
                    c.withUnsafeMutableBytes { cBuffer in
                        KernelTiming.measure(minSeconds: minTime) { try! dispatcher.run(a: aBuffer, c: cBuffer, m: shape.m) }
                    }
                }
            }
            report(m: shape.m, k: shape.k, n: shape.n, seconds: timing.minSeconds, medianSeconds: timing.medianSeconds, peak: peak,
                   isa: kernel.schedule.isa, schedule: kernel.schedule.description, packedBytes: weights.byteCount,
                   compileMilliseconds: kernel.compileMilliseconds, source: kernel.scheduleSource.rawValue)
            if !json, let dispatched {
                print(String(format: "                       through MatMulDispatcher: %.3f us (direct %.3f us, overhead %.3f us)",
                             dispatched.minSeconds * 1e6, timing.minSeconds * 1e6, (dispatched.minSeconds - timing.minSeconds) * 1e6))
            }
        }
    }
}

extension BenchCommand {
    /// Prints one result line (or JSON object).
    func report(m: Int, k: Int, n: Int, seconds: Double, medianSeconds: Double, peak: Double, isa: ISA, schedule: String,
                packedBytes: Int, compileMilliseconds: Double, source: String, name: String? = nil,
                weightBandwidth: (gbs: Double, readGBs: Double)? = nil) {
        let gmacs = Double(m) * Double(k) * Double(n) / seconds / 1e9
        if json {
            var fields: [String] = [
                "\"op\": \"\(conv?.rawValue ?? op.description)\"", "\"m\": \(m)", "\"k\": \(k)", "\"n\": \(n)",
                "\"threads\": \(threads)", "\"us_min\": \(seconds * 1e6)", "\"us_median\": \(medianSeconds * 1e6)",
                "\"gmacs\": \(gmacs)", "\"isa\": \"\(isa)\"", "\"schedule\": \"\(schedule)\"",
                "\"packed_bytes\": \(packedBytes)", "\"compile_ms\": \(compileMilliseconds)",
                "\"peak_gmacs\": \(peak)", "\"pct_peak\": \(100 * gmacs / peak)", "\"schedule_source\": \"\(source)\"",
            ]
            if let name { fields.append("\"layer\": \"\(name)\"") }
            if let weightBandwidth {
                fields += ["\"weight_gbs\": \(weightBandwidth.gbs)", "\"read_gbs\": \(weightBandwidth.readGBs)",
                           "\"pct_read_bw\": \(100 * weightBandwidth.gbs / weightBandwidth.readGBs)"]
            }
            print("{" + fields.joined(separator: ", ") + "}")
        } else {
            print(String(format: "%5d x %5d x %5d  %9.1f GMAC/s %5.1f%% of peak  %10.2f us  compile %6.2f ms  packed %9d B  %@",
                         m, k, n, gmacs, 100 * gmacs / peak, seconds * 1e6, compileMilliseconds, packedBytes, schedule))
            if let weightBandwidth {
                print(String(format: "                       weights %.1f GB/s = %.0f%% of the %.1f GB/s one thread reads from a buffer of their size now",
                             weightBandwidth.gbs, 100 * weightBandwidth.gbs / weightBandwidth.readGBs, weightBandwidth.readGBs))
            }
        }
    }

    /// The dynamic quantized linear: f32 A, the parameter pass and the fused quantize-pack-matmul.
    func benchDynamicLinear(_ matmul: MatMul, engine: Engine, peak: Double) throws {
        let m = matmul.m!
        let kernel = try engine.compileDynamicLinear(matmul, schedule: schedule.map { try MatMulSchedule(parsing: $0) })
        var generator = SeededGenerator(seed: UInt64(m * 31 + matmul.k * 7 + matmul.n))
        let b = generator.bytes(matmul.k * matmul.n)
        let a = generator.bytes(m * matmul.k).map { Float(Int($0) - 128) / 50 }
        let weights = try kernel.packWeights(b)
        var c = [Float](repeating: 0, count: m * matmul.n)
        let timing = a.withUnsafeBufferPointer { aBuffer in
            c.withUnsafeMutableBytes { cBuffer in
                KernelTiming.measure(minSeconds: minTime) { try! kernel.run(a: aBuffer, weights: weights, c: cBuffer) }
            }
        }
        report(m: m, k: matmul.k, n: matmul.n, seconds: timing.minSeconds, medianSeconds: timing.medianSeconds, peak: peak,
               isa: kernel.matmul.schedule.isa, schedule: kernel.matmul.schedule.description, packedBytes: weights.byteCount,
               compileMilliseconds: kernel.matmul.compileMilliseconds, source: kernel.matmul.scheduleSource.rawValue)
    }

    /// MatMulNBits on each shape: random 4/8-bit weights and scales (and zero points), f32 A; at
    /// M = 1 and one thread also the weights' bytes (as the model stores them) per second against
    /// the read bandwidth of a buffer of that size measured right after.
    func benchNBits(_ preset: NBitsPreset, engine: Engine, peak: Double) throws {
        for shape in try parseShapes() {
            let op = try preset.linear(k: shape.k, n: shape.n)
            let started = DispatchTime.now().uptimeNanoseconds
            let kernel = try engine.compile(op)
            let compileMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
            var generator = SeededGenerator(seed: UInt64(shape.m * 31 + shape.k * 7 + shape.n))
            let b = generator.bytes(op.quantizedWeightBytes)
            let scales = generator.bytes(op.scaleCount).map { 0.001 + Float($0) * 1e-4 }
            let zeroPoints = op.zeroPoints == .perBlock ? generator.bytes(op.zeroPointBytes) : nil
            let a = generator.bytes(shape.m * shape.k).map { Float(Int($0) - 128) / 50 }
            let weights = try kernel.packWeights(b: b, scales: scales, zeroPoints: zeroPoints)
            var y = [Float](repeating: 0, count: shape.m * shape.n)
            let timing = a.withUnsafeBufferPointer { aBuffer in
                y.withUnsafeMutableBufferPointer { yBuffer in
                    KernelTiming.measure(minSeconds: minTime) {
                        try! kernel.run(a: aBuffer.baseAddress!, rows: shape.m, weights: weights, y: yBuffer.baseAddress!)
                    }
                }
            }
            var bandwidth: (Double, Double)? = nil
            if shape.m == 1 && threads == 1 {
                let read = ReadBandwidth.measure(bytes: op.modelBytes, seconds: minTime)
                bandwidth = (Double(op.modelBytes) / timing.minSeconds / 1e9, read)
            }
            let layout = kernel.layout
            report(m: shape.m, k: shape.k, n: shape.n, seconds: timing.minSeconds, medianSeconds: timing.medianSeconds, peak: peak,
                   isa: engine.isa, schedule: "nbits tile \(layout.tileRows)x\(layout.panelWidth)", packedBytes: weights.byteCount,
                   compileMilliseconds: compileMilliseconds, source: "default", weightBandwidth: bandwidth)
        }
    }

    /// Each layer of `preset`: the convolution, and (for GEMM-shaped layers) the matmul of the same
    /// M×K×N with the same quantization, timed alternately so both see the same machine.
    func benchConvolutions(_ preset: ConvolutionPreset, engine: Engine, peak: Double) throws {
        if !json {
            print("layer                  M x K x N              conv GMAC/s  matmul GMAC/s  conv/matmul  implementation")
        }
        for (name, layer) in try preset.layers() {
            let kernel = try engine.compile(layer)
            var generator = SeededGenerator(seed: UInt64(layer.macs % 100_003))
            let x = generator.bytes(layer.inputElements), w = generator.bytes(layer.weightElements)
            let weights = try kernel.packWeights(w)
            var y = [UInt8](repeating: 0, count: layer.outputElements)
            let m = layer.gemmRows, k = layer.gemmDepth, n = layer.outChannels
            func timeConv() -> KernelTiming.Result {
                x.withUnsafeBytes { xBuffer in
                    y.withUnsafeMutableBytes { yBuffer in
                        KernelTiming.measure(minSeconds: minTime / 2) { try! kernel.run(x: xBuffer, weights: weights, y: yBuffer) }
                    }
                }
            }
            var matmulTime: KernelTiming.Result? = nil
            var convTime = timeConv()
            if layer.groups == 1 {
                let gemm = try MatMul(m: m, k: k, n: n, aType: layer.xType, bType: layer.wType, aQuant: layer.xQuant,
                                      bQuant: layer.wQuant, output: layer.output)
                let matmul = try engine.compile(gemm)
                let packed = try matmul.packWeights(generator.bytes(k * n))
                let a = generator.bytes(m * k)
                var c = [UInt8](repeating: 0, count: m * n)
                for _ in 0..<2 {  // alternate: conv, matmul, conv, matmul; keep each one's best
                    let t = try a.withUnsafeBytes { aBuffer in
                        try c.withUnsafeMutableBytes { cBuffer in
                            let call = try matmul.compiled.prepareCall(a: aBuffer, weights: packed, c: cBuffer)
                            return KernelTiming.measure(minSeconds: minTime / 2) { matmul.runPrepared(call) }
                        }
                    }
                    if matmulTime == nil || t.minSeconds < matmulTime!.minSeconds { matmulTime = t }
                    let again = timeConv()
                    if again.minSeconds < convTime.minSeconds { convTime = again }
                }
            }
            let convGMACs = Double(layer.macs) / convTime.minSeconds / 1e9
            if json {
                report(m: m, k: k, n: n, seconds: convTime.minSeconds, medianSeconds: convTime.medianSeconds, peak: peak,
                       isa: engine.isa, schedule: kernel.implementation, packedBytes: 0, compileMilliseconds: 0, source: "default", name: name)
            } else {
                let matmulGMACs = matmulTime.map { Double(m * k * n) / $0.minSeconds / 1e9 }
                func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
                print(name.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: " %6d x %5d x %5d  %10.1f", m, k, n, convGMACs)
                      + pad(matmulGMACs.map { String(format: "%.1f", $0) } ?? "-", 15)
                      + pad(matmulGMACs.map { String(format: "%.1f%%", 100 * convGMACs / $0) } ?? "-", 13) + "  " + kernel.implementation)
            }
        }
    }
}

extension OperatorPreset: ExpressibleByArgument {}

/// What `qforge bench --op` names: a matmul preset or a MatMulNBits preset.
enum BenchOperator: ExpressibleByArgument, CustomStringConvertible {
    case matmul(OperatorPreset)
    case nbits(NBitsPreset)

    init?(argument: String) {
        if let preset = OperatorPreset(rawValue: argument) {
            self = .matmul(preset)
        } else if let preset = NBitsPreset(name: argument) {
            self = .nbits(preset)
        } else {
            return nil
        }
    }

    var description: String {
        switch self {
        case let .matmul(preset): preset.rawValue
        case let .nbits(preset): preset.description
        }
    }
}
extension ConvolutionPreset: ExpressibleByArgument {}
