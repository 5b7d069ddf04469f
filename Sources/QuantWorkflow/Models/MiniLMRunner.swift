import Foundation
import QuantForge

/// Runs all-MiniLM-L6-v2 with one implementation per linear layer: sentences → token ids (a batch's
/// tokens one after another, no padding) → embeddings + LayerNorm → 6 × (fused QKV linear,
/// attention per sentence, output linear, residual + LayerNorm, GELU feed-forward, residual +
/// LayerNorm) → mean pooling over each sentence's tokens →
/// L2 normalization. LayerNorm is a generated f32 kernel in every mode, attention the fused f32
/// kernel (`F32Attention`) — in the dynamic and static modes from `int8AttentionFrom` tokens int8
/// attention (`QuantizedAttention`: Q, K, V quantized per token and head) instead.
public final class MiniLMRunner {
    public enum Mode: Sendable, CustomStringConvertible {
        case f32
        /// Every linear layer dynamically quantized (A per tensor, or per row = per token).
        case dynamic(perRow: Bool)
        /// Every linear layer's input with calibrated u8 parameters ([layer][linear]).
        case `static`(parameters: [[QuantParams]], method: String)
        /// Every linear layer with 4-bit weights per block of 32 (symmetric or with zero points),
        /// A quantized per block to int8 (MatMulNBits, accuracy_level 4).
        case nbits4(asymmetric: Bool)

        public var description: String {
            switch self {
            case .f32: "f32"
            case let .dynamic(perRow): perRow ? "dynamic (per token)" : "dynamic"
            case let .static(_, method): "static (\(method))"
            case let .nbits4(asymmetric): "4-bit weights, block 32, int8 compute\(asymmetric ? ", zero points" : "")"
            }
        }
    }

    public let model: MiniLM
    public let mode: Mode
    /// [layer][qkv, attention output, intermediate (GELU), output].
    public let linears: [[LinearImplementation]]
    /// Called with every linear layer's input (layer, index 0...3, rows × inputs floats) before it
    /// runs, and its output after: how calibration and per-layer accuracy watch the f32 model.
    public var probe: ((_ layer: Int, _ index: Int, _ input: UnsafeBufferPointer<Float>, _ output: UnsafeBufferPointer<Float>) -> Void)?

    /// Activation buffers kept between calls (fresh ones would cost page faults on every call):
    /// a runner is not thread-safe.
    private final class Workspace {
        var x: [Float] = [], qkv: [Float] = [], context: [Float] = [], projected: [Float] = [], intermediate: [Float] = []
    }
    private let workspace = Workspace()
    /// LayerNorm over 384 values, without and with the residual added first.
    private let layerNorms: (plain: LayerNormKernel, residual: LayerNormKernel)
    /// Fused f32 attention: every mode's for sentences up to `int8AttentionFrom` tokens.
    private let f32Attention: F32AttentionKernel
    /// Int8 attention (the dynamic and static modes, from `int8AttentionFrom` tokens), else nil.
    private let int8Attention: QuantizedAttentionKernel?
    /// The sentence length from which the int8 modes' attention runs int8 products: below it the
    /// per-token quantization of Q, K and V costs more than the int8 products save. (Zen 5, one
    /// thread, MiniLM's 12 heads of 32, µs per call f32 fused / int8: 11 tokens 3.0 / 6.3, 32: 11.5
    /// / 19.0, 64: 40.0 / 50.3, 96: 87.5 / 95.6, 128: 157.2 / 156.1, 256: 592 / 548.)
    public static let int8AttentionFrom = 128

    /// The buffer in `slot` (taken out, so that it is not copied on write), at least `count` long.
    private static func take(_ slot: inout [Float], _ count: Int) -> [Float] {
        var buffer: [Float] = []
        swap(&buffer, &slot)
        if buffer.count < count { buffer = [Float](repeating: 0, count: count) }
        return buffer
    }

    public init(model: MiniLM, mode: Mode, engine: Engine) throws(ModelError) {
        self.model = model
        self.mode = mode
        var linears: [[LinearImplementation]] = []
        for (layerIndex, layer) in model.layers.enumerated() {
            var row: [LinearImplementation] = []
            for (index, linear) in layer.linears.enumerated() {
                let activation: Activation = index == 2 ? .gelu : .none
                switch mode {
                case .f32:
                    row.append(try F32LinearImplementation(linear, activation: activation, engine: engine))
                case let .dynamic(perRow):
                    row.append(try Int8LinearImplementation(linear, activation: activation,
                                                            quantization: perRow ? .dynamicPerRow : .dynamicPerTensor, engine: engine))
                case let .static(parameters, _):
                    let q = parameters[layerIndex][index]
                    row.append(try Int8LinearImplementation(linear, activation: activation,
                                                            quantization: .fixed(scale: q.scales[0], zeroPoint: q.zeroPoints[0]), engine: engine))
                case let .nbits4(asymmetric):
                    row.append(try NBitsLinearImplementation(linear, activation: activation, asymmetric: asymmetric, engine: engine))
                }
            }
            linears.append(row)
        }
        self.linears = linears
        do {
            layerNorms = (try engine.compile(try LayerNormalization(columns: MiniLM.hidden, epsilon: MiniLM.layerNormEpsilon)),
                          try engine.compile(try LayerNormalization(columns: MiniLM.hidden, epsilon: MiniLM.layerNormEpsilon, hasResidual: true)))
            f32Attention = try engine.compile(try F32Attention(heads: MiniLM.heads, headSize: MiniLM.headSize,
                                                               scale: 1 / Float(MiniLM.headSize).squareRoot()))
            switch mode {
            case .dynamic, .static:
                int8Attention = try engine.compile(try QuantizedAttention(heads: MiniLM.heads, headSize: MiniLM.headSize,
                                                                          scale: 1 / Float(MiniLM.headSize).squareRoot()))
            case .f32, .nbits4:
                int8Attention = nil
            }
        } catch { throw .quantization(error) }
    }

    /// Bytes of the model as this mode keeps it: embeddings and norms in f32, linear layers as their
    /// implementations keep them.
    public var modelBytes: Int {
        model.embeddingBytes + model.normBytes + linears.flatMap { $0 }.reduce(0) { $0 + $1.weightBytes }
    }

    /// One L2-normalized 384-float embedding per sentence (the batch runs together).
    public func embed(_ sentences: [String]) -> [[Float]] {
        embed(ids: sentences.map { model.tokenizer.encode($0) })
    }

    /// The batch's sentences run without padding: their tokens are the rows of every linear layer
    /// and LayerNorm one after another (sentence b from row `starts[b]`), and attention runs per
    /// sentence over its own tokens — no row is computed for a padding token.
    public func embed(ids batch: [[Int32]]) -> [[Float]] {
        guard !batch.isEmpty else { return [] }
        let h = MiniLM.hidden, lengths = batch.map(\.count)
        let starts = lengths.indices.map { lengths[..<$0].reduce(0, +) }, rows = lengths.reduce(0, +)
        var x = Self.take(&workspace.x, rows * h)
        // Embeddings and their LayerNorm.
        x.withUnsafeMutableBufferPointer { x in
            model.wordEmbeddings.withUnsafeBufferPointer { words in
                model.positionEmbeddings.withUnsafeBufferPointer { positions in
                    model.tokenTypeEmbeddings.withUnsafeBufferPointer { types in
                        for (b, ids) in batch.enumerated() {
                            for t in 0..<ids.count {
                                let id = Int(ids[t])
                                let row = x.baseAddress! + (starts[b] + t) * h
                                let word = words.baseAddress! + id * h, position = positions.baseAddress! + t * h
                                for c in 0..<h { row[c] = word[c] + position[c] + types[c] }
                            }
                        }
                    }
                }
            }
        }
        layerNorm(&x, adding: nil, rows: rows, model.embeddingNorm)
        var qkv = Self.take(&workspace.qkv, rows * 3 * h), context = Self.take(&workspace.context, rows * h)
        var projected = Self.take(&workspace.projected, rows * h)
        var intermediate = Self.take(&workspace.intermediate, rows * MiniLM.intermediate)
        defer {
            workspace.x = x
            workspace.qkv = qkv
            workspace.context = context
            workspace.projected = projected
            workspace.intermediate = intermediate
        }
        for (index, layer) in model.layers.enumerated() {
            run(index, 0, x, rows: rows, into: &qkv)
            attention(qkv: qkv, starts: starts, lengths: lengths, into: &context)
            run(index, 1, context, rows: rows, into: &projected)
            layerNorm(&x, adding: projected, rows: rows, layer.attentionNorm)
            run(index, 2, x, rows: rows, into: &intermediate)
            run(index, 3, intermediate, rows: rows, into: &projected)
            layerNorm(&x, adding: projected, rows: rows, layer.outputNorm)
        }
        // Mean over each sentence's real tokens, then L2 normalization.
        return batch.enumerated().map { b, ids in
            var pooled = [Float](repeating: 0, count: h)
            for t in 0..<ids.count {
                for c in 0..<h { pooled[c] += x[(starts[b] + t) * h + c] }
            }
            var norm: Float = 0
            for c in 0..<h {
                pooled[c] /= Float(ids.count)
                norm += pooled[c] * pooled[c]
            }
            let scale = 1 / max(norm.squareRoot(), 1e-12)
            return pooled.map { $0 * scale }
        }
    }

    private func run(_ layer: Int, _ index: Int, _ input: [Float], rows: Int, into output: inout [Float]) {
        let implementation = linears[layer][index]
        let outputs = model.layers[layer].linears[index].outputs
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                implementation.forward(x.baseAddress!, rows: rows, into: y.baseAddress!)
                probe?(layer, index, UnsafeBufferPointer(start: x.baseAddress, count: rows * model.layers[layer].linears[index].inputs),
                       UnsafeBufferPointer(start: y.baseAddress, count: rows * outputs))
            }
        }
    }

    /// softmax(Q·Kᵀ / √32)·V per sentence (rows from `starts[b]`, `lengths[b]` of them) and head.
    private func attention(qkv: [Float], starts: [Int], lengths: [Int], into context: inout [Float]) {
        let h = MiniLM.hidden, stride = 3 * h
        qkv.withUnsafeBufferPointer { qkv in
            context.withUnsafeMutableBufferPointer { context in
                for (b, length) in lengths.enumerated() {
                    let input = qkv.baseAddress! + starts[b] * stride, output = context.baseAddress! + starts[b] * h
                    do {
                        if let int8Attention, length >= Self.int8AttentionFrom {
                            try int8Attention.run(qkv: input, length: length, valid: length, output: output)
                        } else {
                            try f32Attention.run(qkv: input, length: length, valid: length, output: output)
                        }
                    } catch {
                        fatalError("unreachable: lengths come from the batch (\(error))")
                    }
                }
            }
        }
    }

    /// x = LayerNorm(x + residual) per row of 384 (residual nil: x alone), in place, by the
    /// generated `LayerNormalization` kernels.
    func layerNorm(_ x: inout [Float], adding residual: [Float]?, rows: Int, _ norm: MiniLM.LayerNorm) {
        let kernel = residual == nil ? layerNorms.plain : layerNorms.residual
        x.withUnsafeMutableBufferPointer { x in
            norm.weight.withUnsafeBufferPointer { gamma in
                norm.bias.withUnsafeBufferPointer { beta in
                    (residual ?? []).withUnsafeBufferPointer { added in
                        do {
                            try kernel.run(x: x.baseAddress!, residual: residual == nil ? nil : added.baseAddress!, gamma: gamma.baseAddress!,
                                           beta: beta.baseAddress!, y: x.baseAddress!, rows: rows)
                        } catch {
                            fatalError("unreachable: the kernels were compiled for these shapes at init (\(error))")
                        }
                    }
                }
            }
        }
    }
}
