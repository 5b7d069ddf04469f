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
}
