extension ReferenceOperators {
    /// Σ values in the order the row kernels (LayerNorm, softmax) add them on every ISA: 16
    /// partial sums, value i into partial i mod 16 in order (so a last, partial group of 16 is
    /// summed as one vector padded with zeros: adding +0 changes no sum); the partials folded by
    /// halves (8, 4, 2, 1).
    public static func laneOrderedSum(_ values: ArraySlice<Float>) -> Float {
        let lanes = LayerNormalization.lanes, start = values.startIndex
        var partial = [Float](repeating: 0, count: lanes)
        for i in 0..<values.count { partial[i % lanes] = partial[i % lanes] + values[start + i] }
        var width = lanes
        while width > 1 {
            width /= 2
            for l in 0..<width { partial[l] = partial[l] + partial[l + width] }
        }
        return partial[0]
    }
}
