/// The semantics of `LayerNormalization`, one operation at a time (see the type).
extension ReferenceOperators {
    /// `rows` rows of `op.columns`; `residual` exactly when the op has one; γ and β of `columns`.
    public static func layerNorm(_ op: LayerNormalization, x: [Float], residual: [Float]?, gamma: [Float], beta: [Float],
                                 rows: Int) -> [Float] {
        let n = op.columns
        var y = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            var v = Array(x[(r * n)..<((r + 1) * n)])
            if let residual { for c in 0..<n { v[c] = v[c] + residual[r * n + c] } }
            let mean = laneOrderedSum(v[...]) / Float(n)
            let squares = v.map { ($0 - mean) * ($0 - mean) }
            let variance = laneOrderedSum(squares[...]) / Float(n)
            let rstd = 1 / (variance + op.epsilon).squareRoot()
            for c in 0..<n { y[r * n + c] = ((v[c] - mean) * rstd) * gamma[c] + beta[c] }
        }
        return y
    }

    /// The quantized-output LayerNorm: the f32 rows above, each value through QuantizeLinear with
    /// the op's output scale and zero point; u8 values or s8 bit patterns.
    public static func layerNormQuantized(_ op: LayerNormalization, x: [Float], residual: [Float]?, gamma: [Float], beta: [Float],
                                          rows: Int) -> [UInt8] {
        guard case let .quantized(type, scale, zeroPoint) = op.output else { preconditionFailure("an f32 LayerNorm") }
        return layerNorm(op, x: x, residual: residual, gamma: gamma, beta: beta, rows: rows).map {
            UInt8(truncatingIfNeeded: QuantArithmetic.quantize($0, scale: scale, zeroPoint: zeroPoint, range: type.integerRange!))
        }
    }
}
