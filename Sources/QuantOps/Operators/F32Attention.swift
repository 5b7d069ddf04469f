/// Multi-head scaled dot-product attention in f32 (`MultiHeadAttention`'s rows and mask), fused
/// into one kernel per head. For short sequences (a sentence) it is faster than `QuantizedAttention`,
/// whose per-token quantization costs as much as the products there.
///
/// Defined operation by operation (`ReferenceOperators.f32Attention`), per head:
/// 1. `s[i, j] = Σ_c q[i,c]·k[j,c]` as one chain of fused multiply-adds in c order from 0;
/// 2. `p = Softmax(scale: α)` of row i over the keys j < valid (the `Softmax` operator);
/// 3. `out[i, c] = Σ_j p[i,j]·v[j,c]` over j < valid, one chain of fused multiply-adds in j order
///    from 0 (masked tokens' V is never read).
public struct F32Attention: MultiHeadAttention {
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

    /// The most queries the kernel computes together (independent chains in flight; a last,
    /// partial block repeats the last query): the scratch's score rows.
    public static let queriesPerBlock = 8
    /// Keys per row of a head's scratch: the length rounded up to whole 16-lane vectors.
    public static func keyColumns(length: Int) -> Int { (length + 15) / 16 * 16 }
    /// f32 values of one head's scratch: Kᵀ (`headSize` rows of `keyColumns`; past the length the
    /// last key again), then `queriesPerBlock` rows of scores.
    public func scratchFloatsPerHead(length: Int) -> Int { (headSize + Self.queriesPerBlock) * Self.keyColumns(length: length) }
}

extension F32Attention {
    /// Decoding validates, as the initializer does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(heads: try c.decode(Int.self, forKey: .heads), headSize: try c.decode(Int.self, forKey: .headSize),
                      scale: try c.decode(Float.self, forKey: .scale))
    }
}
