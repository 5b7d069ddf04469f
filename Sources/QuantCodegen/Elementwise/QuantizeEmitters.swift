import LLVMKit
import QuantOps
import QuantSchedule

/// QuantizeLinear and DequantizeLinear kernels: the tensor as [outer, channels, inner] around the
/// axis; for each (outer, channel) the parameter row starts at
/// `o·outerStride + (c / blockSize)·channelStride`, and the inner loop runs in vectors, with the
/// parameters splat (inner stride 0) or loaded as vectors (inner stride 1). Per-axis
/// quantization of the last axis is turned around (one row per outer index, parameters along it)
/// so that it vectorizes too. x = input, y = output; the whole tensor per call. Fake quantization
/// writes y = dequantize(quantize(x)) (f32) and its gradient mask (bytes) to `extra`.
struct QuantizeLinearEmitter {
    enum Direction { case quantize, dequantize, fakeQuantize }

    let quantization: AxisQuantization
    let direction: Direction

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let q = quantization, b = f.b, context = f.context
        var (outer, channels, inner) = q.outerChannelsInner
        var strides = q.parameterStrides
        var blockSize = max(q.blockSize, 1)
        if q.axis != nil && q.blockSize == 0 && inner == 1 {
            // Per-axis on the last axis: rows of `channels` elements with parameters along the row.
            (outer, channels, inner) = (outer, 1, channels)
            strides = (0, 0, 1)
            blockSize = 1
        }
        let scales = f.constantArray("scales", floats: q.scales)
        let zeroPoints = f.constantArray("zero.points", ints: q.zeroPoints)
        let range = q.type.integerRange!
        f.loops.loop("o", from: f.const(0), step: 1, while: { b.icmp(.slt, $0, f.const(outer)) }) { o, _ in
            f.loops.loop("c", from: f.const(0), step: 1, while: { b.icmp(.slt, $0, f.const(channels)) }) { c, _ in
                let parameterRow = b.add(b.mul(o, f.const(strides.outer)),
                                         b.mul(b.sdiv(c, f.const(blockSize)), f.const(strides.channel)))
                let rowStart = b.mul(b.add(b.mul(o, f.const(channels)), c), f.const(inner))
                f.vectorLoop("i", from: f.const(0), to: f.const(inner)) { i, width in
                    let scale: IRValue, zeroPoint: IRValue
                    if strides.inner == 0 {
                        scale = f.splat(b.load(context.f32, from: b.byteOffset(scales, b.mul(parameterRow, f.const(4))), align: 4), width)
                        zeroPoint = f.splat(b.load(context.i32, from: b.byteOffset(zeroPoints, b.mul(parameterRow, f.const(4))), align: 4), width)
                    } else {
                        scale = f.loadArray(scales, context.f32, b.add(parameterRow, i), width: width)
                        zeroPoint = f.loadArray(zeroPoints, context.i32, b.add(parameterRow, i), width: width)
                    }
                    let index = b.add(rowStart, i)
                    switch direction {
                    case .quantize:
                        let values = f.loadFloats(f.x, index, width: width)
                        f.storeInts(f.quantize(values, scale: scale, zeroPoint: zeroPoint, range: range, width: width), q.type, f.y, index, width: width)
                    case .dequantize:
                        let values = b.sub(f.loadInts(q.type, f.x, index, width: width), zeroPoint)
                        f.storeFloats(b.fmul(b.sitofp(values, to: context.vector(context.f32, width)), scale), f.y, index)
                    case .fakeQuantize:
                        let floats = context.vector(context.f32, width)
                        let values = f.loadFloats(f.x, index, width: width)
                        let quantized = f.quantize(values, scale: scale, zeroPoint: zeroPoint, range: range, width: width)
                        f.storeFloats(b.fmul(b.sitofp(b.sub(quantized, zeroPoint), to: floats), scale), f.y, index)
                        // The mask: RNE(x / scale) within [qmin - zp, qmax - zp] (false for NaN).
                        let rounded = f.math(width).roundHalfToEven(b.fdiv(values, scale), portable: f.portable)
                        let lower = b.sitofp(b.sub(f.splatInt(range.lowerBound, width), zeroPoint), to: floats)
                        let upper = b.sitofp(b.sub(f.splatInt(range.upperBound, width), zeroPoint), to: floats)
                        let inside = b.and(b.fcmp(.oge, rounded, lower), b.fcmp(.ole, rounded, upper))
                        let mask = b.zext(inside, to: context.vector(context.i8, width))
                        b.store(mask, to: b.byteOffset(f.extra, index), align: 1)
                    }
                }
                return []
            }
            return []
        }
        f.finish()
        return f.function
    }
}

/// DynamicQuantizeLinear over rows [begin, end) of `columns` elements: per row (one parameter
/// pair per row r, stored at index r) or per tensor (the rows together, one pair at index 0).
/// A vector min/max pass, ONNX's parameters in scalar float32 (the reference's operations), the
/// scales to `extra` and the zero points (int32) to `extra2`, then — unless only the parameters
/// are wanted — the quantizing pass into y.
struct DynamicQuantizeEmitter {
    let columns: Int
    let perRow: Bool
    let writesOutput: Bool

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b
        if perRow {
            f.loops.loop("r", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { r, _ in
                let start = b.mul(r, f.const(columns))
                quantize(f, from: start, to: b.add(start, f.const(columns)), parameterIndex: r)
                return []
            }
        } else {
            quantize(f, from: b.mul(f.begin, f.const(columns)), to: b.mul(f.end, f.const(columns)), parameterIndex: f.const(0))
        }
        f.finish()
        return f.function
    }

    /// Elements [from, to) share one parameter pair, stored at `parameterIndex`.
    private func quantize(_ f: ElementwiseFunction, from: IRValue, to: IRValue, parameterIndex: IRValue) {
        let b = f.b, context = f.context, f32 = context.f32
        func float(_ x: Float) -> IRValue { context.constFloat(x) }
        // min / max: vector accumulators, then reduced (min and max are exact in any order).
        let lanes = f.lanes
        let infinity = context.constVector(Array(repeating: float(.infinity), count: lanes))
        let negativeInfinity = context.constVector(Array(repeating: float(-.infinity), count: lanes))
        let main = f.loops.loop("mm.v", from: from, step: Int64(lanes), carried: [infinity, negativeInfinity],
                                while: { b.icmp(.sle, b.add($0, f.const(lanes)), to) }) { i, acc in
            let v = f.loadFloats(f.x, i, width: lanes)
            return [b.select(b.fcmp(.olt, v, acc[0]), v, acc[0]), b.select(b.fcmp(.ogt, v, acc[1]), v, acc[1])]
        }
        var low = float(.infinity), high = float(-.infinity)
        for lane in 0..<lanes {
            let l = b.extractElement(main.carried[0], lane), h = b.extractElement(main.carried[1], lane)
            low = b.select(b.fcmp(.olt, l, low), l, low)
            high = b.select(b.fcmp(.ogt, h, high), h, high)
        }
        let tail = f.loops.loop("mm.s", from: main.iv, step: 1, carried: [low, high], while: { b.icmp(.slt, $0, to) }) { i, acc in
            let v = b.load(f32, from: b.byteOffset(f.x, b.mul(i, f.const(4))), align: 4)
            return [b.select(b.fcmp(.olt, v, acc[0]), v, acc[0]), b.select(b.fcmp(.ogt, v, acc[1]), v, acc[1])]
        }
        // DynamicQuantizeLinear.parameters, operation for operation.
        low = b.select(b.fcmp(.olt, tail.carried[0], float(0)), tail.carried[0], float(0))
        high = b.select(b.fcmp(.ogt, tail.carried[1], float(0)), tail.carried[1], float(0))
        let range = b.fdiv(b.fsub(high, low), float(255))
        let scale = b.select(b.fcmp(.oeq, high, low), float(1), range)
        let initial = b.fsub(float(0), b.fdiv(low, scale))
        var clamped = b.select(b.fcmp(.ogt, initial, float(255)), float(255), initial)
        clamped = b.select(b.fcmp(.olt, initial, float(0)), float(0), clamped)
        let rounded = b.extractElement(f.math(1).roundHalfToEven(b.splat(clamped, count: 1), portable: f.portable), 0)
        let zeroPoint = b.fptosi(rounded, to: context.i32)
        b.store(scale, to: b.byteOffset(f.extra, b.mul(parameterIndex, f.const(4))), align: 4)
        b.store(zeroPoint, to: b.byteOffset(f.extra2, b.mul(parameterIndex, f.const(4))), align: 4)
        guard writesOutput else { return }
        f.vectorLoop("q", from: from, to: to) { i, width in
            let values = f.loadFloats(f.x, i, width: width)
            let q = f.quantize(values, scale: f.splat(scale, width), zeroPoint: f.splat(zeroPoint, width), range: 0...255, width: width)
            f.storeInts(q, .u8, f.y, i, width: width)
        }
    }
}
