import ArgumentParser
import Foundation
import QuantForge

/// `qforge autotune`: tune one matmul or a preset shape set within a budget per shape, recording
/// the results in the tuning database.
struct AutotuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "autotune", abstract: "Search schedules (across ISAs) and record the fastest in the tuning database.")

    @Option(help: "Operator preset: \(OperatorPreset.allCases.map(\.rawValue).joined(separator: " | ")).") var op: OperatorPreset = .u8s8s32
    @Option(help: "Rows of A.") var m: Int?
    @Option(help: "Depth K.") var k: Int?
    @Option(help: "Columns N.") var n: Int?
    @Option(help: "A shape set instead of one shape: \(ShapePreset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var preset: ShapePreset?
    @Option(help: "Tune the GEMM-shaped layers of a network's QLinearConvs (resnet50 | mobilenetv2); convolutions compiled later use the result. Depthwise layers run on their own microkernel and are skipped.")
    var conv: ConvolutionPreset?
    @Option(help: "Budget per shape: seconds (`20s`) or trials (`200`).") var budget: String = "20s"
    @Option(help: "Tuning database (default: \(TuningDatabase.defaultPath)).") var db: String?
    @Option(help: "Threads per kernel call.") var threads: Int = 1
    @Option(help: "Restrict the search to these ISAs (comma-separated); default: every one this CPU runs.") var isa: String?

    func validate() throws {
        _ = try parseBudget()
        try OptionChecks.threads(threads)
        if let isa { _ = try OptionChecks.isas(isa) }
        for (name, value) in [("m", m), ("k", k), ("n", n)] {
            if let value { try OptionChecks.count(value, name, 1...TuningKey.dimensionLimit) }
        }
    }

    func parseBudget() throws -> Autotuner.Budget {
        if budget.hasSuffix("s"), let seconds = Double(budget.dropLast()), seconds.isFinite, seconds > 0, seconds <= 24 * 3600 {
            return .seconds(seconds)
        }
        if let trials = Int(budget), (1...1_000_000).contains(trials) { return .trials(trials) }
        throw ValidationError("--budget takes seconds (20s) or a trial count (200), got '\(budget)'")
    }

    func run() throws {
        // (label, op) per shape.
        var ops: [(String, MatMul)] = []
        if let conv {
            for (name, layer) in try conv.layers() where layer.groups == 1 { ops.append((name, try layer.groupMatMul(0))) }
        } else {
            let shapes: [(Int, Int, Int)]
            if let preset { shapes = preset.shapes } else {
                guard let m, let k, let n else { throw ValidationError("give --m --k --n, --preset or --conv") }
                shapes = [(m, k, n)]
            }
            for (m, k, n) in shapes { ops.append(("\(m)x\(k)x\(n)", try op.matMul(m: m, k: k, n: n))) }
        }
        let database = try TuningDatabase(path: db ?? TuningDatabase.defaultPath, access: .readWrite)
        for warning in database.warnings { print("warning: \(warning)") }
        let engine = try Engine(threads: threads)
        let isas = try isa.map { try OptionChecks.isas($0) } ?? engine.compilableISAs
        for chosen in isas { try HostCPU.current.require(chosen) }
        let tuner = Autotuner(database: database, isas: isas, threads: threads)
        let budget = try parseBudget()
        let fp32 = PeerFigures.bestFP32(threads: threads)
        print("tuning \(ops.count) shape(s) of \(conv.map { "\($0.rawValue) convolutions" } ?? op.rawValue), \(budget) each, ISAs \(isas.map(\.rawValue).joined(separator: ",")), \(threads) thread(s), database \(database.path)")
        var rows: [String] = []
        for (index, (label, matmul)) in ops.enumerated() {
            let (m, k, n) = (matmul.m!, matmul.k, matmul.n)
            let result = try tuner.tune(matmul, budget: budget) { progress in
                ProgressBar.draw(label: "[\(index + 1)/\(ops.count)] \(label)", progress: progress, budget: budget)
            }
            ProgressBar.finish()
            let peak = try PeakProbe.measure(result.best.isa, seconds: 0.05).gmacs * Double(OptionChecks.coresUsed(threads))
            let speedUp = result.defaultMicroseconds / result.bestMicroseconds
            let overFP32 = fp32[[m, k, n]].map { String(format: "%6.1f×", result.bestGMACs / $0) } ?? "     -"
            rows.append(String(format: "%5d x %5d x %5d  %8.1f GMAC/s %5.1f%% of peak  %5.2f× default  %@ fp32  trials %3d (+%d resumed, %d invalid)  %@",
                               m, k, n, result.bestGMACs, 100 * result.bestGMACs / peak, speedUp, overFP32, result.trials,
                               result.resumedMeasurements, result.invalid, result.best.description))
        }
        print("\nshape                      best           % of peak   vs default  vs fp32   search                          schedule")
        rows.forEach { print($0) }
    }
}

/// Shape sets for `qforge autotune --preset`.
enum ShapePreset: String, ExpressibleByArgument, CaseIterable {
    /// The transformer shapes of ../shared/peers (M = 1, 16, 128 tokens).
    case transformer
    /// ResNet-50's convolutions as GEMMs at batch 1 (M = output pixels, K = Cin·kh·kw, N = Cout).
    case resnet50

    var shapes: [(Int, Int, Int)] {
        switch self {
        case .transformer:
            let pairs = [(384, 384), (384, 1536), (1536, 384), (768, 768), (768, 3072), (3072, 768)]
            return [1, 16, 128].flatMap { m in pairs.map { (m, $0.0, $0.1) } }
        case .resnet50:
            return [(12544, 147, 64), (3136, 64, 64), (3136, 576, 64), (3136, 64, 256), (3136, 256, 64),
                    (784, 128, 128), (784, 1152, 128), (784, 128, 512), (784, 512, 128),
                    (196, 256, 256), (196, 2304, 256), (196, 256, 1024), (196, 1024, 256),
                    (49, 512, 512), (49, 4608, 512), (49, 512, 2048), (49, 2048, 512)]
        }
    }
}

/// The best fp32 figure (GMAC/s) per shape from the peers' results (`$QFORGE_PEER_RESULTS`, else
/// `../shared/peers/results.json` from the working directory, as in a checkout), when present.
enum PeerFigures {
    static func bestFP32(threads: Int) -> [[Int]: Double] {
        let environment = ProcessInfo.processInfo.environment["QFORGE_PEER_RESULTS"]
        let path = environment.flatMap { $0.isEmpty ? nil : $0 } ?? "../shared/peers/results.json"
        // Figures for display only, but still never read from a folder others could write.
        guard FileTrust.distrustDirectory(FileTrust.parent(of: path)) == nil,
              let data = try? FileTrust.readRegularFile(path, limit: 64 << 20, followLinks: true).data,
              let records = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return [:] }
        var best: [[Int]: Double] = [:]
        for record in records where (record["op"] as? String) == "f32" && (record["threads"] as? Int) == threads {
            guard let m = record["m"] as? Int, let k = record["k"] as? Int, let n = record["n"] as? Int,
                  let gmacs = record["gmacs"] as? Double else { continue }
            best[[m, k, n]] = max(gmacs, best[[m, k, n]] ?? 0)
        }
        return best
    }
}

/// A one-line progress bar redrawn in place.
enum ProgressBar {
    static func draw(label: String, progress: Autotuner.Progress, budget: Autotuner.Budget) {
        let fraction: Double
        let left: String
        switch budget {
        case let .seconds(total):
            fraction = min(1, progress.elapsedSeconds / total)
            left = String(format: "%4.1f s left", progress.remaining)
        case let .trials(total):
            fraction = min(1, Double(progress.trials) / Double(total))
            left = "\(Int(progress.remaining)) trials left"
        }
        let width = 24, filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = String(format: "\r%@ [%@] %3d trials (%d invalid)  best %7.1f GMAC/s  %@ ", label, bar, progress.trials,
                          progress.invalid, progress.bestGMACs, left)
        FileHandle.standardOutput.write(Data(line.utf8))
    }

    static func finish() { FileHandle.standardOutput.write(Data("\n".utf8)) }
}
