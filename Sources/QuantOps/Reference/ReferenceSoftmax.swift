/// The semantics of `Softmax`, one operation at a time (see the type).
extension ReferenceOperators {
    /// `rows` rows of `columns` values; the first `valid` of each are real.
    public static func softmax(_ op: Softmax, x: [Float], rows: Int, columns: Int, valid: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            let v = (0..<valid).map { x[r * columns + $0] * op.scale }
            var maximum = -Float.infinity
            for value in v where value > maximum { maximum = value }
            let e = v.map { RealFunctions.exp($0 - maximum) }
            let total = laneOrderedSum(e[...])
            let inverse = 1 / total
            for j in 0..<valid { y[r * columns + j] = e[j] * inverse }
        }
        return y
    }
}
