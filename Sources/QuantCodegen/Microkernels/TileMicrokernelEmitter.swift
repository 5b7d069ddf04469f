import LLVMKit
import QuantSchedule

/// The microkernel of a tile instruction (AMX): a block of ⌈rows/16⌉ × `vectors` accumulator tiles
/// over the whole K, one K step (64 bytes: 16 K groups) at a time — each step loads the block's B
/// tiles and A tiles once and runs every `tdpb*d` of the block — then stores the accumulator tiles
/// to the kernel's accumulator tile (rows of `panelWidth` int32), where the shared epilogue reads them.
/// ```
/// C[rt][v] = 0 (and S[rt] = 0 with row sums)
/// for step in K steps:  B[v] = tileload(panel + step·16 groups, stride panelWidth·4)
///                       A[rt] = tileload(A rows 16·rt.., + step·64, stride lda)  — or from the
///                               staging tile when the tile has fewer than 16 rows or the step
///                               passes K (zero-padded copy: no load leaves A)
///                       C[rt][v] += A[rt]·B[v];  S[rt] += A[rt]·ones  (row sums, B zero points)
/// tilestore C[rt][v] → accumulator tile; S[rt] → row-sum tiles
/// ```
/// Tile numbers: the C tiles first, then A, B, the row-sum tiles and the tile of ones
/// (`MatMulSchedule.tilePressure` counts them).
struct TileMicrokernelEmitter {
    let tiles: TileOperations
    let b: IRBuilder
    let loops: LoopBuilder
    let module: Module
    let instruction: DotInstruction
    let layout: PackedLayout
    let k: Int
    let aSigned: Bool
    let bSigned: Bool
    let rowSums: Bool
    /// The program's buffers: staging tile, row-sum tiles, accumulator tile.
    let staging: IRValue
    let rowSumTiles: IRValue
    let accumulatorTile: IRValue
    /// 1 KiB of 0x01 bytes (the B operand of the row sums), when the kernel needs row sums.
    let ones: IRValue?

    private var context: Context { module.context }
    private func const(_ value: Int) -> IRValue { context.constInt(context.i64, Int64(value)) }

    /// Emits one call: `rows` rows starting at `firstRow` (row i at `firstRow + i·aStride`),
    /// `vectors` column tiles of the B panel at `bPanel`, the full K steps unrolled by `kUnroll`.
    /// Returns each row's sum of A bytes (an i32) when the kernel needs row sums.
    func emit(rows: Int, vectors: Int, kUnroll: Int, firstRow: IRValue, aStride: IRValue, bPanel: IRValue) -> [IRValue?] {
        let tileRows = instruction.rowsPerInstruction, rowTiles = (rows + tileRows - 1) / tileRows
        let stepBytes = instruction.kStep
        let cTile = { (rt: Int, v: Int) in rt * vectors + v }
        let aTile = { (rt: Int) in rowTiles * vectors + rt }
        let bTile = { (v: Int) in rowTiles * vectors + rowTiles + v }
        let sumTile = { (rt: Int) in rowTiles * vectors + rowTiles + vectors + rt }
        let onesTile = rowTiles * vectors + 2 * rowTiles + vectors
        let bRowStride = const(layout.panelWidth * layout.kGroup)
        let bStepBytes = instruction.kGroupsPerInstruction * layout.panelWidth * layout.kGroup

        for rt in 0..<rowTiles {
            for v in 0..<vectors { tiles.zero(cTile(rt, v)) }
            if rowSums { tiles.zero(sumTile(rt)) }
        }
        if rowSums, let ones { tiles.load(onesTile, from: ones, stride: const(AMXPalette.tileRowBytes)) }

        // One K step at byte `offset` of the rows; `validBytes` of it exist (64 but in K's tail).
        func step(_ index: IRValue, validBytes: Int) {
            let offset = b.mul(index, const(stepBytes))
            let bStep = b.byteOffset(bPanel, b.mul(index, const(bStepBytes)))
            for v in 0..<vectors {
                tiles.load(bTile(v), from: b.byteOffset(bStep, const(v * AMXPalette.tileRowBytes)), stride: bRowStride)
            }
            for rt in 0..<rowTiles {
                let valid = min(tileRows, rows - rt * tileRows)
                let top = b.byteOffset(firstRow, b.mul(const(rt * tileRows), aStride))
                if valid == tileRows && validBytes == stepBytes {
                    tiles.load(aTile(rt), from: b.byteOffset(top, offset), stride: aStride)
                } else {
                    stage(rows: valid, from: b.byteOffset(top, offset), stride: aStride, validBytes: validBytes)
                    tiles.load(aTile(rt), from: staging, stride: const(AMXPalette.tileRowBytes))
                }
                for v in 0..<vectors { tiles.dot(cTile(rt, v), aTile(rt), bTile(v), aSigned: aSigned, bSigned: bSigned) }
                if rowSums { tiles.dot(sumTile(rt), aTile(rt), onesTile, aSigned: aSigned, bSigned: false) }
            }
        }
        let fullSteps = k / stepBytes, tailBytes = k % stepBytes
        let unroll = max(1, min(kUnroll, fullSteps))
        let mainSteps = fullSteps / unroll * unroll
        if mainSteps > 0 {
            loops.loop("kstep", from: const(0), step: Int64(unroll), while: { b.icmp(.slt, $0, const(mainSteps)) }) { index, _ in
                for u in 0..<unroll { step(u == 0 ? index : b.add(index, const(u)), validBytes: stepBytes) }
                return []
            }
        }
        for index in mainSteps..<fullSteps { step(const(index), validBytes: stepBytes) }
        if tailBytes > 0 { step(const(fullSteps), validBytes: tailBytes) }

        let rowBytes = layout.panelWidth * 4
        for rt in 0..<rowTiles {
            for v in 0..<vectors {
                tiles.store(cTile(rt, v), to: b.byteOffset(accumulatorTile, const(rt * tileRows * rowBytes + v * AMXPalette.tileRowBytes)),
                            stride: const(rowBytes))
            }
            if rowSums {
                tiles.store(sumTile(rt), to: b.byteOffset(rowSumTiles, const(rt * AMXPalette.tileBytes)), stride: const(AMXPalette.tileRowBytes))
            }
        }
        return (0..<rows).map { i in
            guard rowSums else { return nil }
            let offset = i / tileRows * AMXPalette.tileBytes + i % tileRows * AMXPalette.tileRowBytes
            return b.load(context.i32, from: b.byteOffset(rowSumTiles, const(offset)), align: 4)
        }
    }

    /// Copies `rows` rows × `validBytes` bytes (row r at `source + r·stride`) into the staging
    /// tile, every other byte of its 16 × 64 zero: reads nothing outside them.
    private func stage(rows: Int, from source: IRValue, stride: IRValue, validBytes: Int) {
        let bytes64 = context.vector(context.i8, 64)
        let mask = context.constVector((0..<64).map { context.constInt(context.i1, $0 < validBytes ? 1 : 0) })
        for r in 0..<instruction.rowsPerInstruction {
            var row = context.null(bytes64)
            if r < rows {
                let pointer = b.byteOffset(source, b.mul(const(r), stride))
                row = validBytes == AMXPalette.tileRowBytes ? b.load(bytes64, from: pointer, align: 1)
                    : module.maskedLoad(b, bytes64, from: pointer, mask: mask, passThrough: context.null(bytes64), align: 1)
            }
            b.store(row, to: b.byteOffset(staging, const(r * AMXPalette.tileRowBytes)), align: 64)
        }
    }
}

/// The vector-side facts of a tile instruction for the shared parts of the matmul emitter (the
/// epilogue's 16-lane int32 rows, A's quantization); the tiles themselves go through
/// `TileMicrokernelEmitter`, never through the per-vector methods.
struct TileDotEmitter: DotEmitter {
    let instruction: DotInstruction
    let context: Context

    var accumulatorType: IRType { context.vector(context.i32, instruction.outputLanes) }
    var outputLanes: Int { instruction.outputLanes }
    func loadB(_ b: IRBuilder, at pointer: IRValue) -> IRValue { preconditionFailure("tiles are loaded by TileMicrokernelEmitter") }
    func loadA(_ b: IRBuilder, at pointer: IRValue, validBytes: Int, flipSign: Bool, signed: Bool) -> IRValue {
        preconditionFailure("tiles are loaded by TileMicrokernelEmitter")
    }
    func dot(_ b: IRBuilder, _ acc: IRValue, _ a: IRValue, _ bVector: IRValue) -> IRValue {
        preconditionFailure("tile products are emitted by TileMicrokernelEmitter")
    }
    func accumulateRowSum(_ b: IRBuilder, _ rowSum: IRValue, _ a: IRValue) -> IRValue {
        preconditionFailure("tile row sums are emitted by TileMicrokernelEmitter")
    }
}
