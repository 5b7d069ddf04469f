import QuantForge

/// f32 weights [outputs][inputs] quantized to 4 bits per block of `blockSize` along the inputs, in
/// MatMulNBits' layout (`NBitsLinear`), as ONNX Runtime's blockwise quantizer does: symmetric —
/// scale = w_extreme / -8 for the block's value of largest magnitude (so it maps to -8, and the
/// scale may be negative), q = clamp(RNE(w / scale), -8, 7) + 8 (the midpoint zero point) — or asymmetric —
/// range [min(w, 0), max(w, 0)], scale = range / 15, zp = clamp(RNE(-min / scale), 0, 15),
/// q = clamp(RNE(w / scale) + zp, 0, 15).
public struct BlockwiseQuantizedWeights: Sendable {
    public let op: NBitsLinear
    /// [N, blocks, blockSize / 2]
    public let b: [UInt8]
    /// [N · blocks]
    public let scales: [Float]
    /// [N, ⌈blocks / 2⌉], asymmetric only.
    public let zeroPoints: [UInt8]?

    public init(weights: [Float], outputs n: Int, inputs k: Int, blockSize: Int = 32, asymmetric: Bool,
                hasBias: Bool, activation: Activation) throws(QuantError) {
        precondition(weights.count == n * k)
        op = try NBitsLinear(inputs: k, outputs: n, bits: 4, blockSize: blockSize, zeroPoints: asymmetric ? .perBlock : .midpoint,
                             compute: .int8, hasBias: hasBias, activation: activation)
        let blocks = op.blocksPerColumn
        var b = [UInt8](repeating: 0, count: op.quantizedWeightBytes)
        var scales = [Float](repeating: 1, count: n * blocks)
        var zeroPoints = [UInt8](repeating: 0, count: op.zeroPointBytes)
        for column in 0..<n {
            for block in 0..<blocks {
                let first = column * k + block * blockSize, values = weights[first..<(first + min(blockSize, k - block * blockSize))]
                var scale: Float, zero: Int
                if asymmetric {
                    let low = min(values.min()!, 0), high = max(values.max()!, 0)
                    scale = (high - low) / 15
                    if !(scale > 0) { scale = 1 }
                    zero = Int(min(max((-low / scale).rounded(.toNearestOrEven), 0), 15))
                    zeroPoints[column * op.zeroPointBytesPerColumn + block / 2] |= UInt8(zero) << (block % 2 == 0 ? 0 : 4)
                } else {
                    // The value of largest magnitude maps to -8 exactly (its sign in the scale), so
                    // all 16 levels are used.
                    let extreme = values.max { abs($0) < abs($1) }!
                    scale = extreme / -8
                    if !(scale != 0 && scale.isFinite) { scale = 1 }
                    zero = 8
                }
                scales[column * blocks + block] = scale
                for (i, w) in values.enumerated() {
                    let q = Int(min(max((w / scale).rounded(.toNearestOrEven) + Float(zero), 0), 15))
                    b[(column * blocks + block) * op.blockBytes + i / 2] |= UInt8(q) << (i % 2 == 0 ? 0 : 4)
                }
            }
        }
        self.b = b
        self.scales = scales
        self.zeroPoints = asymmetric ? zeroPoints : nil
    }
}
