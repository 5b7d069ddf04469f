import QuantForge

/// Per-output-channel symmetric s8 weights from f32: `scale[n] = clip[n] / 127`, `q = clamp(RNE(w /
/// scale), -127, 127)`, zero point 0, where `clip[n]` is the channel's largest |w| — or, with
/// `clipPercentile`, that percentile of the channel's |w| (outlier weights then saturate).
public struct QuantizedWeights: Sendable {
    /// K×N bytes (s8 bit patterns), the layout `MatMul` packs.
    public let b: [UInt8]
    public let scales: [Float]
    public let k: Int
    public let n: Int

    /// `weights` is [outputs][inputs] (PyTorch / safetensors order).
    public init(weights: [Float], outputs n: Int, inputs k: Int, clipPercentile: Float? = nil) {
        precondition(weights.count == n * k)
        var scales = [Float](repeating: 1, count: n)
        var b = [UInt8](repeating: 0, count: k * n)
        for column in 0..<n {
            let row = weights[(column * k)..<((column + 1) * k)]
            var clip: Float
            if let clipPercentile {
                let sorted = row.map(abs).sorted()
                clip = sorted[min(sorted.count - 1, Int((Float(sorted.count - 1) * clipPercentile / 100).rounded()))]
            } else {
                clip = row.reduce(0) { max($0, abs($1)) }
            }
            if !(clip > 0) { clip = 1 }
            let scale = clip / 127
            scales[column] = scale
            for (i, w) in row.enumerated() {
                let q = QuantArithmetic.quantize(w, scale: scale, zeroPoint: 0, range: -127...127)
                b[i * n + column] = UInt8(bitPattern: Int8(q))
            }
        }
        self.b = b
        self.scales = scales
        self.k = k
        self.n = n
    }

    public var quantParams: QuantParams { .perChannel(scales: scales, zeroPoints: [0]) }
}
