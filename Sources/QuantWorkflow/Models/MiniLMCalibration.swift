import QuantForge

/// Post-training calibration of MiniLM: the f32 model runs on calibration sentences while one
/// observer per method watches each linear layer's input; each method then gives every layer its
/// u8 parameters (asymmetric per tensor, the scheme the int8 linear layers take).
public struct MiniLMCalibration: Sendable {
    /// [layer][linear] observers, one set per method.
    public private(set) var observers: [CalibrationMethod: [[Observer]]]
    public let scheme: QuantizationScheme

    public init(model: MiniLM, sentences: [String] = MiniLMSentences.calibration, methods: [CalibrationMethod] = CalibrationMethod.allCases,
                scheme: QuantizationScheme = QuantizationScheme(type: .u8), engine: Engine, batchSize: Int = 8) throws(ModelError) {
        self.scheme = scheme
        let runner = try MiniLMRunner(model: model, mode: .f32, engine: engine)
        var observers: [CalibrationMethod: [[Observer]]] = [:]
        for method in methods {
            observers[method] = model.layers.map { layer in layer.linears.map { _ in Observer(method) } }
        }
        runner.probe = { layer, index, input, _ in
            for method in methods { observers[method]![layer][index].observe(input) }
        }
        for start in stride(from: 0, to: sentences.count, by: batchSize) {
            _ = runner.embed(Array(sentences[start..<min(sentences.count, start + batchSize)]))
        }
        self.observers = observers
    }

    /// Every linear layer's input parameters by `method`.
    public func parameters(_ method: CalibrationMethod) -> [[QuantParams]] {
        (observers[method] ?? []).map { layer in layer.map { $0.parameters(scheme) } }
    }
}
