/// A's quantization parameters given at run time (dynamic quantization): one scale and zero point
/// for the call, or one per row of A.
public struct RunTimeAQuant: Sendable, Hashable {
    public var scales: [Float]
    public var zeroPoints: [Int32]

    public init(scales: [Float], zeroPoints: [Int32]) {
        self.scales = scales
        self.zeroPoints = zeroPoints
    }

    @inline(__always) func scale(row: Int) -> Float { scales.count == 1 ? scales[0] : scales[row] }
    @inline(__always) func zeroPoint(row: Int) -> Int32 { zeroPoints.count == 1 ? zeroPoints[0] : zeroPoints[row] }

    /// Checks the parameters against an op's mode for `m` rows.
    public func validate(mode: AQuantMode, m: Int) throws(QuantError) {
        let expected = mode == .perRowAtRunTime ? m : 1
        if scales.count != expected || zeroPoints.count != expected {
            throw .channelCountMismatch(field: "A's run-time quantization", expected: expected,
                                        actual: scales.count != expected ? scales.count : zeroPoints.count)
        }
        for (index, scale) in scales.enumerated() where !(scale.isFinite && scale > 0) {
            throw .invalidScale(field: "A's run-time scales", index: index, value: scale)
        }
        for (index, point) in zeroPoints.enumerated() where !(0...255).contains(point) {
            throw .zeroPointOutOfRange(field: "A's run-time zero points", index: index, value: point, type: .u8)
        }
    }
}

/// The scalar reference interpreter for `MatMul`: the definition of its semantics (ONNX, as ONNX
/// Runtime computes it; ARCHITECTURE.md, "Semantics: ONNX as ONNX Runtime computes it"). Every kernel is tested bit-exact against it.
///
/// All buffers are raw bytes, row-major: A is M×K with row stride `lda`, B is K×N with row stride
/// `ldb` (elements), and the result is M×N contiguous in the output's element type.
public enum ReferenceMatMul {
    /// `acc[m][n] = Σ_k (A[m,k] - a_zp) · (B[k,n] - b_zp[n])` in wrapping int32 arithmetic
    /// (`a_zp` from `runTime` when A's parameters are given at run time).
    public static func accumulators(_ op: MatMul, a: UnsafeRawBufferPointer, lda: Int,
                                    b: UnsafeRawBufferPointer, ldb: Int, m: Int, runTime: RunTimeAQuant? = nil) -> [Int32] {
        let k = op.k, n = op.n
        var acc = [Int32](repeating: 0, count: m * n)
        // B - b_zp once, transposed to columns, so that the inner loop is contiguous.
        var bColumns = [Int32](repeating: 0, count: k * n)
        for kk in 0..<k {
            for j in 0..<n { bColumns[j * k + kk] = op.bType.loadInt8(b, kk * ldb + j) &- op.bQuant.zeroPoint(j) }
        }
        var aRow = [Int32](repeating: 0, count: k)
        for i in 0..<m {
            let aZero = runTime?.zeroPoint(row: i) ?? op.aQuant.zeroPoints[0]
            for kk in 0..<k { aRow[kk] = op.quantizedAType.loadInt8(a, i * lda + kk) &- aZero }
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
    /// `runTime` carries A's parameters when the op takes them at run time; `residual` is the
    /// chain's residual tensor (M×N, row stride `ldr`, default N).
    public static func run(_ op: MatMul, a: [UInt8], lda: Int? = nil, b: [UInt8], ldb: Int? = nil, m: Int,
                           runTime: RunTimeAQuant? = nil, residual: [UInt8]? = nil, ldr: Int? = nil) -> [UInt8] {
        let acc = a.withUnsafeBytes { aBytes in
            b.withUnsafeBytes { bBytes in
                accumulators(op, a: aBytes, lda: lda ?? op.k, b: bBytes, ldb: ldb ?? op.n, m: m, runTime: runTime)
            }
        }
        return epilogue(op, accumulators: acc, m: m, runTime: runTime, residual: residual, ldr: ldr)
    }

    /// Applies the output mode to accumulators (M×N) and returns the output's bytes.
    public static func epilogue(_ op: MatMul, accumulators acc: [Int32], m: Int, runTime: RunTimeAQuant? = nil,
                                residual: [UInt8]? = nil, ldr: Int? = nil) -> [UInt8] {
        let n = op.n
        /// The float32 multiplier of row i, column j: `a_scale * b_scale[j]` (run-time a_scale).
        func multiplier(_ i: Int, _ j: Int) -> Float {
            if let runTime { return runTime.scale(row: i) * op.bQuant.scale(j) }
            return op.outputMultiplier(column: j)
        }
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
                let bias = d.bias?[j] ?? 0
                for i in 0..<m {
                    var y = Float(acc[i * n + j]) * multiplier(i, j) + bias
                    y = y < lower ? lower : y
                    y = y > upper ? upper : y
                    out[i * n + j] = y
                }
            }
            return out.withUnsafeBytes { Array($0) }
        case let .chain(chain):
            let residualType = chain.residual?.type, ldr = ldr ?? n
            // A requantizing chain whose last step is GELU folds 1 / y_scale into it.
            var reciprocal: Float = 1, gelu: RealFunctions.ScaledGELU? = nil
            if case let .requantize(_, quant) = chain.output {
                reciprocal = EpilogueChain.reciprocal(quant.scales[0])
                if chain.foldsReciprocalIntoGELU { gelu = RealFunctions.ScaledGELU(scale: reciprocal) }
            }
            var values = [Float](repeating: 0, count: m * n)
            for i in 0..<m {
                for j in 0..<n {
                    let r: Int32 = if let residual, let residualType {
                        residual.withUnsafeBytes { residualType.loadInt8($0, i * ldr + j) }
                    } else { 0 }
                    let value = chain.apply(accumulator: Float(acc[i * n + j]), multiplier: multiplier(i, j), column: j, residual: r,
                                            stepCount: gelu == nil ? chain.steps.count : chain.steps.count - 1)
                    values[i * n + j] = gelu.map { $0(value) } ?? value
                }
            }
            switch chain.output {
            case .dequantize:
                return values.withUnsafeBytes { Array($0) }
            case let .requantize(type, quant):
                return values.map { value in
                    let scaled = gelu == nil ? value * reciprocal : value
                    return UInt8(truncatingIfNeeded: QuantArithmetic.saturatingRound(scaled.isNaN ? 0 : scaled, zeroPoint: quant.zeroPoints[0],
                                                                                     range: type.integerRange!))
                }
            }
        }
    }
}
