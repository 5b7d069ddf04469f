import QuantForge

/// Per-layer and end-to-end error of a quantized MiniLM mode against f32. Per layer: while the f32
/// model runs, each linear layer's input also goes through the quantized implementation of that
/// layer, so each layer's error is measured alone (not accumulated from the layers before it).
/// End to end: the two modes' embeddings.
public enum MiniLMAccuracy {
    public struct Report: Sendable {
        /// (layer name, metrics) in execution order.
        public var layers: [(String, ErrorMetrics)]
        public var embeddings: ErrorMetrics
    }

    public static func measure(model: MiniLM, mode: MiniLMRunner.Mode, engine: Engine,
                               sentences: [String] = MiniLMSentences.evaluation) throws(ModelError) -> Report {
        let f32 = try MiniLMRunner(model: model, mode: .f32, engine: engine)
        let quantized = try MiniLMRunner(model: model, mode: mode, engine: engine)
        var metrics = model.layers.map { $0.linears.map { _ in ErrorMetrics() } }
        f32.probe = { layer, index, input, output in
            let implementation = quantized.linears[layer][index]
            var test = [Float](repeating: 0, count: output.count)
            let rows = input.count / model.layers[layer].linears[index].inputs
            test.withUnsafeMutableBufferPointer { implementation.forward(input.baseAddress!, rows: rows, into: $0.baseAddress!) }
            test.withUnsafeBufferPointer { metrics[layer][index].add(reference: output, test: $0) }
        }
        var embeddings = ErrorMetrics()
        for start in stride(from: 0, to: sentences.count, by: 16) {
            let batch = Array(sentences[start..<min(sentences.count, start + 16)])
            let reference = f32.embed(batch), test = quantized.embed(batch)
            for (r, t) in zip(reference, test) { embeddings.add(reference: r, test: t) }
        }
        var layers: [(String, ErrorMetrics)] = []
        for (layer, row) in metrics.enumerated() {
            for (index, value) in row.enumerated() { layers.append((model.layers[layer].linears[index].name, value)) }
        }
        return Report(layers: layers, embeddings: embeddings)
    }
}
