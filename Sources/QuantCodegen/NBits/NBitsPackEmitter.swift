import LLVMKit
import QuantOps
import QuantSchedule

/// Emits the packing of an `NBitsLinear`'s weights into `NBitsLayout`, over panels [begin, end):
/// x = MatMulNBits' B bytes, x2 = the packing's side input (`NBitsLayout.sideScalesOffset` …: the
/// scales, then the bias, then the zero-point bytes), y = the packed buffer. Every byte of the
/// panels (and their share of the bias) is written, padding included, so the JIT and AOT libraries
/// pack with the same code. Scalar code: it runs once per weight set.
struct NBitsPackEmitter {
    let layout: NBitsLayout

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b, context = f.context, op = layout.op
        let i8 = context.i8, i64 = context.i64, f32 = context.f32
        let lanes = layout.lanes, vectors = layout.vectors, width = layout.panelWidth
        let blocks = op.blocksPerColumn, size = op.blockSize, offset = layout.storesSignedBytes ? 128 : 0

        func c(_ value: Int) -> IRValue { f.const(value) }
        /// 0 where `valid` is false, else `value` (both i64).
        func guarded(_ valid: IRValue, _ value: IRValue) -> IRValue { b.select(valid, value, c(0)) }
        func storeByte(_ value: IRValue, at index: IRValue) {
            b.store(b.trunc(value, to: i8), to: b.byteOffset(f.y, index), align: 1)
        }
        /// The quantized weight (n, k) as i64, 0 when n or k is out of range.
        func weight(_ n: IRValue, _ columnValid: IRValue, block j: IRValue, within: Int) -> IRValue {
            let valid = b.and(columnValid, b.icmp(.slt, b.add(b.mul(j, c(size)), c(within)), c(op.inputs)))
            let index = guarded(valid, b.add(b.mul(b.add(b.mul(n, c(blocks)), j), c(op.blockBytes)), c(op.bits == 8 ? within : within / 2)))
            var value = b.zext(b.load(i8, from: b.byteOffset(f.x, index), align: 1), to: i64)
            if op.bits == 4 { value = within % 2 == 0 ? b.and(value, c(0xF)) : b.lshr(value, c(4)) }
            return guarded(valid, value)
        }
        /// The zero point of (n, block j) as stored in the layout (minus 128 for signed bytes), 0
        /// past N.
        func zeroPoint(_ n: IRValue, _ valid: IRValue, block j: IRValue) -> IRValue {
            let base = b.add(c(layout.sideZeroPointsOffset), b.mul(guarded(valid, n), c(op.zeroPointBytesPerColumn)))
            let index = b.add(base, op.bits == 8 ? j : b.sdiv(j, c(2)))
            var value = b.zext(b.load(i8, from: b.byteOffset(f.x2, index), align: 1), to: i64)
            if op.bits == 4 {
                let odd = b.icmp(.ne, b.sub(j, b.mul(b.sdiv(j, c(2)), c(2))), c(0))
                value = b.select(odd, b.lshr(value, c(4)), b.and(value, c(0xF)))
            }
            return guarded(valid, b.sub(value, c(offset)))
        }

        f.loops.loop("panel", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { panel, _ in
            let panelBase = b.mul(panel, c(layout.panelStride))
            f.loops.loop("column", from: c(0), step: 1, while: { b.icmp(.slt, $0, c(width)) }) { column, _ in
                let n = b.add(b.mul(panel, c(width)), column)
                let valid = b.icmp(.slt, n, c(op.outputs))
                let vector = b.sdiv(column, c(lanes)), lane = b.sub(column, b.mul(vector, c(lanes)))
                f.loops.loop("block", from: c(0), step: 1, while: { b.icmp(.slt, $0, c(blocks)) }) { j, _ in
                    let blockBase = b.add(panelBase, b.mul(j, c(layout.blockStride)))
                    for step in 0..<(size / layout.kPerStep) {
                        let laneBase = b.add(b.add(blockBase, b.mul(b.add(c(step * vectors), vector), c(4 * lanes))), b.mul(lane, c(4)))
                        for t in 0..<4 {
                            let value: IRValue
                            if op.bits == 4 {
                                let low = weight(n, valid, block: j, within: 8 * step + t)
                                let high = weight(n, valid, block: j, within: 8 * step + 4 + t)
                                value = b.or(low, b.shl(high, c(4)))
                            } else {
                                let q = weight(n, valid, block: j, within: 4 * step + t)
                                // Past N or K the stored byte is 0 (its product is 0 either way).
                                value = offset == 0 ? q : b.select(valid, b.sub(q, c(offset)), c(0))
                            }
                            storeByte(value, at: b.add(laneBase, c(t)))
                        }
                    }
                    let scaleIndex = guarded(valid, b.add(b.mul(n, c(blocks)), j))
                    let scale = b.load(f32, from: b.byteOffset(f.x2, b.add(c(layout.sideScalesOffset), b.mul(scaleIndex, c(4)))), align: 4)
                    b.store(b.select(valid, scale, context.constFloat(0)),
                            to: b.byteOffset(f.y, b.add(b.add(blockBase, c(layout.weightBytesPerBlock)), b.mul(column, c(4)))), align: 4)
                    return []
                }
                if op.hasBias {
                    let bias = b.load(f32, from: b.byteOffset(f.x2, b.add(c(layout.sideBiasOffset), b.mul(guarded(valid, n), c(4)))), align: 4)
                    b.store(b.select(valid, bias, context.constFloat(0)), to: b.byteOffset(f.y, b.add(c(layout.biasOffset), b.mul(n, c(4)))),
                            align: 4)
                }
                return []
            }
            if op.zeroPoints == .perBlock {
                let region = b.add(panelBase, c(blocks * layout.blockStride))
                // The region's bytes past the last block's zero points (alignment) are zeros.
                f.loops.loop("zero", from: c(0), step: 1, while: { b.icmp(.slt, $0, c(layout.zeroPointRegionBytes)) }) { i, _ in
                    storeByte(c(0), at: b.add(region, i))
                    return []
                }
                f.loops.loop("block", from: c(0), step: 1, while: { b.icmp(.slt, $0, c(blocks)) }) { j, _ in
                    for v in 0..<vectors {
                        let base = b.add(region, b.add(b.mul(j, c(vectors * layout.zeroPointBytesPerVector)), c(v * layout.zeroPointBytesPerVector)))
                        for i in 0..<layout.zeroPointBytesPerVector {
                            let n0 = b.add(b.mul(panel, c(width)), c(v * lanes + i))
                            let first = zeroPoint(n0, b.icmp(.slt, n0, c(op.outputs)), block: j)
                            var value = first
                            if op.bits == 4 {
                                let n1 = b.add(n0, c(lanes / 2))
                                value = b.or(first, b.shl(zeroPoint(n1, b.icmp(.slt, n1, c(op.outputs)), block: j), c(4)))
                            }
                            storeByte(value, at: b.add(base, c(i)))
                        }
                    }
                    return []
                }
            }
            return []
        }
        f.finish()
        return f.function
    }
}
