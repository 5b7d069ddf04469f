/// The semantics of `QuantizedAttention`, step by step (see the type).
extension ReferenceOperators {
    /// One token's u8 quantization of a row of non-negative values `p'` (step 4): the codes and
    /// `scale = amax/255`.
    public static func quantizeProbabilities(_ p: ArraySlice<Float>) -> (codes: [UInt8], scale: Float) {
        var amax: Float = 0
        for value in p where value > amax { amax = value }
        let inverse: Float = amax != 0 ? 255 / amax : 0
        let codes = p.map { value -> UInt8 in
            var t = value * inverse
            if t.isNaN { t = 0 }
            return UInt8(min(max(t, 0), 255).rounded(.toNearestOrEven))
        }
        return (codes, amax / 255)
    }

    /// `qkv`: `length` rows of `op.inputColumns`; keys j ≥ `valid` masked. Returns `length` rows
    /// of `op.outputColumns`.
    public static func quantizedAttention(_ op: QuantizedAttention, qkv: [Float], length: Int, valid: Int) -> [Float] {
        let d = op.headSize, h = op.heads, stride = op.inputColumns
        var out = [Float](repeating: 0, count: length * op.outputColumns)
        for head in 0..<h {
            func quantized(_ part: Int) -> [BlockQuantizedRow] {
                (0..<length).map { t in
                    let start = t * stride + part * h * d + head * d
                    return quantizeRowPerBlock(qkv[start..<(start + d)], blockSize: d)
                }
            }
            let q = quantized(0), k = quantized(1), v = quantized(2)
            var scores = [Float](repeating: 0, count: length * length)
            for i in 0..<length {
                for j in 0..<length {
                    var dot: Int32 = 0
                    for c in 0..<d { dot &+= Int32(q[i].values[c]) &* Int32(k[j].values[c]) }
                    scores[i * length + j] = Float(dot) * (q[i].scales[0] * k[j].scales[0])
                }
            }
            let p = softmax(op.softmax, x: scores, rows: length, columns: length, valid: valid)
            for i in 0..<length {
                let folded = (0..<length).map { j in p[i * length + j] * v[j].scales[0] }
                let (codes, scale) = quantizeProbabilities(folded[...])
                for c in 0..<d {
                    var dot: Int32 = 0
                    for j in 0..<length { dot &+= Int32(codes[j]) &* Int32(v[j].values[c]) }
                    out[i * op.outputColumns + head * d + c] = Float(dot) * scale
                }
            }
        }
        return out
    }
}
