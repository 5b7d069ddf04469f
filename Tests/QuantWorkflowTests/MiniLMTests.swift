import Foundation
import QuantForge
import QuantWorkflow
import Testing

/// all-MiniLM-L6-v2 end to end: the f32 embeddings match the independent NumPy reference, and the
/// int8 modes stay close to them.
@Suite(.serialized) struct MiniLMTests {
    static func model() throws -> MiniLM {
        let directory = ModelLocation.miniLM
        try #require(FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path),
                     "run tools/fetch_minilm.sh first (\(directory.path))")
        return try MiniLM(directory: directory)
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for i in 0..<a.count {
            dot += a[i] * b[i]
            na += a[i] * a[i]
            nb += b[i] * b[i]
        }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    @Test func f32MatchesTheNumPyReference() throws {
        let model = try Self.model()
        let reference = try MiniLMReference.load()
        let runner = try MiniLMRunner(model: model, mode: .f32, engine: try Engine())
        // One sentence at a time, and all together (padding and masking must not change a thing).
        let batched = runner.embed(reference.embeddings.map(\.text))
        for (index, item) in reference.embeddings.enumerated() {
            let single = runner.embed([item.text])[0]
            #expect(Self.cosine(single, item.embedding) > 0.9999, "\(item.text): \(Self.cosine(single, item.embedding))")
            #expect(Self.cosine(batched[index], item.embedding) > 0.9999, "batched \(item.text)")
        }
    }

    @Test(arguments: [false, true])
    func dynamicInt8StaysClose(_ perRow: Bool) throws {
        let model = try Self.model()
        let reference = try MiniLMReference.load()
        let runner = try MiniLMRunner(model: model, mode: .dynamic(perRow: perRow), engine: try Engine())
        let embeddings = runner.embed(reference.embeddings.map(\.text))
        // Per tensor, the whole batch (padding included) shares one scale: looser than per token.
        let bound: Float = perRow ? 0.995 : 0.97
        for (index, item) in reference.embeddings.enumerated() {
            #expect(Self.cosine(embeddings[index], item.embedding) > bound, "\(item.text)")
        }
    }

    /// 4-bit weights per block of 32 (MatMulNBits): every linear layer runs the NBitsLinear kernel;
    /// the embeddings stay close (4 bits cost more than int8: measured mean cosine 0.971 symmetric,
    /// 0.975 with zero points on the evaluation set), the model's linear weights shrink ~6x.
    @Test(arguments: [false, true])
    func fourBitWeightsStayClose(_ asymmetric: Bool) throws {
        let model = try Self.model()
        let reference = try MiniLMReference.load()
        let runner = try MiniLMRunner(model: model, mode: .nbits4(asymmetric: asymmetric), engine: try Engine())
        #expect(runner.linears.joined().allSatisfy { $0 is NBitsLinearImplementation })
        let embeddings = runner.embed(reference.embeddings.map(\.text))
        for (index, item) in reference.embeddings.enumerated() {
            #expect(Self.cosine(embeddings[index], item.embedding) > 0.93, "\(item.text)")
        }
        let f32 = try MiniLMRunner(model: model, mode: .f32, engine: try Engine())
        let linearBytes = { (runner: MiniLMRunner) in runner.linears.joined().reduce(0) { $0 + $1.weightBytes } }
        #expect(linearBytes(runner) * 5 < linearBytes(f32), "\(linearBytes(runner)) vs \(linearBytes(f32))")
        // The per-layer report covers the mode.
        let report = try MiniLMAccuracy.measure(model: model, mode: .nbits4(asymmetric: asymmetric), engine: try Engine(),
                                                sentences: Array(MiniLMSentences.evaluation.prefix(4)))
        #expect(report.layers.count == 24 && report.layers.allSatisfy { $0.1.sqnr > 10 })
    }

    @Test func blockwiseQuantizationRoundTrips() throws {
        // One column, two blocks: the symmetric extreme maps to -8; asymmetric zero points cover 0.
        let weights: [Float] = (0..<64).map { Float($0 % 16) - (($0 / 32) == 0 ? 7.5 : 0) }
        for asymmetric in [false, true] {
            let q = try BlockwiseQuantizedWeights(weights: weights, outputs: 1, inputs: 64, asymmetric: asymmetric, hasBias: false,
                                                  activation: .none)
            let dequantized = q.b.withUnsafeBufferPointer { b in
                (0..<64).map { k -> Float in
                    let zp = q.zeroPoints.map { z in z.withUnsafeBufferPointer { q.op.zeroPoint($0, n: 0, block: k / 32) } } ?? 8
                    return Float(q.op.quantizedWeight(b, n: 0, k: k) - zp) * q.scales[k / 32]
                }
            }
            for (w, d) in zip(weights, dequantized) { #expect(abs(w - d) <= abs(q.scales[0]) / 2 + abs(q.scales[1]) / 2 + 1e-6, "\(asymmetric): \(w) -> \(d)") }
        }
    }

    @Test func staticPTQCalibratesEveryLinearLayer() throws {
        let model = try Self.model()
        let engine = try Engine()
        let calibration = try MiniLMCalibration(model: model, sentences: Array(MiniLMSentences.calibration.prefix(8)),
                                                methods: [.minMax, .percentile], engine: engine)
        for method in [CalibrationMethod.minMax, .percentile] {
            let parameters = calibration.parameters(method)
            #expect(parameters.count == 6 && parameters.allSatisfy { $0.count == 4 })
            #expect(parameters.flatMap { $0 }.allSatisfy { $0.scales[0] > 0 && (0...255).contains($0.zeroPoints[0]) })
            let runner = try MiniLMRunner(model: model, mode: .static(parameters: parameters, method: method.rawValue), engine: engine)
            let reference = try MiniLMReference.load()
            let embeddings = runner.embed(reference.embeddings.map(\.text))
            for (index, item) in reference.embeddings.enumerated() {
                #expect(Self.cosine(embeddings[index], item.embedding) > 0.97, "\(method) \(item.text)")
            }
        }
    }

    @Test func perLayerAccuracyReport() throws {
        let model = try Self.model()
        let report = try MiniLMAccuracy.measure(model: model, mode: .dynamic(perRow: true), engine: try Engine(),
                                                sentences: Array(MiniLMSentences.evaluation.prefix(6)))
        #expect(report.layers.count == 24)
        for (name, metrics) in report.layers {
            #expect(metrics.cosine > 0.99 && metrics.sqnr > 15 && metrics.count > 0, "\(name): cosine \(metrics.cosine), SQNR \(metrics.sqnr)")
        }
        #expect(report.embeddings.cosine > 0.995)
    }

    @Test func evaluationReportsEveryField() throws {
        let model = try Self.model()
        let evaluation = try MiniLMEvaluation(model: model, engine: try Engine(), evaluation: Array(MiniLMSentences.evaluation.prefix(4)))
        let report = evaluation.report(try MiniLMRunner(model: model, mode: .dynamic(perRow: false), engine: try Engine()), repeats: 1)
        #expect(report.mode == "dynamic" && report.cosineMean > 0.98 && report.cosineMin <= report.cosineMean)
        #expect(report.msBatch1 > 0 && report.msBatch32 > 0 && report.bytes > 40_000_000 && report.bytes < 90_000_000)
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        for field in ["mode", "cosine_mean", "cosine_min", "ms_batch1", "ms_batch32", "bytes"] { #expect(json.contains("\"\(field)\"")) }
        let svg = TradeOffPlot.svg([.init(label: "f32", milliseconds: 2, cosine: 1), .init(label: "int8 <dyn>", milliseconds: 0.6, cosine: 0.994)],
                                   title: "test")
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n") && svg.contains("int8 &lt;dyn&gt;") && svg.components(separatedBy: "<circle").count == 3)
    }
}
