/// Multi-head scaled dot-product attention with int8 products (`MultiHeadAttention`'s rows: head h
/// at h·headSize; keys at and past `valid` masked: a key-padding mask).
///
/// Defined operation by operation (`ReferenceOperators.quantizedAttention`), per head:
/// 1. Q, K and V are quantized per token (one block of `headSize`, as MLAS quantizes A for
///    MatMulNBits: `scale = amax/127`, `q = RNE(clamp(x·(127/amax), ±127))`, NaN → 0).
/// 2. `s[i, j] = float(Σ_k qQ[i,k]·qK[j,k]) · (scaleQ_i · scaleK_j)`: exact int32 dot products.
/// 3. `p = Softmax(scale: α)` of row i over the keys j < valid (the `Softmax` operator: zeros past).
/// 4. `p'[i, j] = p[i, j] · scaleV_j`, quantized per row to u8: `scaleP_i = amax/255`,
///    `qP = RNE(min(p'·(255/amax), 255))` (amax = 0: zeros).
/// 5. `out[i, c] = float(Σ_j qP[i,j]·qV[j,c]) · scaleP_i`: exact int32 dot products.
/// V's per-token scale is folded into P before P is quantized, so both products keep every scale
/// outside their integer sums.
public struct QuantizedAttention: MultiHeadAttention {
    public let heads: Int
    /// Values per head (d); a multiple of 4.
    public let headSize: Int
    /// The scores' multiplier α (usually 1/√d).
    public let scale: Float

    public init(heads: Int, headSize: Int, scale: Float) throws(QuantError) {
        try Self.validate(heads: heads, headSize: headSize, scale: scale)
        self.heads = heads
        self.headSize = headSize
        self.scale = scale
    }
}

extension QuantizedAttention {
    /// Decoding validates, as the initializer does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(heads: try c.decode(Int.self, forKey: .heads), headSize: try c.decode(Int.self, forKey: .headSize),
                      scale: try c.decode(Float.self, forKey: .scale))
    }
}
