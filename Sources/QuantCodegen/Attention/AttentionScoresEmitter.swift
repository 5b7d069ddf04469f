import LLVMKit
import QuantOps
import QuantSchedule

/// Emits `QuantizedAttention`'s first kernel over heads [begin, end): x = the QKV rows (f32),
/// y = the scratch (written), extra = the `AttentionScratch` header, extra2 = the scores (f32,
/// heads × L rows of `keyColumns`). Per head: quantizes every token's Q, K and V (step 1) into the
/// scratch — Q as rows, K straight into the instruction's B layout, V as rows then interleaved into
/// it — then computes `s[i, j] = float(qQ_i · qK_j) · (scaleQ_i · scaleK_j)` (step 2) in tiles of 4
/// query rows × 2 vectors of key columns with the table's dot-product instruction (Q broadcast as
/// the A operand, sign-flipped with a −128·Σ_k qK compensation where the instruction reads A
/// unsigned).
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

            // Step 2: the scores, a tile of `rows` query rows × `vectors` vectors of keys at a time
            // (each key vector loaded once per K group for all the tile's rows; the padding keys are
            // zeros): tiles of 4 rows × 2 vectors, then the leftover vector and rows one at a time.
            let accumulator = dot.accumulatorType
            func tile(_ i: IRValue, rows: Int, _ j: IRValue, vectors: Int) {
                let qRows = (0..<rows).map { r in b.byteOffset(quantizedQ, b.mul(b.add(i, f.const(r)), f.const(d))) }
                let zero = context.null(accumulator)
                let acc = f.loops.loop("k", from: f.const(0), step: 1, carried: Array(repeating: zero, count: rows * vectors),
                                       while: { b.icmp(.slt, $0, f.const(d / group)) }) { g, values in
                    var values = values
                    let keys = (0..<vectors).map { v in
                        dot.loadB(b, at: b.byteOffset(packedK, b.mul(b.add(b.mul(g, keyColumns), b.add(j, f.const(v * columns))), f.const(group))))
                    }
                    for r in 0..<rows {
                        let a = dot.loadA(b, at: b.byteOffset(qRows[r], b.mul(g, f.const(group))), validBytes: group, flipSign: flipQ, signed: true)
                        for v in 0..<vectors { values[r * vectors + v] = dot.dot(b, values[r * vectors + v], a, keys[v]) }
                    }
                    return values
                }.carried
                for r in 0..<rows {
                    let row = b.add(i, f.const(r))
                    let scaleQ = b.load(f32, from: b.byteOffset(scalesQ, b.mul(row, f.const(4))), align: 4)
                    let scoreRow = b.byteOffset(f.extra2, b.mul(b.mul(b.add(b.mul(head, length), row), keyColumns), f.const(4)))
                    for v in 0..<vectors {
                        let column = b.add(j, f.const(v * columns))
                        var total = acc[r * vectors + v]
                        if flipQ {
                            let sums = b.load(accumulator, from: b.byteOffset(sumsK, b.mul(column, f.const(4))), align: 4)
                            total = b.sub(total, b.mul(sums, f.splatInt(128, columns)))
                        }
                        let scalesK = b.load(context.vector(f32, columns), from: b.byteOffset(scalesK, b.mul(column, f.const(4))), align: 4)
                        let scores = b.fmul(b.sitofp(total, to: context.vector(f32, columns)), b.fmul(f.splat(scaleQ, columns), scalesK))
                        b.store(scores, to: b.byteOffset(scoreRow, b.mul(column, f.const(4))), align: 4)
                    }
                }
            }
            /// Rows [from, to) in tiles of `rows`, each against every key vector (pairs, then one).
            func rowTiles(from: IRValue, to: IRValue, rows: Int) -> IRValue {
                f.loops.loop("i\(rows)", from: from, step: Int64(rows), while: { b.icmp(.sle, b.add($0, f.const(rows)), to) }) { i, _ in
                    let pairs = f.loops.loop("j2", from: f.const(0), step: Int64(2 * columns),
                                             while: { b.icmp(.sle, b.add($0, f.const(2 * columns)), keyColumns) }) { j, _ in
                        tile(i, rows: rows, j, vectors: 2)
                        return []
                    }.iv
                    f.loops.loop("j1", from: pairs, step: Int64(columns), while: { b.icmp(.slt, $0, keyColumns) }) { j, _ in
                        tile(i, rows: rows, j, vectors: 1)
                        return []
                    }
                    return []
                }.iv
            }
            let leftover = rowTiles(from: f.const(0), to: length, rows: 4)
            _ = rowTiles(from: leftover, to: length, rows: 1)
            return []
        }
        f.finish()
        return f.function
    }
}
