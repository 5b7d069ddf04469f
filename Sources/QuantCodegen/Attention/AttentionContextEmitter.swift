import LLVMKit
import QuantOps
import QuantSchedule

/// Emits `QuantizedAttention`'s second kernel over heads [begin, end): x = P (the softmax of the
/// scores, f32, heads × L rows of `keyColumns`), x2 = the scratch the first kernel filled, extra =
/// the `AttentionScratch` header, y = the output rows (f32, `heads·d` per token). Per row i of a
/// head: `p'_j = p_ij · scaleV_j`, quantized to u8 codes with `scaleP = amax/255` (step 4), then
/// `out[i, c] = float(qP_i · qV_c) · scaleP`, up to 4 vectors of columns at a time, with the table's
/// dot-product instruction (the codes broadcast as the A operand, sign-flipped with a +128·Σ_j qV
/// compensation where the instruction reads A signed).
struct AttentionContextEmitter {
    let op: QuantizedAttention

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) throws -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let e = try AttentionEmission(op, f, instruction: instruction, scratch: f.x2)
        let b = f.b, context = f.context, dot = e.dot
        let d = op.headSize, group = instruction.kGroup, columns = instruction.columnsPerVector, valueColumns = e.valueColumns
        let flipP = e.flips(aSigned: false)
        let length = e.field(.length), keyColumns = e.field(.keyColumns), keyDepth = e.field(.keyDepth)
        let f32 = context.f32

        f.loops.loop("head", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { head, _ in
            let region = e.region(head)
            func at(_ field: AttentionScratch.Field) -> IRValue { b.byteOffset(region, e.field(field)) }
            let packedV = at(.packedV), scalesV = at(.scalesV), sumsV = at(.sumsV), codes = at(.codesP)
            f.loops.loop("i", from: f.const(0), step: 1, while: { b.icmp(.slt, $0, length) }) { i, _ in
                let pRow = b.byteOffset(f.x, b.mul(b.mul(b.add(b.mul(head, length), i), keyColumns), f.const(4)))
                // p' = p · scaleV over the row's `keyColumns` (zeros past L), `columns` at a time.
                func folded(_ j: IRValue) -> IRValue {
                    b.fmul(f.loadFloats(pRow, j, width: columns), f.loadFloats(scalesV, j, width: columns))
                }
                // amax of p' by compare-and-select (NaN never wins; the maximum is exact in any order).
                let lanesMax = f.loops.loop("amax", from: f.const(0), step: Int64(columns), carried: [f.splat(context.constFloat(0), columns)],
                                            while: { b.icmp(.slt, $0, keyColumns) }) { j, best in
                    let value = folded(j)
                    return [b.select(b.fcmp(.ogt, value, best[0]), value, best[0])]
                }.carried[0]
                let amax = f.foldHalves(lanesMax, lanes: columns) { x, y in b.select(b.fcmp(.ogt, y, x), y, x) }
                let scaleP = b.fdiv(amax, context.constFloat(255))
                let inverse = b.select(b.fcmp(.one, amax, context.constFloat(0)), b.fdiv(context.constFloat(255), amax), context.constFloat(0))
                let math = f.math(columns)
                f.loops.loop("codes", from: f.const(0), step: Int64(columns), while: { b.icmp(.slt, $0, keyColumns) }) { j, _ in
                    let code = math.saturatingRound(b.fmul(folded(j), f.splat(inverse, columns)), zeroPoint: f.splatInt(0, columns),
                                                    lowerMinusZero: f.splat(context.constFloat(0), columns),
                                                    upperMinusZero: f.splat(context.constFloat(255), columns), portable: f.portable)
                    f.storeInts(code, .u8, codes, j, width: columns)
                    return []
                }
                // out[i, c], up to 4 vectors of `columns` columns together (one broadcast of the
                // codes per token group for all of them).
                let accumulator = dot.accumulatorType
                let outRow = b.byteOffset(f.y, b.mul(b.add(b.mul(i, f.const(op.outputColumns)), b.mul(head, f.const(d))), f.const(4)))
                let starts = Array(stride(from: 0, to: valueColumns, by: columns))
                for chunk in stride(from: 0, to: starts.count, by: 4) {
                    let firsts = Array(starts[chunk..<min(chunk + 4, starts.count)])
                    let acc = f.loops.loop("t", from: f.const(0), step: Int64(group), carried: firsts.map { _ in context.null(accumulator) },
                                           while: { b.icmp(.slt, $0, keyDepth) }) { t, values in
                        let a = dot.loadA(b, at: b.byteOffset(codes, t), validBytes: group, flipSign: flipP, signed: false)
                        // Tokens t..t+kG are group t/kG: its column c at (t/kG · valueColumns + c) · kG.
                        return firsts.enumerated().map { index, c in
                            let v = dot.loadB(b, at: b.byteOffset(packedV, b.add(b.mul(t, f.const(valueColumns)), f.const(c * group))))
                            return dot.dot(b, values[index], a, v)
                        }
                    }.carried
                    for (index, c) in firsts.enumerated() {
                        var total = acc[index]
                        if flipP {
                            let sums = b.load(accumulator, from: b.byteOffset(sumsV, f.const(4 * c)), align: 4)
                            total = b.add(total, b.mul(sums, f.splatInt(128, columns)))
                        }
                        let values = b.fmul(b.sitofp(total, to: context.vector(f32, columns)), f.splat(scaleP, columns))
                        let valid = min(columns, d - c)
                        b.store(valid == columns ? values : b.slice(values, from: 0, count: valid), to: b.byteOffset(outRow, f.const(4 * c)), align: 4)
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
