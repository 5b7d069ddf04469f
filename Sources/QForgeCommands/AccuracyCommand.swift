import ArgumentParser
import Foundation
import QuantForge
import QuantWorkflow

/// `qforge accuracy`: per-layer and end-to-end error of MiniLM's int8 and 4-bit-weight modes against
/// f32 — every linear layer's output computed in the mode from the f32 model's own input to that
/// layer (its error alone), then the embeddings.
struct AccuracyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "accuracy",
                                                    abstract: "Per-layer and end-to-end error (SQNR, cosine, max/mean abs) of MiniLM's int8 and 4-bit modes vs f32.")

    static let modes = ["dynamic", "dynamic-per-token", "static", "nbits4", "nbits4-asym"]
    @Option(help: "dynamic | dynamic-per-token | static | nbits4 | nbits4-asym (4-bit weights, block 32, int8 compute).") var mode: String = "dynamic"
    @Option(help: "Static calibration method.") var method: CalibrationMethod = .percentile
    @Option(help: "Model folder; default: where tools/fetch_minilm.sh puts it.") var model: String = ModelLocation.miniLM.path

    func validate() throws {
        guard Self.modes.contains(mode) else {
            throw ValidationError("unknown --mode \(mode); use \(Self.modes.joined(separator: ", "))")
        }
    }

    func run() throws {
        let engine = try Engine(threads: 1)
        let loaded = try MiniLM(directory: URL(fileURLWithPath: model))
        let quantizedMode: MiniLMRunner.Mode
        switch mode {
        case "dynamic": quantizedMode = .dynamic(perRow: false)
        case "dynamic-per-token": quantizedMode = .dynamic(perRow: true)
        case "nbits4": quantizedMode = .nbits4(asymmetric: false)
        case "nbits4-asym": quantizedMode = .nbits4(asymmetric: true)
        case "static":
            let calibration = try MiniLMCalibration(model: loaded, methods: [method], engine: engine)
            quantizedMode = .static(parameters: calibration.parameters(method), method: method.rawValue)
        default: throw ValidationError("unknown --mode \(mode)")
        }
        let report = try MiniLMAccuracy.measure(model: loaded, mode: quantizedMode, engine: engine)
        print("all-MiniLM-L6-v2, \(quantizedMode) vs f32 on \(MiniLMSentences.evaluation.count) evaluation sentences\n")
        print("layer                                        SQNR dB   cosine     max abs   mean abs")
        for (name, metrics) in report.layers {
            print(name.padding(toLength: 44, withPad: " ", startingAt: 0)
                  + String(format: " %7.2f  %8.6f  %9.5f  %9.6f", metrics.sqnr, metrics.cosine, metrics.maxAbsoluteError, metrics.meanAbsoluteError))
        }
        let e = report.embeddings
        print(String(format: "\nembeddings (end to end)                      %7.2f  %8.6f  %9.5f  %9.6f", e.sqnr, e.cosine, e.maxAbsoluteError, e.meanAbsoluteError))
    }
}

extension CalibrationMethod: ExpressibleByArgument {}
