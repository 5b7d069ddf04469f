import Foundation
import QuantForge

/// all-MiniLM-L6-v2: a 6-layer, 384-wide BERT encoder (12 heads, 1536-wide feed-forward, GELU)
/// with mean pooling and L2 normalization, loaded from the model's `model.safetensors` and
/// `vocab.txt`. The weights stay as the file has them (f32, linear weights [out, in]); a
/// `MiniLMRunner` decides how the linear layers run (f32, dynamic int8, static int8).
public final class MiniLM: Sendable {
    public static let hidden = 384, heads = 12, headSize = 32, layerCount = 6, intermediate = 1536
    public static let layerNormEpsilon: Float = 1e-12

    /// A linear layer `y = x·Wᵀ + b` as stored: W is [out][in].
    public struct Linear: Sendable {
        public let name: String
        public let outputs: Int
        public let inputs: Int
        public let weights: [Float]
        public let bias: [Float]
    }

    public struct LayerNorm: Sendable {
        public let weight: [Float]
        public let bias: [Float]
    }

    /// One encoder layer. Q, K and V are one linear of 3·384 outputs (one GEMM instead of three).
    public struct Layer: Sendable {
        public let qkv: Linear
        public let attentionOutput: Linear
        public let attentionNorm: LayerNorm
        public let intermediate: Linear
        public let output: Linear
        public let outputNorm: LayerNorm

        /// The four linear layers in execution order.
        public var linears: [Linear] { [qkv, attentionOutput, intermediate, output] }
    }

    public let tokenizer: WordPieceTokenizer
    public let wordEmbeddings: [Float]
    public let positionEmbeddings: [Float]
    public let tokenTypeEmbeddings: [Float]
    public let embeddingNorm: LayerNorm
    public let layers: [Layer]
    public let vocabularySize: Int
    public let maxPositions: Int

    /// Loads the model from `directory` (default: where tools/fetch_minilm.sh puts it).
    public init(directory: URL = ModelLocation.miniLM) throws(ModelError) {
        let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        tokenizer = try WordPieceTokenizer(vocabularyFile: directory.appendingPathComponent("vocab.txt"), maxLength: 256)
        let h = Self.hidden
        guard let words = file.tensors["embeddings.word_embeddings.weight"], words.shape.count == 2, words.shape[1] == h else {
            throw .tensor(name: "embeddings.word_embeddings.weight", reason: "missing or not [vocabulary, \(h)]")
        }
        vocabularySize = words.shape[0]
        maxPositions = file.tensors["embeddings.position_embeddings.weight"]?.shape.first ?? 0
        // A token id is a vocab.txt line number: every one must have an embedding row.
        let largestID = Int(tokenizer.vocabulary.values.max() ?? 0)
        if largestID >= vocabularySize {
            throw .vocabulary(reason: "vocab.txt has token ids up to \(largestID) but the model has \(vocabularySize) word embeddings")
        }
        wordEmbeddings = try file.floats("embeddings.word_embeddings.weight")
        positionEmbeddings = try file.floats("embeddings.position_embeddings.weight", shape: [maxPositions, h])
        // Sentences are one segment (token type 0); BERT's table has two rows.
        tokenTypeEmbeddings = try file.floats("embeddings.token_type_embeddings.weight", shape: [2, h])
        func norm(_ prefix: String) throws(ModelError) -> LayerNorm {
            LayerNorm(weight: try file.floats(prefix + ".weight", shape: [h]), bias: try file.floats(prefix + ".bias", shape: [h]))
        }
        func linear(_ prefix: String, _ outputs: Int, _ inputs: Int) throws(ModelError) -> Linear {
            Linear(name: prefix, outputs: outputs, inputs: inputs, weights: try file.floats(prefix + ".weight", shape: [outputs, inputs]),
                   bias: try file.floats(prefix + ".bias", shape: [outputs]))
        }
        embeddingNorm = try norm("embeddings.LayerNorm")
        var layers: [Layer] = []
        for index in 0..<Self.layerCount {
            let p = "encoder.layer.\(index)."
            let q = try linear(p + "attention.self.query", h, h), k = try linear(p + "attention.self.key", h, h)
            let v = try linear(p + "attention.self.value", h, h)
            let qkv = Linear(name: p + "attention.self.qkv", outputs: 3 * h, inputs: h, weights: q.weights + k.weights + v.weights,
                             bias: q.bias + k.bias + v.bias)
            layers.append(Layer(qkv: qkv, attentionOutput: try linear(p + "attention.output.dense", h, h),
                                attentionNorm: try norm(p + "attention.output.LayerNorm"),
                                intermediate: try linear(p + "intermediate.dense", Self.intermediate, h),
                                output: try linear(p + "output.dense", h, Self.intermediate),
                                outputNorm: try norm(p + "output.LayerNorm")))
        }
        self.layers = layers
        if maxPositions < tokenizer.maxLength { throw .tensor(name: "embeddings.position_embeddings.weight", reason: "\(maxPositions) positions < \(tokenizer.maxLength)") }
    }

    /// Bytes of the f32 weights (embeddings, norms and linear layers).
    public var f32Bytes: Int {
        let linears = layers.flatMap(\.linears).reduce(0) { $0 + ($1.weights.count + $1.bias.count) * 4 }
        return embeddingBytes + linears + normBytes
    }

    /// Bytes of the layer norms.
    public var normBytes: Int {
        let norms = (1 + 2 * layers.count) * 2 * Self.hidden * 4
        return norms
    }

    public var embeddingBytes: Int { (wordEmbeddings.count + positionEmbeddings.count + tokenTypeEmbeddings.count) * 4 }
}
