import LLVMKit
import QuantOps
import QuantSchedule

/// Emits `Softmax` over rows [begin, end): x = input rows, y = output rows (may be x), extra = the
/// row length, extra2 = the valid columns (integers). 16-lane f32 vectors on every ISA, so the
/// sum is the reference's: whole groups of 16 valid columns into 16 partials folded by halves, then
/// the tail one at a time.
struct SoftmaxEmitter {
    let op: Softmax

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b, context = f.context
        let lanes = LayerNormalization.lanes
        let columns = f.extraInteger, valid = f.extra2Integer
        let whole = b.mul(b.sdiv(valid, f.const(lanes)), f.const(lanes))
        let negativeInfinity = context.constFloat(-.infinity), zero = context.constFloat(0)

        func larger(_ a: IRValue, _ c: IRValue) -> IRValue { b.select(b.fcmp(.ogt, a, c), a, c) }
        func fold(_ vector: IRValue, _ combine: (IRValue, IRValue) -> IRValue) -> IRValue { f.foldHalves(vector, lanes: lanes, combine) }
        func scaled(_ index: IRValue, _ width: Int) -> IRValue {
            b.fmul(f.loadFloats(f.x, index, width: width), f.splat(context.constFloat(op.scale), width))
        }
        func exp(_ v: IRValue, _ width: Int) -> IRValue { f.math(width).exp(v, portable: f.portable) }

        f.loops.loop("r", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { r, _ in
            let rowStart = b.mul(r, columns)
            // The maximum of v = s·x (compare-and-select: any order gives the same value).
            let lanesMax = f.loops.loop("max.v", from: f.const(0), step: Int64(lanes), carried: [f.splat(negativeInfinity, lanes)],
                                        while: { b.icmp(.slt, $0, whole) }) { c, acc in
                [larger(scaled(b.add(rowStart, c), lanes), acc[0])]
            }.carried[0]
            let maximum = f.loops.loop("max.s", from: whole, step: 1, carried: [fold(lanesMax, larger)],
                                       while: { b.icmp(.slt, $0, valid) }) { c, acc in
                [larger(b.extractElement(scaled(b.add(rowStart, c), 1), 0), acc[0])]
            }.carried[0]
            // e = exp(v - max) into y; Σe: 16 partials, folded, then the tail.
            let partials = f.loops.loop("exp.v", from: f.const(0), step: Int64(lanes), carried: [f.splat(zero, lanes)],
                                        while: { b.icmp(.slt, $0, whole) }) { c, acc in
                let index = b.add(rowStart, c)
                let e = exp(b.fsub(scaled(index, lanes), f.splat(maximum, lanes)), lanes)
                f.storeFloats(e, f.y, index)
                return [b.fadd(acc[0], e)]
            }.carried[0]
            let total = f.loops.loop("exp.s", from: whole, step: 1, carried: [fold(partials) { b.fadd($0, $1) }],
                                     while: { b.icmp(.slt, $0, valid) }) { c, acc in
                let index = b.add(rowStart, c)
                let e = exp(b.fsub(scaled(index, 1), f.splat(maximum, 1)), 1)
                f.storeFloats(e, f.y, index)
                return [b.fadd(acc[0], b.extractElement(e, 0))]
            }.carried[0]
            let inverse = b.fdiv(context.constFloat(1), total)
            f.vectorLoop("scale", from: f.const(0), to: valid, lanes: lanes) { c, width in
                let index = b.add(rowStart, c)
                f.storeFloats(b.fmul(f.loadFloats(f.y, index, width: width), f.splat(inverse, width)), f.y, index)
            }
            f.vectorLoop("pad", from: valid, to: columns, lanes: lanes) { c, width in
                f.storeFloats(context.constVector(Array(repeating: zero, count: width)), f.y, b.add(rowStart, c))
            }
            return []
        }
        f.finish()
        return f.function
    }
}
