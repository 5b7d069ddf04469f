/// `y[r][c] = f(x[r][c] + bias[c])` on f32 rows of `columns` values (x and y may be the same
/// buffer): the bias and activation of an f32 linear layer, e.g. BERT's `gelu(x·Wᵀ + b)`, with
/// `f` as `Activation.apply` defines it.
public struct BiasActivation: Sendable, Hashable, Codable {
    public let columns: Int
    public let bias: [Float]?
    public let activation: Activation

    public init(columns: Int, bias: [Float]?, activation: Activation) throws(QuantError) {
        try MatMul.checkDimension("columns", columns)
        if let bias {
            if bias.count != columns { throw .channelCountMismatch(field: "bias", expected: columns, actual: bias.count) }
            if let bad = bias.firstIndex(where: { !$0.isFinite }) { throw .invalidEpilogue(field: "bias[\(bad)]", reason: "must be finite") }
        }
        try activation.validate(field: "activation")
        self.columns = columns
        self.bias = bias
        self.activation = activation
    }

    /// The reference: one value of column `c`.
    @inline(__always)
    public func apply(_ x: Float, column c: Int) -> Float { activation.apply(bias.map { x + $0[c] } ?? x) }
}

extension BiasActivation {
    /// Decoding validates, as the initializer does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(columns: try c.decode(Int.self, forKey: .columns), bias: try c.decodeIfPresent([Float].self, forKey: .bias),
                      activation: try c.decode(Activation.self, forKey: .activation))
    }
}
