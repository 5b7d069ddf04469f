/// An f32 linear layer `y[m][n] = bias[n] + Σ_k x[m][k] · w[n][k]` with the weights in PyTorch's
/// [outputs, inputs] layout, packed once. The sum is defined operation by operation: starting from
/// the bias (0 without one), one fused multiply-add per k in increasing k — so the generated
/// kernel and the reference agree bit for bit. (The f32 baseline of the MiniLM runner.)
public struct F32Linear: Sendable, Hashable, Codable {
    /// K: inputs per row.
    public let inputs: Int
    /// N: outputs per row.
    public let outputs: Int
    public let hasBias: Bool

    public init(inputs: Int, outputs: Int, hasBias: Bool) throws(QuantError) {
        try MatMul.checkDimension("inputs", inputs)
        try MatMul.checkDimension("outputs", outputs)
        if inputs * outputs > 1 << 30 { throw .invalidShape(field: "weights", reason: "\(outputs)×\(inputs) exceeds 2^30 values") }
        self.inputs = inputs
        self.outputs = outputs
        self.hasBias = hasBias
    }
}

extension F32Linear {
    /// Decoding validates, as the initializer does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(inputs: try c.decode(Int.self, forKey: .inputs), outputs: try c.decode(Int.self, forKey: .outputs),
                      hasBias: try c.decode(Bool.self, forKey: .hasBias))
    }
}
