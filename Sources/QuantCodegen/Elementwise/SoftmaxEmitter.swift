import LLVMKit
import QuantOps
import QuantSchedule

/// Emits `Softmax` over rows [begin, end): x = input rows, y = output rows (may be x), extra = the
/// row length, extra2 = the valid columns (integers). 16-lane f32 vectors on every ISA, so the
/// sum is the reference's: groups of 16 valid columns into 16 partials folded by halves. The last,
/// partial group runs as one vector too, through masked loads and stores (-inf past `valid` for
/// the maximum, its exponentials masked to 0 for the sum).
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
            let rowStart = b.mul(r, columns), tailStart = b.add(rowStart, whole)
            let tailCount = b.sub(valid, whole), inTail = f.firstLanes(tailCount, lanes)
            // Whether the partial group's whole vector lies inside the row: then it is read and
            // written as one vector (lanes past `valid` replaced), else through masked loads and
            // stores (a masked load cannot take its bytes from the stores that just wrote them, and
            // waits for them: 3× slower on rows written just before, as attention's scores).
            let roomy = b.icmp(.sle, b.add(whole, f.const(lanes)), columns), empty = b.icmp(.eq, tailCount, f.const(0))
            // v = s·x of the last, partial group: -inf past `valid` (no load when it is empty).
            let tailX = f.loops.branch("tail.empty", empty) { f.splat(negativeInfinity, lanes) } otherwise: {
                f.loops.branch("tail.load", roomy) {
                    b.select(inTail, f.loadFloats(f.x, tailStart, width: lanes), f.splat(negativeInfinity, lanes))
                } otherwise: {
                    f.loadFloats(f.x, tailStart, width: lanes, count: tailCount, passThrough: f.splat(negativeInfinity, lanes))
                }
            }
            let tail = b.fmul(tailX, f.splat(context.constFloat(op.scale), lanes))
            // The maximum of v (compare-and-select: any order gives the same value; -inf never wins).
            let lanesMax = f.loops.loop("max.v", from: f.const(0), step: Int64(lanes), carried: [f.splat(negativeInfinity, lanes)],
                                        while: { b.icmp(.slt, $0, whole) }) { c, acc in
                [larger(scaled(b.add(rowStart, c), lanes), acc[0])]
            }.carried[0]
            let maximum = fold(larger(tail, lanesMax), larger)
            // e = exp(v - max) into y; Σe: 16 partials (the partial group's lanes past `valid` 0), folded.
            let partials = f.loops.loop("exp.v", from: f.const(0), step: Int64(lanes), carried: [f.splat(zero, lanes)],
                                        while: { b.icmp(.slt, $0, whole) }) { c, acc in
                let index = b.add(rowStart, c)
                let e = exp(b.fsub(scaled(index, lanes), f.splat(maximum, lanes)), lanes)
                f.storeFloats(e, f.y, index)
                return [b.fadd(acc[0], e)]
            }.carried[0]
            let tailE = b.select(inTail, exp(b.fsub(tail, f.splat(maximum, lanes)), lanes), f.splat(zero, lanes))
            let total = fold(b.fadd(partials, tailE)) { b.fadd($0, $1) }
            let inverse = b.fdiv(context.constFloat(1), total)
            f.loops.loop("scale", from: f.const(0), step: Int64(lanes), while: { b.icmp(.slt, $0, whole) }) { c, _ in
                let index = b.add(rowStart, c)
                f.storeFloats(b.fmul(f.loadFloats(f.y, index, width: lanes), f.splat(inverse, lanes)), f.y, index)
                return []
            }
            // The partial group (zeros past `valid`), then zeros up to `columns`.
            let tailY = b.select(inTail, b.fmul(tailE, f.splat(inverse, lanes)), f.splat(zero, lanes))
            let padFrom = f.loops.branch("tail.none", empty) { valid } otherwise: {
                f.loops.branch("tail.store", roomy) {
                    f.storeFloats(tailY, f.y, tailStart)
                    return b.add(whole, f.const(lanes))
                } otherwise: {
                    f.storeFloats(tailY, f.y, tailStart, width: lanes, count: tailCount)
                    return valid
                }
            }
            f.loops.loop("pad", from: padFrom, step: Int64(lanes), while: { b.icmp(.slt, $0, columns) }) { c, _ in
                f.storeFloats(f.splat(zero, lanes), f.y, b.add(rowStart, c), width: lanes, count: b.sub(columns, c))
                return []
            }
            return []
        }
        f.finish()
        return f.function
    }
}
