import QuantOps

/// The zero-search default: a register tile chosen from the instruction table by a simple rule
/// (fill the register file with accumulators, keep the B panel narrow enough that small N does not
/// waste work). The autotuner searches around it.
public enum DefaultSchedule {
    public static func forMatMul(_ op: MatMul, isa: ISA, caches: CacheSizes = HostCPU.current.caches) throws(QuantError) -> MatMulSchedule {
        let instruction = try InstructionTable.instruction(for: isa)
        let rowSums = needsRowSums(op, instruction: instruction)
        if instruction.usesTiles { return try forTiles(op, instruction: instruction, rowSums: rowSums, caches: caches) }
        // The register tile computing the most useful C per K step (MR × NR, times the share of
        // the panels' columns that N fills) that fits the register file (one register spare), at
        // most 4 output vectors wide and no wider than N needs; ties go to the wider tile. (N = 96 on
        // AVX-512: 8 rows × 3 vectors fill two panels, 6 × 4 leave half of the second one empty.)
        let step = instruction.vectorsPerOutput
        let columnsNeeded = (op.n + instruction.columnsPerVector - 1) / instruction.columnsPerVector
        let widest = max(step, min(4 * step, (columnsNeeded + step - 1) / step * step))
        func usefulWork(rows: Int, vectors: Int) -> Double {
            let padded = (columnsNeeded + vectors - 1) / vectors * vectors
            return Double(rows * vectors) * Double(columnsNeeded) / Double(padded)
        }
        var best = (rows: 1, vectors: step)
        for vectors in stride(from: step, through: widest, by: step) {
            var rows = 0
            while rows < 8, MatMulSchedule(isa: isa, rowsPerTile: rows + 1, vectorsPerRow: vectors, kUnroll: instruction.kUnroll)
                .registerPressure(rowSums: rowSums, rowsPerInstruction: instruction.rowsPerInstruction)
                <= instruction.vectorRegisters - 1 { rows += 1 }
            if rows >= 1 && usefulWork(rows: rows, vectors: vectors) >= usefulWork(rows: best.rows, vectors: best.vectors) {
                best = (rows, vectors)
            }
        }
        var rows = best.rows
        let vectors = best.vectors
        if let m = op.m {
            // M is known: pick the tile height with the lowest estimated cost per K group, where
            // a tile of r rows costs ⌈r/M0⌉·NV dot instructions plus ~2 slots of loads and loop
            // overhead, and each leftover row runs the one-row kernel (NV + 4).
            rows = min(rows, m)
            let m0 = instruction.rowsPerInstruction
            func cost(_ r: Int) -> Int { (m / r) * ((r + m0 - 1) / m0 * vectors + 2) + (m % r) * (vectors + 4) }
            rows = (1...rows).reversed().min { cost($0) < cost($1) } ?? rows
        }
        // Cache blocks: a block of B panels fills at most half of L2, a block of A rows a quarter.
        let layout = PackedLayout(k: op.k, n: op.n, kGroup: instruction.kGroup, panelWidth: instruction.columnsPerVector * vectors)
        var panelBlock = max(1, caches.l2 / 2 / max(1, layout.panelBytes))
        var rowBlock = max(1, caches.l2 / 4 / max(1, op.k) / rows) * rows
        if instruction.packsA {
            // Row blocks small enough for packed A when even one tile of rows fits.
            let fitting = DotInstruction.packedABytesLimit / instruction.packedARowBytes(k: op.k) / rows * rows
            if fitting >= rows { rowBlock = min(rowBlock, fitting) }
        }
        if op.aType == .f32 {
            // A is quantized row block by row block into a buffer on the kernel's stack, once per
            // panel block: one panel block (B streamed per row block) quantizes each row once.
            rowBlock = MatMulSchedule.producedRowBlock(rowBlock, k: op.k, rowsPerTile: rows)
            panelBlock = 1 << 20
        }
        let schedule = MatMulSchedule(isa: isa, rowsPerTile: rows, vectorsPerRow: vectors, kUnroll: instruction.kUnroll,
                                      rowBlock: rowBlock, panelBlock: panelBlock, loopOrder: .panelsOuter)
        try schedule.validate(rowSums: rowSums)
        return schedule
    }

    /// An AMX block: 2×2 accumulator tiles (32×32 of C, A and B tiles loaded once per K step), 2×1
    /// when N ≤ 16, 1×2 when row sums need their own tiles (and N > 16); MR no taller than a known
    /// M needs. Cache blocks as for vectors: a B block in half of L2, the A rows of a block in a quarter.
    static func forTiles(_ op: MatMul, instruction: DotInstruction, rowSums: Bool, caches: CacheSizes) throws(QuantError) -> MatMulSchedule {
        let tileRows = instruction.rowsPerInstruction
        let vectors = op.n <= instruction.columnsPerVector ? 1 : 2
        var rows = 2 * tileRows
        if rowSums && vectors == 2 { rows = tileRows }
        if let m = op.m { rows = m <= tileRows ? max(1, m) : min(rows, (m + tileRows - 1) / tileRows * tileRows) }
        let layout = PackedLayout(k: op.k, n: op.n, kGroup: instruction.kGroup, panelWidth: instruction.columnsPerVector * vectors,
                                  kStep: instruction.kStep)
        let panelBlock = max(1, caches.l2 / 2 / max(1, layout.panelBytes))
        var rowBlock = max(1, caches.l2 / 4 / max(1, op.k) / rows) * rows
        if op.aType == .f32 { rowBlock = MatMulSchedule.producedRowBlock(rowBlock, k: op.k, rowsPerTile: rows) }
        let schedule = MatMulSchedule(isa: instruction.isa, rowsPerTile: rows, vectorsPerRow: vectors, kUnroll: 2,
                                      rowBlock: rowBlock, panelBlock: op.aType == .f32 ? 1 << 20 : panelBlock, loopOrder: .panelsOuter)
        try schedule.validate(rowSums: rowSums)
        return schedule
    }

    /// A convolution's GEMM schedule from `base` (the matmul default, or a tuned one): row blocks
    /// small enough for the gathered windows (K bytes per row) to stay on the kernel's stack, and
    /// one panel block, so that each row block's windows are gathered once.
    public static func forConvolution(_ conv: Conv2D, base: MatMulSchedule) -> MatMulSchedule {
        var schedule = base
        if !conv.isPointwise {
            schedule.rowBlock = MatMulSchedule.producedRowBlock(schedule.rowBlock, k: conv.gemmDepth, rowsPerTile: schedule.rowsPerTile)
            schedule.panelBlock = 1 << 20
        }
        return schedule
    }

    /// The default schedule of a convolution's GEMM on `isa`: chosen for the group that needs the
    /// most registers (one whose weight zero points need row sums, if any), so that it fits every group.
    public static func forConvolution(_ conv: Conv2D, isa: ISA, caches: CacheSizes = HostCPU.current.caches) throws(QuantError) -> MatMulSchedule {
        forConvolution(conv, base: try forMatMul(try representativeGroup(conv, isa: isa), isa: isa, caches: caches))
    }

    /// The GEMM of the group whose schedule constraints are the tightest.
    public static func representativeGroup(_ conv: Conv2D, isa: ISA) throws(QuantError) -> MatMul {
        let instruction = try InstructionTable.instruction(for: isa)
        for g in 0..<conv.groups {
            let gemm = try conv.groupMatMul(g)
            if needsRowSums(gemm, instruction: instruction) { return gemm }
        }
        return try conv.groupMatMul(0)
    }

    /// True when, after shifting operands into the instruction's domains, B's zero point is not
    /// zero for some column, so the kernel must also sum each row of A.
    public static func needsRowSums(_ op: MatMul, instruction: DotInstruction) -> Bool {
        OperandAdjustment(op: op, instruction: instruction).needsRowSums
    }
}
