/// Softmax over the last axis of f32 rows, with a scale and a key-padding mask fused (attention's
/// `softmax(s · QKᵀ)` where only the first `valid` columns of a row are real tokens): the row
/// length and `valid` are given per call. Per row: `v = s · x` on the first `valid` columns,
/// `y = e^(v - max v) / Σ e^(v - max v)` there and 0 in the rest.
///
/// Defined operation by operation (`ReferenceOperators.softmax`): the maximum by compare-and-select
/// (NaN ignored); `e^` is `RealFunctions.exp`; the sum as `LayerNormalization`'s (16 partial sums
/// with value i into partial i mod 16, folded by halves); each output `e · (1 / Σ)`.
public struct Softmax: Sendable, Hashable, Codable {
    public let scale: Float

    public init(scale: Float = 1) throws(QuantError) {
        guard scale.isFinite, scale > 0 else { throw .invalidArgument(field: "scale", reason: "\(scale) must be a finite number > 0") }
        self.scale = scale
    }
}

extension Softmax {
    /// Decoding validates, as the initializer does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(scale: try c.decode(Float.self, forKey: .scale))
    }
}
