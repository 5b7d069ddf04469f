import LLVMKit
import QuantOps
import QuantSchedule

/// A batched transpose `y[b][c][r] = x[b][r][c]` of `elementBytes`-byte elements: how NCHW
/// tensors become NHWC (rows = channels, columns = pixels) and back for the convolution kernels.
struct TransposeEmitter {
    let batch: Int
    let rows: Int
    let columns: Int
    let elementBytes: Int

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b
        let element = f.context.int(bits: 8 * elementBytes)
        let plane = rows * columns * elementBytes
        // Tiles of 8×8 keep both sides' cache lines in use.
        let tile = 8
        f.loops.loop("b", from: f.const(0), step: 1, while: { b.icmp(.slt, $0, f.const(batch)) }) { n, _ in
            let source = b.byteOffset(f.x, b.mul(n, f.const(plane))), target = b.byteOffset(f.y, b.mul(n, f.const(plane)))
            f.loops.loop("r0", from: f.const(0), step: Int64(tile), while: { b.icmp(.slt, $0, f.const(rows)) }) { r0, _ in
                let rEnd = b.select(b.icmp(.slt, b.add(r0, f.const(tile)), f.const(rows)), b.add(r0, f.const(tile)), f.const(rows))
                f.loops.loop("c0", from: f.const(0), step: Int64(tile), while: { b.icmp(.slt, $0, f.const(columns)) }) { c0, _ in
                    let cEnd = b.select(b.icmp(.slt, b.add(c0, f.const(tile)), f.const(columns)), b.add(c0, f.const(tile)), f.const(columns))
                    f.loops.loop("r", from: r0, step: 1, while: { b.icmp(.slt, $0, rEnd) }) { r, _ in
                        f.loops.loop("c", from: c0, step: 1, while: { b.icmp(.slt, $0, cEnd) }) { c, _ in
                            let value = b.load(element, from: b.byteOffset(source, b.mul(b.add(b.mul(r, f.const(columns)), c), f.const(elementBytes))), align: 1)
                            b.store(value, to: b.byteOffset(target, b.mul(b.add(b.mul(c, f.const(rows)), r), f.const(elementBytes))), align: 1)
                            return []
                        }
                        return []
                    }
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
