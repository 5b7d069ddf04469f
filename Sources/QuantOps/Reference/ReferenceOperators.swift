import Foundation

/// The scalar reference interpreter of the operators around the matmul (ARCHITECTURE.md, "Semantics: ONNX as ONNX Runtime computes it"): the
/// definition every kernel is tested bit-exact against. Tensors are raw bytes in their element
/// type, row-major.
public enum ReferenceOperators {
    // MARK: QuantizeLinear / DequantizeLinear

    public static func quantize(_ op: QuantizeLinear, _ x: [Float]) -> [UInt8] {
        let q = op.quantization, range = q.type.integerRange!
        var out = [UInt8](repeating: 0, count: q.count * q.type.byteSize)
        out.withUnsafeMutableBytes { bytes in
            for index in 0..<q.count {
                let p = q.parameterIndex(index)
                let y = QuantArithmetic.quantize(x[index], scale: q.scales[p], zeroPoint: q.zeroPoints[p], range: range)
                q.type.storeInteger(y, bytes, index)
            }
        }
        return out
    }

    public static func dequantize(_ op: DequantizeLinear, _ x: [UInt8]) -> [Float] {
        let q = op.quantization
        return x.withUnsafeBytes { bytes in
            (0..<q.count).map { index in
                let p = q.parameterIndex(index)
                return Float(q.type.loadInteger(bytes, index) - q.zeroPoints[p]) * q.scales[p]
            }
        }
    }

    /// FakeQuantize: (y, mask).
    public static func fakeQuantize(_ op: FakeQuantize, _ x: [Float]) -> (y: [Float], mask: [UInt8]) {
        let q = op.quantization
        var y = [Float](repeating: 0, count: q.count), mask = [UInt8](repeating: 0, count: q.count)
        for index in 0..<q.count { (y[index], mask[index]) = op.apply(x[index], parameter: q.parameterIndex(index)) }
        return (y, mask)
    }

    // MARK: DynamicQuantizeLinear

    /// Returns y (u8) and the parameters (one pair, or one per row).
    public static func dynamicQuantize(_ op: DynamicQuantizeLinear, _ x: [Float]) -> (y: [UInt8], scales: [Float], zeroPoints: [Int32]) {
        dynamicQuantize(x, rows: op.rows, columns: op.columns, perRow: op.perRow)
    }

    /// DynamicQuantizeLinear of a rows × columns matrix (one parameter pair, or one per row).
    public static func dynamicQuantize(_ x: [Float], rows allRows: Int, columns: Int, perRow: Bool) -> (y: [UInt8], scales: [Float], zeroPoints: [Int32]) {
        let rows = perRow ? allRows : 1, length = perRow ? columns : allRows * columns
        var y = [UInt8](repeating: 0, count: allRows * columns)
        var scales: [Float] = [], zeroPoints: [Int32] = []
        for r in 0..<rows {
            let part = x[(r * length)..<((r + 1) * length)]
            var low = Float.infinity, high = -Float.infinity
            for v in part {
                low = v < low ? v : low
                high = v > high ? v : high
            }
            let (scale, zeroPoint) = DynamicQuantizeLinear.parameters(minimum: low, maximum: high)
            scales.append(scale)
            zeroPoints.append(zeroPoint)
            for (i, v) in part.enumerated() {
                y[r * length + i] = UInt8(QuantArithmetic.quantize(v, scale: scale, zeroPoint: zeroPoint, range: 0...255))
            }
        }
        return (y, scales, zeroPoints)
    }

    // MARK: Dynamic quantized linear

    /// f32 A (M×K) → DynamicQuantizeLinear (per tensor or per row) → int8 matmul against B →
    /// the op's output mode (`op.aQuantMode` says which quantization).
    public static func dynamicLinear(_ op: MatMul, a: [Float], b: [UInt8], m: Int, residual: [UInt8]? = nil) -> [UInt8] {
        let (qa, scales, zeroPoints) = dynamicQuantize(a, rows: m, columns: op.k, perRow: op.aQuantMode == .perRowAtRunTime)
        return ReferenceMatMul.run(op, a: qa, b: b, m: m, runTime: RunTimeAQuant(scales: scales, zeroPoints: zeroPoints), residual: residual)
    }

    // MARK: Elementwise

    public static func binary(_ op: QLinearBinary, a: [UInt8], b: [UInt8]) -> [UInt8] {
        let aStrides = op.broadcastStrides(op.aShape), bStrides = op.broadcastStrides(op.bShape)
        var out = [UInt8](repeating: 0, count: op.count)
        var index = [Int](repeating: 0, count: op.shape.count)
        a.withUnsafeBytes { aBytes in
            b.withUnsafeBytes { bBytes in
                for flat in 0..<op.count {
                    var ai = 0, bi = 0
                    for axis in 0..<index.count {
                        ai += index[axis] * aStrides[axis]
                        bi += index[axis] * bStrides[axis]
                    }
                    let y = op.combine(op.type.loadInt8(aBytes, ai), op.type.loadInt8(bBytes, bi))
                    out[flat] = UInt8(truncatingIfNeeded: y)
                    for axis in stride(from: index.count - 1, through: 0, by: -1) {
                        index[axis] += 1
                        if index[axis] < op.shape[axis] { break }
                        index[axis] = 0
                    }
                }
            }
        }
        return out
    }

    /// `F32Linear` on `rows` rows: from the bias, one fused multiply-add per k in increasing k.
    public static func f32Linear(_ op: F32Linear, x: [Float], weights: [Float], bias: [Float]?, rows: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * op.outputs)
        for m in 0..<rows {
            for n in 0..<op.outputs {
                var sum = bias?[n] ?? 0
                for k in 0..<op.inputs { sum = sum.addingProduct(x[m * op.inputs + k], weights[n * op.inputs + k]) }
                y[m * op.outputs + n] = sum
            }
        }
        return y
    }

    public static func lookup(_ op: QuantizedLookup, _ x: [UInt8]) -> [UInt8] {
        let table = op.table
        return x.map { table[Int($0)] }
    }

    // MARK: Convolution

    /// The convolution's output bytes in its layout (direct loops over the definition).
    public static func conv(_ op: Conv2D, x: [UInt8], w: [UInt8], residual: [UInt8]? = nil) -> [UInt8] {
        let oh = op.outputHeight, ow = op.outputWidth, cg = op.groupInChannels, ocg = op.groupOutChannels
        let rows = op.gemmRows, size = op.output.elementType.byteSize
        let xZero = op.xQuant.zeroPoints[0]
        func xIndex(_ n: Int, _ c: Int, _ h: Int, _ wi: Int) -> Int {
            op.layout == .nchw ? ((n * op.inChannels + c) * op.height + h) * op.width + wi
                : ((n * op.height + h) * op.width + wi) * op.inChannels + c
        }
        var out = [UInt8](repeating: 0, count: rows * op.outChannels * size)
        x.withUnsafeBytes { xBytes in
            w.withUnsafeBytes { wBytes in
                for g in 0..<op.groups {
                    let gemm = try! op.groupMatMul(g)
                    var acc = [Int32](repeating: 0, count: rows * ocg)
                    for n in 0..<op.batch {
                        for y in 0..<oh {
                            for xo in 0..<ow {
                                let row = (n * oh + y) * ow + xo
                                for o in 0..<ocg {
                                    let oc = g * ocg + o
                                    let wZero = op.wQuant.zeroPoint(oc)
                                    var sum: Int32 = 0
                                    for c in 0..<cg {
                                        for kh in 0..<op.kernelHeight {
                                            let ih = y * op.strides[0] - op.pads[0] + kh * op.dilations[0]
                                            if ih < 0 || ih >= op.height { continue }
                                            for kw in 0..<op.kernelWidth {
                                                let iw = xo * op.strides[1] - op.pads[1] + kw * op.dilations[1]
                                                if iw < 0 || iw >= op.width { continue }
                                                let xv = op.xType.loadInt8(xBytes, xIndex(n, g * cg + c, ih, iw)) &- xZero
                                                let wv = op.wType.loadInt8(wBytes, ((oc * cg + c) * op.kernelHeight + kh) * op.kernelWidth + kw) &- wZero
                                                sum = sum &+ xv &* wv
                                            }
                                        }
                                    }
                                    acc[row * ocg + o] = sum
                                }
                            }
                        }
                    }
                    // The group's residual columns (NHWC: rows × OC, columns of this group).
                    var groupResidual: [UInt8]? = nil
                    if let residual {
                        var part = [UInt8](repeating: 0, count: rows * ocg)
                        for row in 0..<rows {
                            for o in 0..<ocg { part[row * ocg + o] = residual[row * op.outChannels + g * ocg + o] }
                        }
                        groupResidual = part
                    }
                    let values = ReferenceMatMul.epilogue(gemm, accumulators: acc, m: rows, residual: groupResidual)
                    for row in 0..<rows {
                        for o in 0..<ocg {
                            let oc = g * ocg + o
                            let target: Int
                            if op.layout == .nhwc {
                                target = row * op.outChannels + oc
                            } else {
                                let n = row / (oh * ow), pixel = row % (oh * ow)
                                target = (n * op.outChannels + oc) * oh * ow + pixel
                            }
                            for byte in 0..<size { out[target * size + byte] = values[(row * ocg + o) * size + byte] }
                        }
                    }
                }
            }
        }
        return out
    }
}
