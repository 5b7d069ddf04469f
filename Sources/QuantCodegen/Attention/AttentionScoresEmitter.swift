import LLVMKit
import QuantOps
import QuantSchedule

/// Emits `QuantizedAttention`'s first kernel over heads [begin, end): x = the QKV rows (f32),
/// y = the scratch (written), extra = the `AttentionScratch` header, extra2 = the scores (f32,
/// heads × L rows of `keyColumns`). Per head: quantizes every token's Q, K and V (step 1) into the scratch — Q as
/// rows, K and V straight into the instruction's B layout — then computes
/// `s[i, j] = float(qQ_i · qK_j) · (scaleQ_i · scaleK_j)` (step 2) a vector of key columns at a time
/// with the table's dot-product instruction (Q broadcast as the A operand, sign-flipped with a
/// −128·Σ_k qK compensation where the instruction reads A unsigned).
struct AttentionScoresEmitter {
    let op: QuantizedAttention

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) throws -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let e = try AttentionEmission(op, f, instruction: instruction, scratch: f.y)
        let b = f.b, context = f.context, dot = e.dot
        let d = op.headSize, heads = op.heads, group = instruction.kGroup, columns = instruction.columnsPerVector
        let width = e.width, flipQ = e.flips(aSigned: true)
        let length = e.field(.length), keyColumns = e.field(.keyColumns), keyDepth = e.field(.keyDepth)
        let i32 = context.i32, f32 = context.f32

        f.loops.loop("head", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { head, _ in
            let region = e.region(head)
            func at(_ field: AttentionScratch.Field) -> IRValue { b.byteOffset(region, e.field(field)) }
            let quantizedQ = at(.quantizedQ), scalesQ = at(.scalesQ), packedK = at(.packedK), scalesK = at(.scalesK)
            let sumsK = at(.sumsK), quantizedV = at(.quantizedV), packedV = at(.packedV), scalesV = at(.scalesV), sumsV = at(.sumsV)
            // Padding columns and tokens must read as zeros.
            b.memset(region, to: context.constInt(context.i8, 0), size: e.field(.headBytes), align: 64)
            let valueColumns = e.valueColumns

            // Step 1: each token's Q, K and V.
            f.loops.loop("token", from: f.const(0), step: 1, while: { b.icmp(.slt, $0, length) }) { t, _ in
                let row = b.byteOffset(f.x, b.mul(b.add(b.mul(t, f.const(op.inputColumns)), b.mul(head, f.const(d))), f.const(4)))
                let q = e.quantizeToken(row)
                for (v, codes) in q.codes.enumerated() {
                    b.store(b.trunc(codes, to: context.vector(context.i8, width)),
                            to: b.byteOffset(quantizedQ, b.add(b.mul(t, f.const(d)), f.const(v * width))), align: 1)
                }
                b.store(q.scale, to: b.byteOffset(scalesQ, b.mul(t, f.const(4))), align: 4)
                // K: the kG bytes of group g of token t at (g · keyColumns + t) · kG, one store each.
                let k = e.quantizeToken(b.byteOffset(row, f.const(4 * heads * d)))
                let word = context.int(bits: 8 * group)
                for (index, codes) in k.codes.enumerated() {
                    let words = b.bitcast(b.trunc(codes, to: context.vector(context.i8, width)), to: context.vector(word, width / group))
                    for lane in 0..<(width / group) {
                        let g = index * width / group + lane
                        let offset = b.mul(b.add(b.mul(f.const(g), keyColumns), t), f.const(group))
                        b.store(b.extractElement(words, lane), to: b.byteOffset(packedK, offset), align: 1)
                    }
                }
                b.store(k.scale, to: b.byteOffset(scalesK, b.mul(t, f.const(4))), align: 4)
                b.store(e.sum(k.codes), to: b.byteOffset(sumsK, b.mul(t, f.const(4))), align: 4)
                // V: rows of codes (interleaved into the B layout below); Σ_t per column.
                let v = e.quantizeToken(b.byteOffset(row, f.const(8 * heads * d)))
                for (index, codes) in v.codes.enumerated() {
                    b.store(b.trunc(codes, to: context.vector(context.i8, width)),
                            to: b.byteOffset(quantizedV, b.add(b.mul(t, f.const(d)), f.const(index * width))), align: 1)
                    let sums = b.byteOffset(sumsV, f.const(4 * index * width))
                    b.store(b.add(b.load(context.vector(i32, width), from: sums, align: 4), codes), to: sums, align: 4)
                }
                b.store(v.scale, to: b.byteOffset(scalesV, b.mul(t, f.const(4))), align: 4)
                return []
            }

            // V's rows interleaved kG tokens at a time: byte (c · kG + r) of group t/kG is token t + r's code c.
            let interleave = (0..<(d * group)).map { index in (index % group) * d + index / group }
            f.loops.loop("v.group", from: f.const(0), step: Int64(group), while: { b.icmp(.slt, $0, keyDepth) }) { t, _ in
                let rows = (0..<group).map { r in
                    b.load(context.vector(context.i8, d), from: b.byteOffset(quantizedV, b.mul(b.add(t, f.const(r)), f.const(d))), align: 1)
                }
                let together = group == 1 ? rows[0] : b.shuffle(b.concat(rows), b.concat(rows), interleave)
                b.store(together, to: b.byteOffset(packedV, b.mul(t, f.const(valueColumns))), align: 1)
                return []
            }

            // Step 2: the scores, row i against `columns` keys at a time (the padding keys are zeros).
            let accumulator = dot.accumulatorType
            f.loops.loop("i", from: f.const(0), step: 1, while: { b.icmp(.slt, $0, length) }) { i, _ in
                let qRow = b.byteOffset(quantizedQ, b.mul(i, f.const(d)))
                let scaleQ = b.load(f32, from: b.byteOffset(scalesQ, b.mul(i, f.const(4))), align: 4)
                let scoreRow = b.byteOffset(f.extra2, b.mul(b.mul(b.add(b.mul(head, length), i), keyColumns), f.const(4)))
                f.loops.loop("j", from: f.const(0), step: Int64(columns), while: { b.icmp(.slt, $0, keyColumns) }) { j, _ in
                    let acc = f.loops.loop("k", from: f.const(0), step: 1, carried: [context.null(accumulator)],
                                           while: { b.icmp(.slt, $0, f.const(d / group)) }) { g, values in
                        let a = dot.loadA(b, at: b.byteOffset(qRow, b.mul(g, f.const(group))), validBytes: group, flipSign: flipQ, signed: true)
                        let keys = dot.loadB(b, at: b.byteOffset(packedK, b.mul(b.add(b.mul(g, keyColumns), j), f.const(group))))
                        return [dot.dot(b, values[0], a, keys)]
                    }.carried[0]
                    var total = acc
                    if flipQ {
                        let sums = b.load(accumulator, from: b.byteOffset(sumsK, b.mul(j, f.const(4))), align: 4)
                        total = b.sub(total, b.mul(sums, f.splatInt(128, columns)))
                    }
                    let scales = b.fmul(f.splat(scaleQ, columns), b.load(context.vector(f32, columns), from: b.byteOffset(scalesK, b.mul(j, f.const(4))), align: 4))
                    let scores = b.fmul(b.sitofp(total, to: context.vector(f32, columns)), scales)
                    b.store(scores, to: b.byteOffset(scoreRow, b.mul(j, f.const(4))), align: 4)
                    return []
                }
                return []
            }
            return []
        }
        f.finish()
        return f.function
    }
}
