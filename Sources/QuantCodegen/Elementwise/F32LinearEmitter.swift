import LLVMKit
import QuantOps
import QuantSchedule

/// Where an `F32Linear`'s packed weights are, for an instruction set's f32 vector width: panels of
/// `panelWidth` columns, each K rows of `panelWidth` floats (columns past N are zeros), then the
/// bias padded to whole panels.
public struct F32LinearLayout: Sendable, Hashable {
    public let inputs: Int
    public let outputs: Int
    /// f32 lanes per vector.
    public let lanes: Int
    /// Vectors per panel row (accumulators per row of a tile).
    public let vectors: Int
    public var panelWidth: Int { lanes * vectors }
    public var panels: Int { (outputs + panelWidth - 1) / panelWidth }
    /// The first float of the bias.
    public var biasOffset: Int { panels * inputs * panelWidth }
    public var floats: Int { biasOffset + panels * panelWidth }
    /// Rows of one register tile of the kernel.
    public let tileRows: Int

    public init(_ op: F32Linear, isa: ISA) throws(QuantError) {
        inputs = op.inputs
        outputs = op.outputs
        // 32-bit lanes of the ISA's vectors; four accumulator vectors per row where 32 registers
        // hold a 4-row tile (4 × 4 + 4 weights + a broadcast), else two in a 6-row tile (6 × 2 + 2
        // + 1 = 15 of 16 registers; MiniLM f32 on Zen 3 AVX2: batch 32 3.30–3.91 → 2.91–3.18 ms
        // per sentence against 4-row tiles).
        let instruction = try InstructionTable.vectorInstruction(for: isa)
        lanes = instruction.lanes
        vectors = instruction.vectorRegisters >= 32 ? 4 : 2
        tileRows = vectors == 2 ? 6 : 4
    }

    /// Packs weights [outputs, inputs] (and the bias) into this layout.
    public func pack(weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?) -> [Float] {
        var packed = [Float](repeating: 0, count: floats)
        let width = panelWidth
        for panel in 0..<panels {
            for j in 0..<min(width, outputs - panel * width) {
                let n = panel * width + j, row = n * inputs
                for k in 0..<inputs { packed[(panel * inputs + k) * width + j] = weights[row + k] }
                if let bias { packed[biasOffset + n] = bias[n] }
            }
        }
        return packed
    }
}

/// Emits an `F32Linear` kernel over rows [begin, end): x = input rows, x2 = the packed weights,
/// y = output rows. Tiles of `tileRows` rows × one panel keep `tileRows` × `vectors` accumulators in
/// registers (the rows left after the whole tiles run as one tile of that height); each k
/// broadcasts one input per row and loads the panel's row once. Columns past N in the last panel
/// are computed and not stored.
struct F32LinearEmitter {
    let op: F32Linear
    let layout: F32LinearLayout

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b, context = f.context
        let lanes = layout.lanes, vectors = layout.vectors, width = layout.panelWidth
        let k = op.inputs, n = op.outputs
        let math = f.math(lanes)
        let zero = context.constVector(Array(repeating: context.constFloat(0), count: lanes))

        /// Rows m..<m+rows of one panel: accumulate, then store (whole vectors, or the valid columns).
        func tile(rows: Int, m: IRValue, panel: IRValue, columns: Int) {
            var initial: [IRValue] = []
            for _ in 0..<rows {
                for v in 0..<vectors {
                    initial.append(op.hasBias ? f.loadFloats(f.x2, b.add(f.const(layout.biasOffset + v * lanes), b.mul(panel, f.const(width))),
                                                             width: lanes) : zero)
                }
            }
            let sums = f.loops.loop("k", from: f.const(0), step: 1, carried: initial, while: { b.icmp(.slt, $0, f.const(k)) }) { kk, acc in
                let row = b.mul(b.add(b.mul(panel, f.const(k)), kk), f.const(width))
                let weights = (0..<vectors).map { f.loadFloats(f.x2, b.add(row, f.const($0 * lanes)), width: lanes) }
                var next = acc
                for r in 0..<rows {
                    let index = b.add(b.mul(b.add(m, f.const(r)), f.const(k)), kk)
                    let input = f.splat(b.load(context.f32, from: b.byteOffset(f.x, b.mul(index, f.const(4))), align: 4), lanes)
                    for v in 0..<vectors { next[r * vectors + v] = math.fma(input, weights[v], acc[r * vectors + v]) }
                }
                return next
            }.carried
            for r in 0..<rows {
                let rowStart = b.add(b.mul(b.add(m, f.const(r)), f.const(n)), b.mul(panel, f.const(width)))
                for v in 0..<vectors {
                    let first = v * lanes
                    if first + lanes <= columns {
                        f.storeFloats(sums[r * vectors + v], f.y, b.add(rowStart, f.const(first)))
                    } else {
                        for lane in 0..<max(0, columns - first) {
                            b.store(b.extractElement(sums[r * vectors + v], lane),
                                    to: b.byteOffset(f.y, b.mul(b.add(rowStart, f.const(first + lane)), f.const(4))), align: 4)
                        }
                    }
                }
            }
        }

        /// Every row of panels [from, to), each `columns` wide.
        func panels(from: Int, to: Int, columns: Int) {
            guard from < to else { return }
            f.loops.loop("panel", from: f.const(from), step: 1, while: { b.icmp(.slt, $0, f.const(to)) }) { panel, _ in
                let rows = layout.tileRows
                let exit = f.loops.loop("m", from: f.begin, step: Int64(rows), while: { b.icmp(.sle, b.add($0, f.const(rows)), f.end) }) { m, _ in
                    tile(rows: rows, m: m, panel: panel, columns: columns)
                    return []
                }
                // The 0 … rows − 1 rows left run as one tile of that many rows (at most one branch is
                // taken): a one-row tile has only `vectors` FMA chains and waits on their latency.
                for leftover in (1..<rows).reversed() {
                    f.loops.branch("rows\(leftover)", b.icmp(.eq, b.sub(f.end, exit.iv), f.const(leftover)), then: {
                        tile(rows: leftover, m: exit.iv, panel: panel, columns: columns)
                    }, otherwise: {})
                }
                return []
            }
        }
        panels(from: 0, to: n / width, columns: width)
        panels(from: n / width, to: layout.panels, columns: n % width)
        f.finish()
        return f.function
    }
}
