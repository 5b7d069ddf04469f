import ArgumentParser
import Foundation
import QuantForge

/// `qforge bench`: single-thread GMAC/s of the generated matmul on the peers' shape set.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Time int8 matmul kernels (GMAC/s).")

    static let peerShapes = "1x384x384,1x384x1536,1x1536x384,1x768x768,1x768x3072,1x3072x768,"
        + "16x384x384,16x384x1536,16x1536x384,16x768x768,16x768x3072,16x3072x768,"
        + "128x384x384,128x384x1536,128x1536x384,128x768x768,128x768x3072,128x3072x768,"
        + "1x4096x4096,1x4096x11008,256x256x256,1024x1024x1024,2048x2048x2048"

    @Option(help: "u8s8s32 | u8s8u8_requant | s8s8s32 (same meaning as ../shared/peers).")
    var op: OperatorPreset = .u8s8s32
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

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads \(threads) must be ≥ 1") }
        _ = try parseShapes()
    }

    func parseShapes() throws -> [(m: Int, k: Int, n: Int)] {
        try shapes.split(separator: ",").map { text in
            let parts = text.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else { throw ValidationError("bad shape '\(text)', expected MxKxN") }
            return (parts[0], parts[1], parts[2])
        }
    }

    func run() throws {
        let database = try db.map { try TuningDatabase(path: $0) }
        let engine = try Engine(isa: isa.map { try ISA.parse($0) }, threads: threads, database: database)
        // The unit's peak measured now (all threads), so that "% of peak" is honest on a noisy machine.
        let peak = try PeakProbe.measure(engine.isa, seconds: 0.2).gmacs * Double(threads)
        if !json {
            let jitMilliseconds = try KernelCompiler.shared().creationMilliseconds
            print(String(format: "op %@, isa %@, %d thread(s), peak now %.1f GMAC/s (LLJIT created in %.2f ms)", op.rawValue,
                         engine.isa.rawValue, threads, peak, jitMilliseconds))
        }
        for shape in try parseShapes() {
            // M fixed at compile time, as the peers fix it when they create a primitive or session.
            let matmul = try op.matMul(m: shape.m, k: shape.k, n: shape.n)
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
                dispatched = try a.withUnsafeBytes { aBuffer in
                    try c.withUnsafeMutableBytes { cBuffer in
                        KernelTiming.measure(minSeconds: minTime) { try! dispatcher.run(a: aBuffer, c: cBuffer, m: shape.m) }
                    }
                }
            }
            let macs = Double(shape.m * shape.k * shape.n)
            let gmacs = macs / timing.minSeconds / 1e9
            if json {
                let fields: [String] = [
                    "\"op\": \"\(op.rawValue)\"", "\"m\": \(shape.m)", "\"k\": \(shape.k)", "\"n\": \(shape.n)",
                    "\"threads\": \(threads)", "\"us_min\": \(timing.minSeconds * 1e6)", "\"us_median\": \(timing.medianSeconds * 1e6)",
                    "\"gmacs\": \(gmacs)", "\"isa\": \"\(kernel.schedule.isa)\"", "\"schedule\": \"\(kernel.schedule)\"",
                    "\"packed_bytes\": \(weights.byteCount)", "\"compile_ms\": \(kernel.compileMilliseconds)",
                    "\"peak_gmacs\": \(peak)", "\"pct_peak\": \(100 * gmacs / peak)",
                    "\"schedule_source\": \"\(kernel.scheduleSource.rawValue)\"",
                ]
                print("{" + fields.joined(separator: ", ") + "}")
            } else {
                print(String(format: "%5d x %5d x %5d  %9.1f GMAC/s %5.1f%% of peak  %10.2f us  compile %6.2f ms  packed %9d B  %@",
                             shape.m, shape.k, shape.n, gmacs, 100 * gmacs / peak, timing.minSeconds * 1e6,
                             kernel.compileMilliseconds, weights.byteCount, kernel.schedule.description))
                if let dispatched {
                    print(String(format: "                       through MatMulDispatcher: %.3f us (direct %.3f us, overhead %.3f us)",
                                 dispatched.minSeconds * 1e6, timing.minSeconds * 1e6, (dispatched.minSeconds - timing.minSeconds) * 1e6))
                }
            }
        }
    }
}

extension OperatorPreset: ExpressibleByArgument {}
