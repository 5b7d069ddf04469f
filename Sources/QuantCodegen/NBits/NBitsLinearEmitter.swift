import LLVMKit
import QuantOps
import QuantSchedule

/// Emits an `NBitsLinear` kernel over the panels [begin, end) of every row: x = A (the int8 mode:
/// rows quantized by `NBitsQuantizeAEmitter`; the f32 mode: f32 rows of K), x2 = the weights packed
/// in `NBitsLayout`, y = f32 output rows, extra = the row count M (an integer).
///
/// Loops: blocks of `rowBlock` rows (their A stays in L2 while a panel's weights are reused by
/// each of their tiles), panels, then tiles of `tileRows` rows; the leftover rows (all of a GEMV)
/// run one at a time against two panels at once (AVX2 4-bit: three), as many weight streams in
/// flight. A tile keeps rows × vectors f32 accumulators in registers across K. In the int8 mode
/// each block of K also keeps as many i32 accumulators, started at `-zp · Σq_a` (the zero
/// points' term) and advanced by `NBitsDot` per step of 4 (8 bits) or 8 (4 bits: one load, two
/// nibble halves) k; then `acc = fma(float(dot), scale_a · scale_w, acc)` (AVX2, 4 bits: 4 steps'
/// `vpmaddubsw` pairs are summed in i16 before each `vpmaddwd`, `NBitsDot.narrowSteps`). An AVX2
/// GEMV row prefetches each weight stream `NBitsDot.gemvPrefetchDistance` bytes ahead. In the f32
/// mode each k of a step is one byte (or nibble) per lane: `w = float(q - zp) · scale`,
/// `acc = fma(a, w, acc)`. Both are the reference's order. Columns past N in the last panel are
/// computed and not stored.
struct NBitsLinearEmitter {
    let layout: NBitsLayout
    /// Rows whose A a panel's weights are reused across before the next panel (128 rows of
    /// K = 4096 are 650 KB of quantized A, within a 1-2 MiB L2; 64 rows measured 320 against 352
    /// GMAC/s at 128×4096×4096 on Zen 5: the weights streamed from L3 twice).
    static let rowBlock = 128

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

        /// The int8 mode: K blocks of a tile of `tileRows` rows from row m against the panels at
        /// `panelBases` (one, or two for a GEMV row).
        func int8Tile(_ tileRows: Int, m: IRValue, panelBases: [IRValue]) -> [IRValue] {
            // Accumulator vectors per row: `vectors` of each panel (vector u = panel u / vectors).
            let columnVectors = panelBases.count * vectors
            let aRows = (0..<tileRows).map { r in b.byteOffset(f.x, b.mul(b.add(m, f.const(r)), f.const(layout.quantizedRowStride))) }
            let initial = Array(repeating: zeroFloats, count: tileRows * columnVectors)
            return f.loops.loop("block", from: f.const(0), step: 1, carried: initial, while: { b.icmp(.slt, $0, f.const(blocks)) }) { j, acc in
                let blockBases = panelBases.map { b.byteOffset($0, b.mul(j, f.const(layout.blockStride))) }
                if tileRows == 1, let distance = dot.gemvPrefetchDistance {
                    for base in blockBases {
                        for line in stride(from: 0, to: layout.blockStride, by: 64) {
                            module.prefetch(b, base, offset: f.const(distance + line))
                        }
                    }
                }
                let fourJ = b.mul(j, f.const(4))
                let zps = (0..<columnVectors).map { zeroPoints(panelBases[$0 / vectors], block: j, vector: $0 % vectors) }
                // A GEMV row keeps two i32 chains per accumulator (4 bits: the low and high
                // nibbles; 8 bits: even and odd steps), added at the block's end: half the
                // dependency depth. Taller tiles have independent accumulators enough, and so
                // have i16 sums (`narrowSteps`: their adds take one cycle).
                let narrowSteps = dot.narrowSteps
                let chainCount = tileRows == 1 && narrowSteps == nil ? 2 : 1
                // GEMV rows: where the dot step allows it the high nibbles stay in place (16·q) in
                // their own chain, shifted back once per block (exact: a multiple of 16), one
                // shift per weight vector fewer.
                let scaledHighNibbles = chainCount == 2 && op.bits == 4 && dot.takesScaledHighNibbles
                var start: [IRValue] = []
                let zero = intSplat(0)
                for r in 0..<tileRows {
                    let sum = b.load(i32, from: b.byteOffset(aRows[r], b.add(f.const(layout.quantizedRowSumsOffset), fourJ)), align: 4)
                    let negated = f.splat(b.sub(context.constInt(i32, 0), sum), lanes)
                    for u in 0..<columnVectors { start += [b.mul(zps[u], negated)] + (chainCount == 2 ? [zero] : []) }
                }
                let blockA = b.mul(j, f.const(size))
                let steps = size / layout.kPerStep
                /// Step s (an IR constant or the loop's variable): each weight vector's halves (8
                /// bits: the bytes; 4 bits: low and high nibbles) with row r's A bytes, handed to
                /// `accumulate(index, h, weights, a)` for the tile's accumulator r·columnVectors + u.
                func step(_ s: IRValue, _ accumulate: (_ index: Int, _ h: Int, _ weights: IRValue, _ a: IRValue) -> Void) {
                    let aOffset = b.add(blockA, b.mul(s, f.const(layout.kPerStep)))
                    for u in 0..<columnVectors {
                        let packed = loadWeights(blockBases[u / vectors], step: s, vector: u % vectors)
                        let high = scaledHighNibbles ? b.and(packed, intSplat(Int(Int32(bitPattern: 0xF0F0_F0F0))))
                            : b.and(b.lshr(packed, intSplat(4)), intSplat(0x0F0F_0F0F))
                        let halves: [IRValue] = op.bits == 8 ? [packed] : [b.and(packed, intSplat(0x0F0F_0F0F)), high]
                        for r in 0..<tileRows {
                            for (h, weights) in halves.enumerated() {
                                let a = b.load(i32, from: b.byteOffset(aRows[r], b.add(aOffset, f.const(4 * h))), align: 4)
                                accumulate(r * columnVectors + u, h, weights, f.splat(a, lanes))
                            }
                        }
                    }
                }
                /// Step s into the i32 chains (8-bit steps to chain `chain`, 4-bit halves to chain h).
                func wideStep(_ s: IRValue, chain: Int, _ acc: [IRValue]) -> [IRValue] {
                    var next = acc
                    step(s) { index, h, weights, a in
                        let i = chainCount * index + (chainCount == 1 ? 0 : (op.bits == 8 ? chain : h))
                        next[i] = dot.dot(b, next[i], weights: weights, a: a)
                    }
                    return next
                }
                /// Steps [s0, s0 + group) summed in i16, then widened into the i32 chains (nil: the
                /// first group, which starts them).
                func narrowGroup(_ s0: IRValue, steps group: Int, _ acc: [IRValue]?) -> [IRValue] {
                    // The first step starts the sums; the others run one per iteration of a loop:
                    // unrolled, LLVM scheduled every step's unpacked weights and A broadcasts first
                    // and spilled them (Zen 3, 4-bit b32: 1×4096×4096 61 → 71 GMAC/s,
                    // 16×4096×4096 57–64 → 79–88 with the loop).
                    var first = [IRValue?](repeating: nil, count: start.count)
                    step(s0) { index, _, weights, a in first[index] = dot.narrowDot(b, first[index], weights: weights, a: a) }
                    let sums = f.loops.loop("narrow", from: b.add(s0, f.const(1)), step: 1, carried: first.map { $0! },
                                            while: { b.icmp(.slt, $0, b.add(s0, f.const(group))) }) { s, carried in
                        var next: [IRValue?] = carried
                        step(s) { index, _, weights, a in next[index] = dot.narrowDot(b, next[index], weights: weights, a: a) }
                        return next.map { $0! }
                    }.carried
                    return start.indices.map { dot.widen(b, acc?[$0], sums[$0]) }
                }
                let shortBlock = steps * tileRows * columnVectors <= 64
                var chains: [IRValue]
                if let narrowSteps {
                    let group = min(steps, narrowSteps)
                    if shortBlock {
                        // The groups unrolled (their steps loop); the zero points' term joins
                        // last: no i32 accumulator is live across the steps.
                        var sums: [IRValue]? = nil
                        for s0 in stride(from: 0, to: steps, by: group) { sums = narrowGroup(f.const(s0), steps: group, sums) }
                        chains = zip(start, sums!).map { b.add($0, $1) }
                    } else {
                        chains = f.loops.loop("group", from: f.const(0), step: Int64(group), carried: start, while: { b.icmp(.slt, $0, f.const(steps)) }) { s, acc in
                            narrowGroup(s, steps: group, acc)
                        }.carried
                    }
                } else if shortBlock && instruction.vectorRegisters >= 32 {
                    // Short blocks' steps unrolled, on 32-register ISAs only: with 16 registers
                    // LLVM scheduled the unrolled steps' unpacked weights first and spilled them
                    // (Zen 3, AVX2, 8-bit b32, alternated: 16×4096×4096 29–36 → 45 GMAC/s,
                    // 128×4096×4096 32–36 → 47–49 with the step loop below).
                    chains = start
                    for s in 0..<steps { chains = wideStep(f.const(s), chain: s % 2, chains) }
                } else {
                    chains = f.loops.loop("step", from: f.const(0), step: 2, carried: start, while: { b.icmp(.slt, $0, f.const(steps)) }) { s, acc in
                        wideStep(b.add(s, f.const(1)), chain: 1, wideStep(s, chain: 0, acc))
                    }.carried
                }
                let dots = (0..<(tileRows * columnVectors)).map { index -> IRValue in
                    if chainCount == 1 { return chains[index] }
                    let second = chains[2 * index + 1]
                    return b.add(chains[2 * index], scaledHighNibbles ? b.ashr(second, intSplat(4)) : second)
                }
                let scales = (0..<columnVectors).map { loadScales(blockBases[$0 / vectors], vector: $0 % vectors) }
                var next = acc
                for r in 0..<tileRows {
                    let aScale = b.load(f32, from: b.byteOffset(aRows[r], b.add(f.const(layout.quantizedRowScalesOffset), fourJ)), align: 4)
                    for u in 0..<columnVectors {
                        let scale = b.fmul(f.splat(aScale, lanes), scales[u])
                        let index = r * columnVectors + u
                        next[index] = math.fma(b.sitofp(dots[index], to: floats), scale, acc[index])
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

        /// Rows m..<m+tileRows of `panels` (consecutive, each `columns` wide).
        func tile(_ tileRows: Int, m: IRValue, panels: [IRValue], columns: Int) {
            let bases = panels.map { b.byteOffset(f.x2, b.mul($0, f.const(layout.panelStride))) }
            let acc = op.compute == .int8 ? int8Tile(tileRows, m: m, panelBases: bases) : f32Tile(tileRows, m: m, panelBase: bases[0])
            for (index, panel) in panels.enumerated() {
                // This panel's accumulators, row by row.
                var mine: [IRValue] = []
                for r in 0..<tileRows {
                    let first = (r * panels.count + index) * vectors
                    mine += acc[first..<(first + vectors)]
                }
                store(mine, tileRows: tileRows, m: m, panel: panel, columns: columns)
            }
        }

        /// Rows [rowBegin, rowEnd) of panels [from, to), each `columns` wide: whole tiles panel by
        /// panel; the leftover rows (fewer than a tile — all of a GEMV) against two or three panels
        /// at a time in the int8 mode (as many weight streams in flight), then the rest one by one.
        func panels(from: IRValue, to: IRValue, rowBegin: IRValue, rowEnd: IRValue, columns: Int) {
            let tileRows = layout.tileRows
            let tilesEnd = b.add(rowBegin, b.mul(b.sdiv(b.sub(rowEnd, rowBegin), f.const(tileRows)), f.const(tileRows)))
            f.loops.loop("panel", from: from, step: 1, while: { b.icmp(.slt, $0, to) }) { panel, _ in
                f.loops.loop("m", from: rowBegin, step: Int64(tileRows), while: { b.icmp(.slt, $0, tilesEnd) }) { m, _ in
                    tile(tileRows, m: m, panels: [panel], columns: columns)
                    return []
                }
                return []
            }
            let streams = op.compute != .int8 ? 1 : dot.gemvStreams
            f.loops.loop("m1", from: tilesEnd, step: 1, while: { b.icmp(.slt, $0, rowEnd) }) { m, _ in
                let exit = f.loops.loop("panels", from: from, step: Int64(streams), while: { b.icmp(.sle, b.add($0, f.const(streams)), to) }) { panel, _ in
                    tile(1, m: m, panels: (0..<streams).map { b.add(panel, f.const($0)) }, columns: columns)
                    return []
                }
                if streams > 1 {
                    f.loops.loop("panel1", from: exit.iv, step: 1, while: { b.icmp(.slt, $0, to) }) { panel, _ in
                        tile(1, m: m, panels: [panel], columns: columns)
                        return []
                    }
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
