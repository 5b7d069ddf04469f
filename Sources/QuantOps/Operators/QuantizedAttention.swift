/// Multi-head scaled dot-product attention with int8 products, over one sequence of a fused QKV
/// projection's output: rows of `3·heads·headSize` f32 values per token (Q, then K, then V, each
/// `heads` blocks of `headSize`), output rows of `heads·headSize` f32 (head h at h·headSize).
/// Keys at and past `valid` (per call) are masked: a key-padding mask.
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
public struct QuantizedAttention: Sendable, Hashable, Codable {
    public let heads: Int
    /// Values per head (d); a multiple of 4.
    public let headSize: Int
    /// The scores' multiplier α (usually 1/√d).
    public let scale: Float
    /// The longest sequence a call may pass.
    public static let maxLength = 4096

    public init(heads: Int, headSize: Int, scale: Float) throws(QuantError) {
        guard (1...256).contains(heads) else { throw .invalidShape(field: "heads", reason: "\(heads) must be in 1...256") }
        guard (4...256).contains(headSize), headSize % 4 == 0 else {
            throw .invalidShape(field: "headSize", reason: "\(headSize) must be a multiple of 4 in 4...256")
        }
        guard scale.isFinite, scale > 0 else { throw .invalidScale(field: "scale", index: 0, value: scale) }
        self.heads = heads
        self.headSize = headSize
        self.scale = scale
    }

    /// f32 values of one token's Q, K and V (an input row).
    public var inputColumns: Int { 3 * heads * headSize }
    /// f32 values of one token's output row.
    public var outputColumns: Int { heads * headSize }
    /// The softmax between the products.
    public var softmax: Softmax { try! Softmax(scale: scale) }

    /// Checks a call's sequence length and valid keys.
    public func check(length: Int, valid: Int) throws(QuantError) {
        guard (1...Self.maxLength).contains(length) else {
            throw .invalidShape(field: "length", reason: "\(length) tokens: must be in 1...\(Self.maxLength)")
        }
        guard (1...length).contains(valid) else { throw .invalidShape(field: "valid", reason: "\(valid) keys: must be in 1...\(length)") }
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
