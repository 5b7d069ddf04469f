/// What both attention operators (`QuantizedAttention`, `F32Attention`) share: multi-head scaled
/// dot-product attention over one sequence of a fused QKV projection's output — rows of
/// `3·heads·headSize` f32 values per token (Q, then K, then V, each `heads` blocks of `headSize`),
/// output rows of `heads·headSize` — with keys at and past `valid` (per call) masked.
public protocol MultiHeadAttention: Sendable, Hashable, Codable {
    var heads: Int { get }
    /// Values per head (d); a multiple of 4.
    var headSize: Int { get }
    /// The scores' multiplier α (usually 1/√d).
    var scale: Float { get }
}

extension MultiHeadAttention {
    /// The longest sequence a call may pass.
    public static var maxLength: Int { 4096 }
    /// f32 values of one token's Q, K and V (an input row).
    public var inputColumns: Int { 3 * heads * headSize }
    /// f32 values of one token's output row.
    public var outputColumns: Int { heads * headSize }
    /// The softmax between the products.
    public var softmax: Softmax { try! Softmax(scale: scale) }

    /// Checks an operator's heads, head size and scale (the initializers call it).
    static func validate(heads: Int, headSize: Int, scale: Float) throws(QuantError) {
        guard (1...256).contains(heads) else { throw .invalidShape(field: "heads", reason: "\(heads) must be in 1...256") }
        guard (4...256).contains(headSize), headSize % 4 == 0 else {
            throw .invalidShape(field: "headSize", reason: "\(headSize) must be a multiple of 4 in 4...256")
        }
        guard scale.isFinite, scale > 0 else { throw .invalidScale(field: "scale", index: 0, value: scale) }
    }

    /// Checks a call's sequence length and valid keys.
    public func check(length: Int, valid: Int) throws(QuantError) {
        guard (1...Self.maxLength).contains(length) else {
            throw .invalidShape(field: "length", reason: "\(length) tokens: must be in 1...\(Self.maxLength)")
        }
        guard (1...length).contains(valid) else { throw .invalidShape(field: "valid", reason: "\(valid) keys: must be in 1...\(length)") }
    }
}
