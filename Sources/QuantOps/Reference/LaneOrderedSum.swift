extension ReferenceOperators {
    /// Σ values in the order the row kernels (LayerNorm, softmax) add them on every ISA: 16
    /// partial sums, value i of each whole group of 16 into partial i mod 16 in order; the
    /// partials folded by halves (8, 4, 2, 1); then the values past the last whole group one by one.
    public static func laneOrderedSum(_ values: ArraySlice<Float>) -> Float {
        let lanes = LayerNormalization.lanes, count = values.count, whole = count / lanes * lanes, start = values.startIndex
        var partial = [Float](repeating: 0, count: lanes)
        for i in 0..<whole { partial[i % lanes] = partial[i % lanes] + values[start + i] }
        var width = lanes
        while width > 1 {
            width /= 2
            for l in 0..<width { partial[l] = partial[l] + partial[l + width] }
        }
        var total = partial[0]
        for i in whole..<count { total = total + values[start + i] }
        return total
    }
}
