import QuantOps

/// The schedules of a matmul on one ISA that the autotuner may try: every valid combination of
/// register tile (MR × NV), K unroll, cache blocks (MC, NC) and loop order.
public struct ScheduleSpace: Sendable {
    public var rowsPerTile: [Int]
    public var vectorsPerRow: [Int]
    public var kUnrolls: [Int]
    /// Row blocks as multiples of MR (MC = multiple · MR).
    public var rowBlockTiles: [Int]
    public var panelBlocks: [Int]
    public var loopOrders: [LoopOrder]

    public init(rowsPerTile: [Int], vectorsPerRow: [Int], kUnrolls: [Int], rowBlockTiles: [Int], panelBlocks: [Int],
                loopOrders: [LoopOrder] = LoopOrder.allCases) {
        self.rowsPerTile = rowsPerTile
        self.vectorsPerRow = vectorsPerRow
        self.kUnrolls = kUnrolls
        self.rowBlockTiles = rowBlockTiles
        self.panelBlocks = panelBlocks
        self.loopOrders = loopOrders
    }

    /// The full space for `op` on `isa`.
    public static func full(for op: MatMul, isa: ISA) throws(QuantError) -> ScheduleSpace {
        let instruction = try InstructionTable.instruction(for: isa)
        let maxVectors = max(instruction.vectorsPerOutput, min(8, (op.n + instruction.columnsPerVector - 1) / instruction.columnsPerVector))
        if instruction.usesTiles {
            // Tile blocks: MR of 1...4 row tiles (or fewer rows when M is smaller), NV of 1...3 column tiles.
            let tileRows = instruction.rowsPerInstruction
            let rows = op.m.map { $0 < tileRows ? [max(1, $0)] : [] } ?? []
            return ScheduleSpace(rowsPerTile: rows + (1...4).map { $0 * tileRows }.filter { $0 <= max(tileRows, op.m ?? .max) },
                                 vectorsPerRow: Array(1...min(3, maxVectors)), kUnrolls: [1, 2, 4],
                                 rowBlockTiles: [1, 4, 16, 1 << 16], panelBlocks: [1, 4, 16, 1 << 20])
        }
        return ScheduleSpace(rowsPerTile: Array(1...min(16, op.m ?? 16)), vectorsPerRow: Array(1...maxVectors),
                             kUnrolls: [1, 2, 4, 8], rowBlockTiles: [1, 4, 16, 1 << 16], panelBlocks: [1, 4, 16, 1 << 20])
    }

    /// Every schedule of the space that passes validation for `op` on `isa`.
    public func schedules(for op: MatMul, isa: ISA) throws(QuantError) -> [MatMulSchedule] {
        let instruction = try InstructionTable.instruction(for: isa)
        let rowSums = DefaultSchedule.needsRowSums(op, instruction: instruction)
        var result: [MatMulSchedule] = []
        for mr in rowsPerTile {
            for nv in vectorsPerRow {
                for ku in kUnrolls {
                    for tiles in rowBlockTiles {
                        for nc in panelBlocks {
                            for order in loopOrders {
                                let schedule = MatMulSchedule(isa: isa, rowsPerTile: mr, vectorsPerRow: nv, kUnroll: ku,
                                                              rowBlock: mr * tiles, panelBlock: nc, loopOrder: order)
                                // A row block that produces its rows (f32 A quantized in the kernel) must fit the stack buffer.
                                if op.aType == .f32 && mr * tiles * op.k > MatMulSchedule.producedABytesLimit { continue }
                                if (try? schedule.validate(rowSums: rowSums)) != nil { result.append(schedule) }
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
