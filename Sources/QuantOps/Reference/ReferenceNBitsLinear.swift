/// The semantics of `NBitsLinear` (MatMulNBits), one operation at a time.
extension ReferenceOperators {
    /// One row of A quantized per block for the int8 compute mode, as MLAS's
    /// `QuantizeARow_CompInt8` (AVX-512 and AVX2 variants) does: amax = the largest |a| of the block
    /// (NaN ignored), scale = amax / 127, q = RNE(a · (127 / amax)) (0 when amax is 0; NaN → 0;
    /// clamped to ±127, which only NaN-free rounding never needs), the block padded with zeros.
    /// Also returns each block's Σ q (for the zero points' term).
    public struct BlockQuantizedRow: Sendable, Equatable {
        public var values: [Int8]
        public var scales: [Float]
        public var sums: [Int32]
    }

    public static func quantizeRowPerBlock(_ a: ArraySlice<Float>, blockSize: Int) -> BlockQuantizedRow {
        let k = a.count, blocks = (k + blockSize - 1) / blockSize, start = a.startIndex
        var row = BlockQuantizedRow(values: [Int8](repeating: 0, count: blocks * blockSize), scales: [], sums: [])
        for block in 0..<blocks {
            let first = block * blockSize, count = min(blockSize, k - first)
            var amax: Float = 0
            for i in 0..<count {
                let magnitude = abs(a[start + first + i])
                if magnitude > amax { amax = magnitude }
            }
            let scale = amax / 127
            let inverse: Float = amax != 0 ? 127 / amax : 0
            var sum: Int32 = 0
            for i in 0..<count {
                var t = a[start + first + i] * inverse
                if t.isNaN { t = 0 }
                t = min(max(t, -127), 127)
                let q = Int8(t.rounded(.toNearestOrEven))
                row.values[first + i] = q
                sum += Int32(q)
            }
            row.scales.append(scale)
            row.sums.append(sum)
        }
        return row
    }

    /// `NBitsLinear` on `rows` rows of A [rows, K] with MatMulNBits' inputs (see the type). f32 out
    /// [rows, N].
    public static func nbitsLinear(_ op: NBitsLinear, a: [Float], rows: Int, b: [UInt8], scales: [Float],
                                   zeroPoints: [UInt8]?, bias: [Float]?) -> [Float] {
        let k = op.inputs, n = op.outputs, blocks = op.blocksPerColumn, size = op.blockSize
        var y = [Float](repeating: 0, count: rows * n)
        b.withUnsafeBufferPointer { b in
            zeroPoints.withUnsafeZeroPoints { zp in
                for m in 0..<rows {
                    let row = a[(m * k)..<((m + 1) * k)]
                    let quantized = op.compute == .int8 ? quantizeRowPerBlock(row, blockSize: size) : nil
                    for column in 0..<n {
                        var acc: Float = 0
                        switch op.compute {
                        case .int8:
                            let q = quantized!
                            for block in 0..<blocks {
                                let zero = op.zeroPoint(zp, n: column, block: block)
                                var dot: Int32 = 0
                                for i in 0..<min(size, k - block * size) {
                                    let w = op.quantizedWeight(b, n: column, k: block * size + i)
                                    dot += Int32(q.values[block * size + i]) * Int32(w)
                                }
                                dot -= Int32(zero) * q.sums[block]
                                acc = acc.addingProduct(Float(dot), q.scales[block] * scales[column * blocks + block])
                            }
                        case .f32:
                            for kk in 0..<k {
                                let block = kk / size
                                let w = Float(op.quantizedWeight(b, n: column, k: kk) - op.zeroPoint(zp, n: column, block: block))
                                    * scales[column * blocks + block]
                                acc = acc.addingProduct(row[m * k + kk], w)
                            }
                        }
                        if let bias { acc = acc + bias[column] }
                        y[m * n + column] = op.activation.apply(acc)
                    }
                }
            }
        }
        return y
    }
}

private extension Optional where Wrapped == [UInt8] {
    func withUnsafeZeroPoints<R>(_ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        switch self {
        case .none: body(nil)
        case let .some(array): array.withUnsafeBufferPointer { body($0) }
        }
    }
}
