import LLVMKit
import QuantOps
import QuantSchedule

/// Emits `F32Attention` over heads [begin, end): x = the QKV rows, x2 = the scratch (per head
/// `scratchFloatsPerHead` f32: Kᵀ, then the score rows of a block of queries), y = the output rows,
/// extra = the sequence length L, extra2 = the valid keys (integers). Per head:
/// 1. K transposed into Kᵀ (`keyColumns` per row; past L the last key again, masked by the
///    softmax; 16 × 16 at a time in registers where a register holds 16 lanes), so that a query's
///    scores over 16 keys are one vector: `s = fma(q[c], Kᵀ[c], s)` for c in order — each lane the
///    reference's chain. Queries go in blocks (independent chains in flight: one chain alone
///    waits on the FMA's latency) as large as half the vector registers hold — `queriesPerBlock`
///    (8) with AVX-512, 4 with AVX2 and NEON, 2 on the portable path; a last, partial block
///    repeats query L - 1.
/// 2. The block's score rows through `SoftmaxEmitter.emitRows` (the `Softmax` operator's code).
/// 3. `out[i] = fma(p[i,j], V[j], out[i])` for j < valid in order, the head's d columns in vectors
///    of 16, 8 or 4 — each lane the reference's chain.
struct F32AttentionEmitter {
    let op: F32Attention

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b, context = f.context
        let d = op.headSize, heads = op.heads, rowFloats = op.inputColumns
        let length = f.extraInteger, valid = f.extra2Integer
        let keyLanes = 16, width = [16, 8, 4].first { d % $0 == 0 }!
        let keyColumns = b.mul(b.sdiv(b.add(length, f.const(keyLanes - 1)), f.const(keyLanes)), f.const(keyLanes))
        let softmax = SoftmaxEmitter(op: op.softmax)
        // f32 lanes of one machine register (the portable path: SSE2 or plain NEON), and the
        // blocks whose accumulators fill half the registers.
        let registerLanes = instruction.isa == .portable ? 4 : instruction.lanes, halfRegisters = instruction.vectorRegisters / 2
        let block = max(1, min(F32Attention.queriesPerBlock, halfRegisters / max(1, keyLanes / registerLanes)))
        let outputVectorsPerGroup = max(1, halfRegisters / (block * max(1, width / registerLanes)))
        let zeros = f.splat(context.constFloat(0), keyLanes)
        /// Byte address of float `index` of `base`.
        func float(_ base: IRValue, _ index: IRValue) -> IRValue { b.byteOffset(base, b.mul(index, f.const(4))) }
        /// Token `t`, or the last one (L - 1) past it.
        let lastToken = b.sub(length, f.const(1))
        func clamped(_ t: IRValue) -> IRValue { b.select(b.icmp(.slt, t, lastToken), t, lastToken) }

        f.loops.loop("head", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { head, _ in
            let region = float(f.x2, b.mul(head, b.mul(keyColumns, f.const(d + F32Attention.queriesPerBlock))))
            let keys = region, scores = float(region, b.mul(keyColumns, f.const(d)))
            /// Float c of token t's part (0 Q, 1 K, 2 V) of this head.
            func input(_ part: Int, _ t: IRValue) -> IRValue {
                float(f.x, b.add(b.mul(t, f.const(rowFloats)), b.add(b.mul(head, f.const(d)), f.const(part * heads * d))))
            }
            // 1. Kᵀ: row c holds k[·, c] (whole vectors of scores read `keyColumns` keys: the lanes
            // past L hold the last key again, and the softmax masks them).
            if registerLanes == keyLanes {
                // 16 keys × 16 columns at a time, transposed in registers.
                f.loops.loop("kt", from: f.const(0), step: Int64(keyLanes), while: { b.icmp(.slt, $0, length) }) { j, _ in
                    let tokens = (0..<keyLanes).map { clamped(b.add(j, f.const($0))) }
                    for c in stride(from: 0, to: d, by: keyLanes) {
                        let count = min(keyLanes, d - c)
                        var rows = tokens.map { t -> IRValue in
                            count == keyLanes ? f.loadFloats(input(1, t), f.const(c), width: keyLanes)
                                : f.loadFloats(input(1, t), f.const(c), width: keyLanes, count: f.const(count), passThrough: zeros)
                        }
                        rows = Self.transposed(rows, b)
                        for r in 0..<count { f.storeFloats(rows[r], float(keys, b.mul(f.const(c + r), keyColumns)), j) }
                    }
                    return []
                }
            } else {
                f.loops.loop("kt", from: f.const(0), step: 1, while: { b.icmp(.slt, $0, keyColumns) }) { t, _ in
                    let k = input(1, clamped(t))
                    for c in stride(from: 0, to: d, by: width) {
                        let values = f.loadFloats(k, f.const(c), width: width)
                        for lane in 0..<width {
                            b.store(b.extractElement(values, lane), to: float(keys, b.add(b.mul(f.const(c + lane), keyColumns), t)), align: 4)
                        }
                    }
                    return []
                }
            }

            /// The block of queries from i (past L: L - 1 again, its results written twice): score
            /// rows, softmax, output rows.
            f.loops.loop("q", from: f.const(0), step: Int64(block), while: { b.icmp(.slt, $0, length) }) { i, _ in
                let query = (0..<block).map { clamped(b.add(i, f.const($0))) }
                let rows = (0..<block).map { r in float(scores, b.mul(f.const(r), keyColumns)) }
                let q = query.map { input(0, $0) }
                let fma16 = f.math(keyLanes)
                f.loops.loop("s", from: f.const(0), step: Int64(keyLanes), while: { b.icmp(.slt, $0, keyColumns) }) { j, _ in
                    var acc = Array(repeating: zeros, count: block)
                    for c in 0..<d {
                        let kc = f.loadFloats(float(keys, b.mul(f.const(c), keyColumns)), j, width: keyLanes)
                        for r in 0..<block {
                            let qc = b.load(context.f32, from: float(q[r], f.const(c)), align: 4)
                            acc[r] = fma16.fma(f.splat(qc, keyLanes), kc, acc[r])
                        }
                    }
                    for r in 0..<block { f.storeFloats(acc[r], rows[r], j) }
                    return []
                }
                softmax.emitRows(f, x: rows, y: rows, columns: keyColumns, valid: valid)
                // Output columns in groups whose accumulators fill half the registers.
                let vectors = d / width, perGroup = outputVectorsPerGroup, fmaW = f.math(width)
                for first in stride(from: 0, to: vectors, by: perGroup) {
                    let group = Array(first..<min(first + perGroup, vectors))
                    let initial = Array(repeating: f.splat(context.constFloat(0), width), count: block * group.count)
                    let out = f.loops.loop("pv", from: f.const(0), step: 1, carried: initial, while: { b.icmp(.slt, $0, valid) }) { j, acc in
                        let v = input(2, j)
                        let values = group.map { f.loadFloats(v, f.const($0 * width), width: width) }
                        var next = acc
                        for r in 0..<block {
                            let p = f.splat(b.load(context.f32, from: float(rows[r], j), align: 4), width)
                            for u in group.indices { next[r * group.count + u] = fmaW.fma(p, values[u], acc[r * group.count + u]) }
                        }
                        return next
                    }.carried
                    for r in 0..<block {
                        let row = float(f.y, b.add(b.mul(query[r], f.const(op.outputColumns)), b.mul(head, f.const(d))))
                        for (u, vector) in group.enumerated() { f.storeFloats(out[r * group.count + u], row, f.const(vector * width)) }
                    }
                }
                return []
            }
            return []
        }
        f.finish()
        return f.function
    }

    /// 16 vectors of 16 lanes transposed (lane l of vector i ← lane i of vector l): for each bit h
    /// of the index, the vectors i and i + h (bit h clear) exchange their lanes with bit h set and
    /// clear — 64 two-vector shuffles.
    static func transposed(_ vectors: [IRValue], _ b: IRBuilder) -> [IRValue] {
        var rows = vectors
        for h in [8, 4, 2, 1] {
            for i in rows.indices where i & h == 0 {
                let low = (0..<16).map { l in l & h == 0 ? l : 16 + l - h }
                let high = (0..<16).map { l in l & h == 0 ? l + h : 16 + l }
                (rows[i], rows[i + h]) = (b.shuffle(rows[i], rows[i + h], low), b.shuffle(rows[i], rows[i + h], high))
            }
        }
        return rows
    }
}
