/// The scalar reference interpreter for `MatMul`: the definition of its semantics (ONNX, as ONNX
/// Runtime computes it; DESIGN.md §5). Every kernel is tested bit-exact against it.
///
/// All buffers are raw bytes, row-major: A is M×K with row stride `lda`, B is K×N with row stride
/// `ldb` (elements), and the result is M×N contiguous in the output's element type.
public enum ReferenceMatMul {
    /// `acc[m][n] = Σ_k (A[m,k] - a_zp) · (B[k,n] - b_zp[n])` in wrapping int32 arithmetic.
    public static func accumulators(_ op: MatMul, a: UnsafeRawBufferPointer, lda: Int,
                                    b: UnsafeRawBufferPointer, ldb: Int, m: Int) -> [Int32] {
        let k = op.k, n = op.n
        let aZero = op.aQuant.zeroPoints[0]
        var acc = [Int32](repeating: 0, count: m * n)
        // B - b_zp once, transposed to columns, so that the inner loop is contiguous.
        var bColumns = [Int32](repeating: 0, count: k * n)
        for kk in 0..<k {
            for j in 0..<n { bColumns[j * k + kk] = op.bType.loadInt8(b, kk * ldb + j) &- op.bQuant.zeroPoint(j) }
        }
        var aRow = [Int32](repeating: 0, count: k)
        for i in 0..<m {
            for kk in 0..<k { aRow[kk] = op.aType.loadInt8(a, i * lda + kk) &- aZero }
            for j in 0..<n {
                var sum: Int32 = 0
                let base = j * k
                for kk in 0..<k { sum = sum &+ aRow[kk] &* bColumns[base + kk] }
                acc[i * n + j] = sum
            }
        }
        return acc
    }

    /// The whole operator: accumulators, then the output mode's epilogue. Returns C's bytes.
    public static func run(_ op: MatMul, a: [UInt8], lda: Int? = nil, b: [UInt8], ldb: Int? = nil, m: Int) -> [UInt8] {
        let acc = a.withUnsafeBytes { aBytes in
            b.withUnsafeBytes { bBytes in
                accumulators(op, a: aBytes, lda: lda ?? op.k, b: bBytes, ldb: ldb ?? op.n, m: m)
            }
        }
        return epilogue(op, accumulators: acc, m: m)
    }

    /// Applies the output mode to accumulators (M×N) and returns the output's bytes.
    public static func epilogue(_ op: MatMul, accumulators acc: [Int32], m: Int) -> [UInt8] {
        let n = op.n
        switch op.output {
        case .int32:
            return acc.withUnsafeBytes { Array($0) }
        case let .requantized(r):
            let bounds = op.requantizedBounds!
            let zeroPoint = r.output.zeroPoints[0]
            var out = [UInt8](repeating: 0, count: m * n)
            for j in 0..<n {
                let multiplier = op.outputMultiplier(column: j)
                let bias = r.bias?[j] ?? 0
                for i in 0..<m {
                    let value = Float(acc[i * n + j] &+ bias) * multiplier
                    let q = QuantArithmetic.saturatingRound(value, zeroPoint: zeroPoint, range: bounds)
                    out[i * n + j] = UInt8(truncatingIfNeeded: q)
                }
            }
            return out
        case let .dequantized(d):
            let (lower, upper) = d.activation.realBounds
            var out = [Float](repeating: 0, count: m * n)
            for j in 0..<n {
                let multiplier = op.outputMultiplier(column: j)
                let bias = d.bias?[j] ?? 0
                for i in 0..<m {
                    var y = Float(acc[i * n + j]) * multiplier + bias
                    y = y < lower ? lower : y
                    y = y > upper ? upper : y
                    out[i * n + j] = y
                }
            }
            return out.withUnsafeBytes { Array($0) }
        }
    }
}
