/// The semantics of `LayerNormalization`, one operation at a time (see the type).
extension ReferenceOperators {
    /// `rows` rows of `op.columns`; `residual` exactly when the op has one; γ and β of `columns`.
    public static func layerNorm(_ op: LayerNormalization, x: [Float], residual: [Float]?, gamma: [Float], beta: [Float],
                                 rows: Int) -> [Float] {
        let n = op.columns, lanes = LayerNormalization.lanes, whole = n / lanes * lanes
        var y = [Float](repeating: 0, count: rows * n)
        /// Σ of `values` in the defined order.
        func sum(_ values: ArraySlice<Float>) -> Float {
            let start = values.startIndex
            var partial = [Float](repeating: 0, count: lanes)
            for i in 0..<whole { partial[i % lanes] = partial[i % lanes] + values[start + i] }
            var width = lanes
            while width > 1 {
                width /= 2
                for l in 0..<width { partial[l] = partial[l] + partial[l + width] }
            }
            var total = partial[0]
            for i in whole..<n { total = total + values[start + i] }
            return total
        }
        for r in 0..<rows {
            var v = Array(x[(r * n)..<((r + 1) * n)])
            if let residual { for c in 0..<n { v[c] = v[c] + residual[r * n + c] } }
            let mean = sum(v[...]) / Float(n)
            let squares = v.map { ($0 - mean) * ($0 - mean) }
            let variance = sum(squares[...]) / Float(n)
            let rstd = 1 / (variance + op.epsilon).squareRoot()
            for c in 0..<n { y[r * n + c] = ((v[c] - mean) * rstd) * gamma[c] + beta[c] }
        }
        return y
    }
}
