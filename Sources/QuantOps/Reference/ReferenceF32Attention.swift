/// The semantics of `F32Attention`, step by step (see the type).
extension ReferenceOperators {
    /// `qkv`: `length` rows of `op.inputColumns`; keys j ≥ `valid` masked. Returns `length` rows
    /// of `op.outputColumns`.
    public static func f32Attention(_ op: F32Attention, qkv: [Float], length: Int, valid: Int) -> [Float] {
        let d = op.headSize, h = op.heads, stride = op.inputColumns
        var out = [Float](repeating: 0, count: length * op.outputColumns)
        func value(_ part: Int, _ token: Int, _ head: Int, _ c: Int) -> Float { qkv[token * stride + (part * h + head) * d + c] }
        for head in 0..<h {
            var scores = [Float](repeating: 0, count: length * length)
            for i in 0..<length {
                for j in 0..<length {
                    var s: Float = 0
                    for c in 0..<d { s = s.addingProduct(value(0, i, head, c), value(1, j, head, c)) }
                    scores[i * length + j] = s
                }
            }
            let p = softmax(op.softmax, x: scores, rows: length, columns: length, valid: valid)
            for i in 0..<length {
                for c in 0..<d {
                    var sum: Float = 0
                    for j in 0..<valid { sum = sum.addingProduct(p[i * length + j], value(2, j, head, c)) }
                    out[i * op.outputColumns + head * d + c] = sum
                }
            }
        }
        return out
    }
}
