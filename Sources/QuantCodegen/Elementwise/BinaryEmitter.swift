import LLVMKit
import QuantOps
import QuantSchedule

/// QLinearAdd / QLinearMul with broadcasting: the output's dimensions are merged where both
/// inputs stay contiguous, the outer dimensions become loops with compile-time strides, and the
/// innermost runs in vectors with each input either loaded (stride 1) or splat (stride 0).
/// x = A, x2 = B, y = Y; the whole tensor per call.
struct BinaryEmitter {
    let op: QLinearBinary

    /// (shape, A strides, B strides) with mergeable adjacent dimensions merged.
    static func collapsed(_ op: QLinearBinary) -> (shape: [Int], a: [Int], b: [Int]) {
        var shape = op.shape.isEmpty ? [1] : op.shape
        var a = op.shape.isEmpty ? [0] : op.broadcastStrides(op.aShape)
        var b = op.shape.isEmpty ? [0] : op.broadcastStrides(op.bShape)
        var axis = shape.count - 2
        while axis >= 0 {
            let inner = shape[axis + 1]
            if a[axis] == a[axis + 1] * inner && b[axis] == b[axis + 1] * inner {
                shape[axis] *= inner
                a[axis] = a[axis + 1]
                b[axis] = b[axis + 1]
                shape.remove(at: axis + 1)
                a.remove(at: axis + 1)
                b.remove(at: axis + 1)
            }
            axis -= 1
        }
        return (shape, a, b)
    }

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b, context = f.context
        let (shape, aStrides, bStrides) = Self.collapsed(op)
        let (ratioA, ratioB) = op.ratios
        let range = op.type.integerRange!
        func nest(_ axis: Int, aOffset: IRValue, bOffset: IRValue, yOffset: IRValue) {
            let yStride = shape[(axis + 1)...].reduce(1, *)
            if axis < shape.count - 1 {
                f.loops.loop("d\(axis)", from: f.const(0), step: 1, while: { b.icmp(.slt, $0, f.const(shape[axis])) }) { i, _ in
                    nest(axis + 1, aOffset: b.add(aOffset, b.mul(i, f.const(aStrides[axis]))),
                         bOffset: b.add(bOffset, b.mul(i, f.const(bStrides[axis]))), yOffset: b.add(yOffset, b.mul(i, f.const(yStride))))
                    return []
                }
                return
            }
            f.vectorLoop("i", from: f.const(0), to: f.const(shape[axis])) { i, width in
                func operand(_ base: IRValue, _ offset: IRValue, _ stride: Int, _ zeroPoint: Int32) -> IRValue {
                    let values = stride == 0
                        ? f.splat(b.extractElement(f.loadInts(op.type, base, offset, width: 1), 0), width)
                        : f.loadInts(op.type, base, b.add(offset, i), width: width)
                    return b.sub(values, f.splatInt(zeroPoint, width))
                }
                let a = operand(f.x, aOffset, aStrides[axis], op.aQuant.zeroPoints[0])
                let bb = operand(f.x2, bOffset, bStrides[axis], op.bQuant.zeroPoints[0])
                let floats = context.vector(context.f32, width)
                let math = f.math(width)
                let value: IRValue = switch op.kind {
                case .add: b.fadd(b.fmul(math.splat(ratioA), b.sitofp(a, to: floats)), b.fmul(math.splat(ratioB), b.sitofp(bb, to: floats)))
                case .mul: b.fmul(b.sitofp(b.mul(a, bb), to: floats), math.splat(ratioA))
                }
                let zeroPoint = op.yQuant.zeroPoints[0]
                let q = math.saturatingRound(value, zeroPoint: f.splatInt(zeroPoint, width),
                                             lowerMinusZero: math.splat(Float(range.lowerBound - zeroPoint)),
                                             upperMinusZero: math.splat(Float(range.upperBound - zeroPoint)), portable: f.portable)
                f.storeInts(q, op.type, f.y, b.add(yOffset, i), width: width)
            }
        }
        nest(0, aOffset: f.const(0), bOffset: f.const(0), yOffset: f.const(0))
        f.finish()
        return f.function
    }
}

/// A 256-entry lookup (`QuantizedLookup`): `y[i] = table[x[i]]` over elements [begin, end).
struct LookupEmitter {
    let op: QuantizedLookup

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b, context = f.context
        let table = module.addConstant("table", context.constArray(context.i8, op.table.map { context.constInt(context.i8, Int64($0)) }))
        f.loops.loop("i", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { i, _ in
            let byte = b.load(context.i8, from: b.byteOffset(f.x, i), align: 1)
            let value = b.load(context.i8, from: b.byteOffset(table, b.zext(byte, to: f.i64)), align: 1)
            b.store(value, to: b.byteOffset(f.y, i), align: 1)
            return []
        }
        f.finish()
        return f.function
    }
}

/// `BiasActivation` over rows [begin, end): bias vectors loaded per column block, the activation
/// through `VectorMath` (the same operations as the reference). x = input, y = output.
struct BiasActivationEmitter {
    let op: BiasActivation

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b, context = f.context
        let bias = op.bias.map { f.constantArray("bias", floats: $0) }
        f.loops.loop("r", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { r, _ in
            let rowStart = b.mul(r, f.const(op.columns))
            f.vectorLoop("c", from: f.const(0), to: f.const(op.columns)) { c, width in
                let index = b.add(rowStart, c)
                var value = f.loadFloats(f.x, index, width: width)
                if let bias { value = b.fadd(value, f.loadArray(bias, context.f32, c, width: width)) }
                f.storeFloats(f.math(width).apply(op.activation, value), f.y, index)
            }
            return []
        }
        f.finish()
        return f.function
    }
}
