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
        let b = f.b, columns = f.extraInteger, valid = f.extra2Integer
        f.loops.loop("r", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { r, _ in
            let offset = b.mul(r, b.mul(columns, f.const(4)))
            emitRows(f, x: [b.byteOffset(f.x, offset)], y: [b.byteOffset(f.y, offset)], columns: columns, valid: valid)
            return []
        }
        f.finish()
        return f.function
    }

    /// Rows of `columns` floats at `x[r]` into `y[r]` (each may be its x), the first `valid` real
    /// (i64 values), in lockstep: each step of every row before the next step (independent chains
    /// in flight). Also the softmax step of `F32AttentionEmitter`.
    func emitRows(_ f: ElementwiseFunction, x: [IRValue], y: [IRValue], columns: IRValue, valid: IRValue) {
        let b = f.b, context = f.context
        let lanes = LayerNormalization.lanes, rows = x.indices
        let whole = b.mul(b.sdiv(valid, f.const(lanes)), f.const(lanes))
        let negativeInfinity = context.constFloat(-.infinity), zero = context.constFloat(0)

        func larger(_ a: IRValue, _ c: IRValue) -> IRValue { b.select(b.fcmp(.ogt, a, c), a, c) }
        func fold(_ vector: IRValue, _ combine: (IRValue, IRValue) -> IRValue) -> IRValue { f.foldHalves(vector, lanes: lanes, combine) }
        func scaled(_ r: Int, _ index: IRValue) -> IRValue {
            b.fmul(f.loadFloats(x[r], index, width: lanes), f.splat(context.constFloat(op.scale), lanes))
        }
        func exp(_ v: IRValue) -> IRValue { f.math(lanes).exp(v, portable: f.portable) }

        let tailStart = whole, tailCount = b.sub(valid, whole), inTail = f.firstLanes(tailCount, lanes)
        // Whether the partial group's whole vector lies inside the row: then it is read and
        // written as one vector (lanes past `valid` replaced), else through masked loads and
        // stores (a masked load cannot take its bytes from the stores that just wrote them, and
        // waits for them: 3× slower on rows written just before, as attention's scores).
        let roomy = b.icmp(.sle, b.add(whole, f.const(lanes)), columns), empty = b.icmp(.eq, tailCount, f.const(0))
        // v = s·x of the last, partial group: -inf past `valid` (no load when it is empty).
        let tails = rows.map { r -> IRValue in
            let tailX = f.loops.branch("tail.empty", empty) { f.splat(negativeInfinity, lanes) } otherwise: {
                f.loops.branch("tail.load", roomy) {
                    b.select(inTail, f.loadFloats(x[r], tailStart, width: lanes), f.splat(negativeInfinity, lanes))
                } otherwise: {
                    f.loadFloats(x[r], tailStart, width: lanes, count: tailCount, passThrough: f.splat(negativeInfinity, lanes))
                }
            }
            return b.fmul(tailX, f.splat(context.constFloat(op.scale), lanes))
        }
        // The maximum of v (compare-and-select: any order gives the same value; -inf never wins).
        let lanesMax = f.loops.loop("max.v", from: f.const(0), step: Int64(lanes), carried: rows.map { _ in f.splat(negativeInfinity, lanes) },
                                    while: { b.icmp(.slt, $0, whole) }) { c, acc in
            rows.map { larger(scaled($0, c), acc[$0]) }
        }.carried
        let maximum = rows.map { fold(larger(tails[$0], lanesMax[$0]), larger) }
        // e = exp(v - max) into y; Σe: 16 partials (the partial group's lanes past `valid` 0), folded.
        let partials = f.loops.loop("exp.v", from: f.const(0), step: Int64(lanes), carried: rows.map { _ in f.splat(zero, lanes) },
                                    while: { b.icmp(.slt, $0, whole) }) { c, acc in
            rows.map { r in
                let e = exp(b.fsub(scaled(r, c), f.splat(maximum[r], lanes)))
                f.storeFloats(e, y[r], c)
                return b.fadd(acc[r], e)
            }
        }.carried
        let tailE = rows.map { r in b.select(inTail, exp(b.fsub(tails[r], f.splat(maximum[r], lanes))), f.splat(zero, lanes)) }
        let inverse = rows.map { r in b.fdiv(context.constFloat(1), fold(b.fadd(partials[r], tailE[r])) { b.fadd($0, $1) }) }
        f.loops.loop("scale", from: f.const(0), step: Int64(lanes), while: { b.icmp(.slt, $0, whole) }) { c, _ in
            for r in rows { f.storeFloats(b.fmul(f.loadFloats(y[r], c, width: lanes), f.splat(inverse[r], lanes)), y[r], c) }
            return []
        }
        // The partial group (zeros past `valid`), then zeros up to `columns`.
        let tailY = rows.map { r in b.select(inTail, b.fmul(tailE[r], f.splat(inverse[r], lanes)), f.splat(zero, lanes)) }
        let padFrom = f.loops.branch("tail.none", empty) { valid } otherwise: {
            f.loops.branch("tail.store", roomy) {
                for r in rows { f.storeFloats(tailY[r], y[r], tailStart) }
                return b.add(whole, f.const(lanes))
            } otherwise: {
                for r in rows { f.storeFloats(tailY[r], y[r], tailStart, width: lanes, count: tailCount) }
                return valid
            }
        }
        f.loops.loop("pad", from: padFrom, step: Int64(lanes), while: { b.icmp(.slt, $0, columns) }) { c, _ in
            for r in rows { f.storeFloats(f.splat(zero, lanes), y[r], c, width: lanes, count: b.sub(columns, c)) }
            return []
        }
    }
}
