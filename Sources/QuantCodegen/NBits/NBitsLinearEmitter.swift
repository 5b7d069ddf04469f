import LLVMKit
import QuantOps
import QuantSchedule

/// Emits an `NBitsLinear` kernel over the panels [begin, end) of every row: x = A (the int8 mode:
/// rows quantized by `NBitsQuantizeAEmitter`; the f32 mode: f32 rows of K), x2 = the weights packed
/// in `NBitsLayout`, y = f32 output rows, extra = the row count M (an integer).
///
/// Loops: blocks of `rowBlock` rows (their A stays in L2 while a panel's weights are reused by
/// each of their tiles), panels, then tiles of `tileRows` rows (and single leftover rows). A tile
/// keeps rows × vectors f32 accumulators in registers across K. In the int8 mode each block of K
/// also keeps as many i32 accumulators, started at `-zp · Σq_a` (the zero points' term) and
/// advanced by `NBitsDot` per step of 4 (8 bits) or 8 (4 bits: one load, two nibble halves) k;
/// then `acc = fma(float(dot), scale_a · scale_w, acc)`. In the f32 mode each k of a step is one
/// byte (or nibble) per lane: `w = float(q - zp) · scale`, `acc = fma(a, w, acc)`. Both are the
/// reference's order. Columns past N in the last panel are computed and not stored.
struct NBitsLinearEmitter {
    let layout: NBitsLayout
    /// Rows whose A a panel's weights are reused across before the next panel.
    static let rowBlock = 64

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) throws -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b, context = f.context, op = layout.op
        let dot = try NBitsDot(instruction: instruction, module: module, bits: op.bits, lanes: layout.lanes)
        let lanes = layout.lanes, vectors = layout.vectors, width = layout.panelWidth
        let k = op.inputs, n = op.outputs, size = op.blockSize, blocks = op.blocksPerColumn
        let i32 = context.i32, f32 = context.f32
        let ints = context.vector(i32, lanes), floats = context.vector(f32, lanes)
        let math = VectorMath(module: module, b: b, lanes: lanes, isa: instruction.isa)
        let rows = f.extraInteger
        func intSplat(_ value: Int) -> IRValue { context.constVector(Array(repeating: context.constInt(i32, Int64(value)), count: lanes)) }
        let zeroFloats = math.splat(0)
        let midpoint = op.midpoint - (layout.storesSignedBytes ? 128 : 0)

        /// Column vector v's zero points of block `block` of the panel at `panelBase`.
        func zeroPoints(_ panelBase: IRValue, block: IRValue, vector v: Int) -> IRValue {
            guard op.zeroPoints == .perBlock else { return intSplat(midpoint) }
            let index = b.add(b.mul(block, f.const(vectors * layout.zeroPointBytesPerVector)), f.const(v * layout.zeroPointBytesPerVector))
            let pointer = b.byteOffset(panelBase, b.add(f.const(op.blocksPerColumn * layout.blockStride), index))
            if op.bits == 8 {
                let bytes = b.load(context.vector(context.i8, lanes), from: pointer, align: 1)
                return layout.storesSignedBytes ? b.sext(bytes, to: ints) : b.zext(bytes, to: ints)
            }
            let half = lanes / 2
            let bytes = b.load(context.vector(context.i8, half), from: pointer, align: 1)
            let both = b.zext(b.shuffle(bytes, bytes, Array(0..<half) + Array(0..<half)), to: ints)
            let shifts = context.constVector((0..<lanes).map { context.constInt(i32, $0 < half ? 0 : 4) })
            return b.and(b.lshr(both, shifts), intSplat(0xF))
        }
        func loadWeights(_ blockBase: IRValue, step: IRValue, vector v: Int) -> IRValue {
            let offset = b.add(b.mul(step, f.const(vectors * lanes * 4)), f.const(v * lanes * 4))
            return b.load(ints, from: b.byteOffset(blockBase, offset), align: lanes * 4)
        }
        func loadScales(_ blockBase: IRValue, vector v: Int) -> IRValue {
            b.load(floats, from: b.byteOffset(blockBase, f.const(layout.weightBytesPerBlock + v * lanes * 4)), align: lanes * 4)
        }

        /// The int8 mode: K blocks of a tile of `tileRows` rows from row m, panel at `panelBase`.
        func int8Tile(_ tileRows: Int, m: IRValue, panelBase: IRValue) -> [IRValue] {
            let aRows = (0..<tileRows).map { r in b.byteOffset(f.x, b.mul(b.add(m, f.const(r)), f.const(layout.quantizedRowStride))) }
            let initial = Array(repeating: zeroFloats, count: tileRows * vectors)
            return f.loops.loop("block", from: f.const(0), step: 1, carried: initial, while: { b.icmp(.slt, $0, f.const(blocks)) }) { j, acc in
                let blockBase = b.byteOffset(panelBase, b.mul(j, f.const(layout.blockStride)))
                let fourJ = b.mul(j, f.const(4))
                let zps = (0..<vectors).map { zeroPoints(panelBase, block: j, vector: $0) }
                var start: [IRValue] = []
                for r in 0..<tileRows {
                    let sum = b.load(i32, from: b.byteOffset(aRows[r], b.add(f.const(layout.quantizedRowSumsOffset), fourJ)), align: 4)
                    let negated = f.splat(b.sub(context.constInt(i32, 0), sum), lanes)
                    for v in 0..<vectors { start.append(b.mul(zps[v], negated)) }
                }
                let blockA = b.mul(j, f.const(size))
                let steps = size / layout.kPerStep
                let dots = f.loops.loop("step", from: f.const(0), step: 1, carried: start, while: { b.icmp(.slt, $0, f.const(steps)) }) { s, acc in
                    var next = acc
                    let aOffset = b.add(blockA, b.mul(s, f.const(layout.kPerStep)))
                    for v in 0..<vectors {
                        let packed = loadWeights(blockBase, step: s, vector: v)
                        let halves: [IRValue] = op.bits == 8 ? [packed]
                            : [b.and(packed, intSplat(0x0F0F_0F0F)), b.and(b.lshr(packed, intSplat(4)), intSplat(0x0F0F_0F0F))]
                        for r in 0..<tileRows {
                            for (h, weights) in halves.enumerated() {
                                let a = b.load(i32, from: b.byteOffset(aRows[r], b.add(aOffset, f.const(4 * h))), align: 4)
                                next[r * vectors + v] = dot.dot(b, next[r * vectors + v], weights: weights, a: f.splat(a, lanes))
                            }
                        }
                    }
                    return next
                }.carried
                let scales = (0..<vectors).map { loadScales(blockBase, vector: $0) }
                var next = acc
                for r in 0..<tileRows {
                    let aScale = b.load(f32, from: b.byteOffset(aRows[r], b.add(f.const(layout.quantizedRowScalesOffset), fourJ)), align: 4)
                    for v in 0..<vectors {
                        let scale = b.fmul(f.splat(aScale, lanes), scales[v])
                        next[r * vectors + v] = math.fma(b.sitofp(dots[r * vectors + v], to: floats), scale, acc[r * vectors + v])
                    }
                }
                return next
            }.carried
        }

        /// The f32 mode: every k of a tile; the last block's `K % blockSize` values are a
        /// compile-time count (A has exactly K values per row).
        func f32Tile(_ tileRows: Int, m: IRValue, panelBase: IRValue) -> [IRValue] {
            let aRows = (0..<tileRows).map { r in b.byteOffset(f.x, b.mul(b.add(m, f.const(r)), f.const(4 * k))) }
            /// Steps [0, steps) of block j, then `rest` values of one more step.
            func blockBody(_ j: IRValue, steps: Int, rest: Int, acc: [IRValue]) -> [IRValue] {
                let blockBase = b.byteOffset(panelBase, b.mul(j, f.const(layout.blockStride)))
                let zps = (0..<vectors).map { zeroPoints(panelBase, block: j, vector: $0) }
                let scales = (0..<vectors).map { loadScales(blockBase, vector: $0) }
                let blockA = b.mul(j, f.const(size))
                func step(_ s: IRValue, values: Int, _ acc: [IRValue]) -> [IRValue] {
                    var next = acc
                    let aOffset = b.add(blockA, b.mul(s, f.const(layout.kPerStep)))
                    for v in 0..<vectors {
                        let packed = loadWeights(blockBase, step: s, vector: v)
                        for t in 0..<values {
                            let q: IRValue
                            if op.bits == 4 {
                                q = b.and(b.lshr(packed, intSplat(8 * (t % 4) + 4 * (t / 4))), intSplat(0xF))
                            } else if layout.storesSignedBytes {
                                q = b.ashr(b.shl(packed, intSplat(24 - 8 * t)), intSplat(24))
                            } else {
                                q = b.and(b.lshr(packed, intSplat(8 * t)), intSplat(0xFF))
                            }
                            let w = b.fmul(b.sitofp(b.sub(q, zps[v]), to: floats), scales[v])
                            for r in 0..<tileRows {
                                let index = b.add(aOffset, f.const(t))
                                let a = b.load(f32, from: b.byteOffset(aRows[r], b.mul(index, f.const(4))), align: 4)
                                next[r * vectors + v] = math.fma(f.splat(a, lanes), w, next[r * vectors + v])
                            }
                        }
                    }
                    return next
                }
                var result = f.loops.loop("step", from: f.const(0), step: 1, carried: acc, while: { b.icmp(.slt, $0, f.const(steps)) }) { s, acc in
                    step(s, values: layout.kPerStep, acc)
                }.carried
                if rest > 0 { result = step(f.const(steps), values: rest, result) }
                return result
            }
            let initial = Array(repeating: zeroFloats, count: tileRows * vectors)
            var acc = f.loops.loop("block", from: f.const(0), step: 1, carried: initial, while: { b.icmp(.slt, $0, f.const(k / size)) }) { j, acc in
                blockBody(j, steps: size / layout.kPerStep, rest: 0, acc: acc)
            }.carried
            if k % size != 0 {
                acc = blockBody(f.const(k / size), steps: (k % size) / layout.kPerStep, rest: (k % size) % layout.kPerStep, acc: acc)
            }
            return acc
        }

        /// A tile's results: bias, activation, stored (the valid `columns` of the panel).
        func store(_ acc: [IRValue], tileRows: Int, m: IRValue, panel: IRValue, columns: Int) {
            for v in 0..<vectors {
                let first = v * lanes
                guard first < columns else { break }
                let bias = op.hasBias
                    ? b.load(floats, from: b.byteOffset(f.x2, b.add(f.const(layout.biasOffset + 4 * first), b.mul(panel, f.const(4 * width)))), align: 4)
                    : nil
                for r in 0..<tileRows {
                    var value = acc[r * vectors + v]
                    if let bias { value = b.fadd(value, bias) }
                    value = math.apply(op.activation, value)
                    let rowStart = b.add(b.mul(b.add(m, f.const(r)), f.const(n)), b.add(b.mul(panel, f.const(width)), f.const(first)))
                    if first + lanes <= columns {
                        f.storeFloats(value, f.y, rowStart)
                    } else {
                        for lane in 0..<(columns - first) {
                            b.store(b.extractElement(value, lane), to: b.byteOffset(f.y, b.mul(b.add(rowStart, f.const(lane)), f.const(4))), align: 4)
                        }
                    }
                }
            }
        }

        func tile(_ tileRows: Int, m: IRValue, panel: IRValue, columns: Int) {
            let panelBase = b.byteOffset(f.x2, b.mul(panel, f.const(layout.panelStride)))
            let acc = op.compute == .int8 ? int8Tile(tileRows, m: m, panelBase: panelBase) : f32Tile(tileRows, m: m, panelBase: panelBase)
            store(acc, tileRows: tileRows, m: m, panel: panel, columns: columns)
        }

        /// Rows [rowBegin, rowEnd) of panels [from, to), each `columns` wide.
        func panels(from: IRValue, to: IRValue, rowBegin: IRValue, rowEnd: IRValue, columns: Int) {
            f.loops.loop("panel", from: from, step: 1, while: { b.icmp(.slt, $0, to) }) { panel, _ in
                let tileRows = layout.tileRows
                let exit = f.loops.loop("m", from: rowBegin, step: Int64(tileRows),
                                        while: { b.icmp(.sle, b.add($0, f.const(tileRows)), rowEnd) }) { m, _ in
                    tile(tileRows, m: m, panel: panel, columns: columns)
                    return []
                }
                f.loops.loop("m1", from: exit.iv, step: 1, while: { b.icmp(.slt, $0, rowEnd) }) { m, _ in
                    tile(1, m: m, panel: panel, columns: columns)
                    return []
                }
                return []
            }
        }

        func minimum(_ a: IRValue, _ c: IRValue) -> IRValue { b.select(b.icmp(.slt, a, c), a, c) }
        func maximum(_ a: IRValue, _ c: IRValue) -> IRValue { b.select(b.icmp(.sgt, a, c), a, c) }
        let full = f.const(layout.fullPanels)
        f.loops.loop("rows", from: f.const(0), step: Int64(Self.rowBlock), while: { b.icmp(.slt, $0, rows) }) { rowBegin, _ in
            let rowEnd = minimum(b.add(rowBegin, f.const(Self.rowBlock)), rows)
            panels(from: f.begin, to: minimum(f.end, full), rowBegin: rowBegin, rowEnd: rowEnd, columns: width)
            if n % width != 0 {
                panels(from: maximum(f.begin, full), to: f.end, rowBegin: rowBegin, rowEnd: rowEnd, columns: n % width)
            }
            return []
        }
        f.finish()
        return f.function
    }
}
