import ArgumentParser
import Foundation
import QuantForge
import QuantWorkflow

/// `qforge minilm`: all-MiniLM-L6-v2 in f32, with dynamic quantization, with static PTQ (every
/// calibration method) and with 4-bit weights (block 32, int8 compute; symmetric and with zero
/// points) — accuracy against f32, latency at batch 1 and 32, size.
struct MiniLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "minilm",
                                                    abstract: "Embed sentences with all-MiniLM-L6-v2 in f32 and int8; report accuracy, latency and size.")

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case f32, dynamic, dynamicPerToken = "dynamic-per-token", `static`, nbits4, nbits4Asym = "nbits4-asym", all
    }

    @Option(help: "f32 | dynamic | dynamic-per-token | static | nbits4 (4-bit weights, block 32, int8 compute) | nbits4-asym (the same with zero points) | all.")
    var mode: Mode = .all
    @Option(help: "Model folder (model.safetensors, vocab.txt); default: where tools/fetch_minilm.sh puts it.")
    var model: String = ModelLocation.miniLM.path
    @Option(help: "Static calibration method: \(CalibrationMethod.allCases.map(\.rawValue).joined(separator: " | ")) | all.")
    var method: String = "all"
    @Option(help: "Timing repetitions (best kept).") var repeats: Int = 3
    @Option(help: "Write the latency/accuracy trade-off as an SVG plot to this file (an existing file only if it is an earlier plot).") var plot: String?
    @Flag(help: "Replace --plot even if it is not an earlier plot.") var force = false
    @Flag(help: "One JSON object per mode.") var json = false
    @Flag(help: "Keep OPENBLAS_CORETYPE as the environment sets it (default: the type for this CPU's widest vectors).")
    var keepBlasCore = false

    var plotFile: OutputFile? { plot.map { OutputFile($0, force: force) { TradeOffPlot.isPlot($0) } } }

    func validate() throws {
        try OptionChecks.count(repeats, "repeats", 1...1000)
        if method != "all" { _ = try parseMethod() }
        // Before the evaluation (minutes), not after it.
        try plotFile?.check()
    }

    func run() throws {
        Self.reexecuteIfNeeded(keep: keepBlasCore)
        let directory = URL(fileURLWithPath: model)
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) else {
            throw ValidationError("no model.safetensors in \(directory.path): run tools/fetch_minilm.sh")
        }
        let engine = try Engine(threads: 1)
        let loaded = try MiniLM(directory: directory)
        let evaluation = try MiniLMEvaluation(model: loaded, engine: engine)
        if !json {
            let peak = try PeakProbe.measureFP32FMA(seconds: 0.2)
            print("all-MiniLM-L6-v2 from \(directory.path); int8 kernels on \(engine.isa.rawValue); f32 matmuls: \(F32GEMM.shared.backend)")
            print(String(format: "f32 FMA peak now %.1f GMAC/s (%d lanes); f32 GEMM on the model's shapes (M = 480):", peak.gmacs, peak.lanes))
            for (n, k) in [(1152, 384), (384, 384), (1536, 384), (384, 1536)] {
                let gmacs = Self.sgemmGMACs(m: 480, n: n, k: k)
                print(String(format: "  480 x %4d x %4d  %6.1f GMAC/s  %5.1f%% of the f32 peak", k, n, gmacs, 100 * gmacs / peak.gmacs))
            }
            print("evaluation: \(evaluation.evaluation.count) sentences (calibration uses \(MiniLMSentences.calibration.count) others), \(MiniLMSentences.similarity.count) similarity queries\n")
        }
        var reports: [MiniLMModeReport] = []
        func add(_ report: MiniLMModeReport) {
            reports.append(report)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try! encoder.encode(report), as: UTF8.self))
            } else {
                if reports.count == 1 {
                    print("mode                 method               cos mean  cos min  ranking  tau    ms/sent b1  ms/sent b32  vs f32 b32  MB")
                }
                let f32 = reports.first { $0.mode == "f32" }?.msBatch32
                print(report.mode.padding(toLength: 20, withPad: " ", startingAt: 0) + " "
                      + (report.method ?? "-").padding(toLength: 20, withPad: " ", startingAt: 0)
                      + String(format: " %8.5f  %7.5f  %6.0f%%  %5.3f  %10.3f  %11.3f  %9@  %5.1f", report.cosineMean, report.cosineMin,
                               100 * report.rankingAgreement, report.kendallTau, report.msBatch1, report.msBatch32,
                               f32.map { String(format: "%.2f×", report.msBatch32 / $0) } ?? "-", Double(report.bytes) / 1e6))
            }
        }
        if mode == .f32 || mode == .all {
            add(evaluation.report(try MiniLMRunner(model: loaded, mode: .f32, engine: engine), repeats: repeats))
        }
        if mode == .dynamic || mode == .all {
            add(evaluation.report(try MiniLMRunner(model: loaded, mode: .dynamic(perRow: false), engine: engine), repeats: repeats))
        }
        if mode == .dynamicPerToken || mode == .all {
            add(evaluation.report(try MiniLMRunner(model: loaded, mode: .dynamic(perRow: true), engine: engine), repeats: repeats))
        }
        if mode == .nbits4 || mode == .all {
            add(evaluation.report(try MiniLMRunner(model: loaded, mode: .nbits4(asymmetric: false), engine: engine), repeats: repeats))
        }
        if mode == .nbits4Asym || mode == .all {
            add(evaluation.report(try MiniLMRunner(model: loaded, mode: .nbits4(asymmetric: true), engine: engine), repeats: repeats))
        }
        if mode == .static || mode == .all {
            let methods = method == "all" ? CalibrationMethod.allCases : [try parseMethod()]
            let calibration = try MiniLMCalibration(model: loaded, methods: methods, engine: engine)
            for method in methods {
                let runner = try MiniLMRunner(model: loaded, mode: .static(parameters: calibration.parameters(method), method: method.rawValue),
                                              engine: engine)
                add(evaluation.report(runner, method: method.rawValue, repeats: repeats))
            }
            if !json, methods.count > 1, let best = reports.filter({ $0.mode == "static" }).max(by: { $0.cosineMean < $1.cosineMean }) {
                print("best static calibration: \(best.method ?? "-") (mean cosine \(String(format: "%.5f", best.cosineMean)))")
            }
        }
        if let plot {
            let points = reports.map { TradeOffPlot.Point(label: $0.method.map { "static \($0)" } ?? $0.mode, milliseconds: $0.msBatch32, cosine: $0.cosineMean) }
            try plotFile!.write(Data(TradeOffPlot.svg(points, title: "all-MiniLM-L6-v2 on \(engine.isa.rawValue): latency vs accuracy").utf8))
            if !json { print("plot written to \(plot)") }
        }
    }

    /// The f32 baseline runs OpenBLAS with the kernel type for this CPU's widest FMA vectors.
    /// OpenBLAS reads OPENBLAS_CORETYPE only from the environment the process started with, and
    /// machines may set it (this one exports OPENBLAS_CORETYPE=Haswell, AVX2: half the AVX-512
    /// peak): unless `keep` is set, run again once with the preferred type, and say so.
    static func reexecuteIfNeeded(keep: Bool = false) {
        guard !keep, let coreType = F32GEMM.preferredCoreType,
              ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != coreType,
              ProcessInfo.processInfo.environment["QFORGE_REEXECUTED"] == nil else { return }
        if let current = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            FileHandle.standardError.write(Data("note: OPENBLAS_CORETYPE=\(current) in the environment; running OpenBLAS as \(coreType) for this CPU (--keep-blas-core keeps it)\n".utf8))
        }
        setenv("OPENBLAS_CORETYPE", coreType, 1)
        setenv("QFORGE_REEXECUTED", "1", 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        // execv returned: keep going with OpenBLAS's own choice (F32GEMM.backend names it).
    }

    func parseMethod() throws -> CalibrationMethod {
        guard let parsed = CalibrationMethod(rawValue: method) else {
            throw ValidationError("unknown --method \(method); use \(CalibrationMethod.allCases.map(\.rawValue).joined(separator: ", ")) or all")
        }
        return parsed
    }

    /// OpenBLAS's GMAC/s on one shape (best of 20).
    static func sgemmGMACs(m: Int, n: Int, k: Int) -> Double {
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    for _ in 0..<20 {
                        let start = DispatchTime.now().uptimeNanoseconds
                        F32GEMM.shared.multiply(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: k, transposeB: true,
                                                c: c.baseAddress!, ldc: n)
                        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                    }
                }
            }
        }
        return Double(m * n * k) / best / 1e9
    }
}
