import QuantCodegen
import QuantOps
import QuantSchedule
import Testing

/// The lowering's passes and the loop-IR verifier.
struct LoopIRTests {
    func program(_ schedule: MatMulSchedule, op: MatMul) throws -> LoopProgram {
        try MatMulLowering.lower(MatMulPlan(op: op, schedule: schedule)).program
    }

    @Test func passesBuildTheExpectedNest() throws {
        let op = try MatMul(m: nil, k: 64, n: 100)
        let schedule = MatMulSchedule(isa: .avx512vnni, rowsPerTile: 4, vectorsPerRow: 2, kUnroll: 2, rowBlock: 8,
                                      panelBlock: 2, loopOrder: .panelsOuter)
        let text = try program(schedule, op: op).description
        // N = 100 in panels of 32 columns: the last panel has 4, and its stores go through a
        // stack tile of MR × NR int32 (4 × 32 × 4 bytes). Leftover rows: a 2-row tile, then one row.
        #expect(text == """
            buffer outputTile: 512 bytes
            for pb in panel_begin..<panel_end step 2:
              for rb in row_begin..<row_end step 8:
                for p in pb..<min(pb + 2, panel_end):
                  for m in rb..<min(rb + 8, row_end) step 4 (whole steps):
                    microkernel avx512Vpdpbusd C[m +4 rows, panel p] ×2 vectors, k unroll 2 + fused epilogue, panel 3 has 4 columns (stored through a stack tile)
                  for m in rb + ((min(rb + 8, row_end) - (rb))/4)·4..<min(rb + 8, row_end) step 2 (whole steps):
                    microkernel avx512Vpdpbusd C[m +2 rows, panel p] ×2 vectors, k unroll 2 + fused epilogue, panel 3 has 4 columns (stored through a stack tile)
                  for m in rb + ((min(rb + 8, row_end) - (rb))/4)·4 + ((min(rb + 8, row_end) - (rb + ((min(rb + 8, row_end) - (rb))/4)·4))/2)·2..<min(rb + 8, row_end):
                    microkernel avx512Vpdpbusd C[m +1 rows, panel p] ×2 vectors, k unroll 2 + fused epilogue, panel 3 has 4 columns (stored through a stack tile)
            """)
        var rowsOuter = schedule
        rowsOuter.loopOrder = .rowsOuter
        #expect(try program(rowsOuter, op: op).description.contains("for m in rb..<min(rb + 8, row_end) step 4 (whole steps):\n      for p in"))
    }

    /// The buffers a program declares follow from the program and the data it reads: a
    /// requantized output waits in an accumulator tile, a dynamic linear quantizes its f32 rows
    /// into a produced-A buffer per row block, and full panels need no output tile.
    @Test func buffersFollowTheProgram() throws {
        let requantized = try MatMul(m: nil, k: 64, n: 96, output: .requantized(Requantization(type: .u8, output: .perTensor(scale: 0.5))))
        let schedule = MatMulSchedule(isa: .avx512vnni, rowsPerTile: 3, vectorsPerRow: 2, kUnroll: 2, rowBlock: 6,
                                      panelBlock: 2, loopOrder: .panelsOuter)
        #expect(try program(schedule, op: requantized).buffers == [KernelBuffer(.accumulatorTile, bytes: 3 * 32 * 4)])
        let dynamic = try MatMul(m: nil, k: 64, n: 96, aType: .f32, output: .dequantized(Dequantization()), aQuantMode: .perRowAtRunTime)
        let lowered = try program(schedule, op: dynamic)
        #expect(lowered.buffers.contains(KernelBuffer(.producedA, bytes: 6 * 64)))
        #expect(lowered.buffer(.outputTile) == nil)
        #expect(lowered.description.contains("pack A rows rb..<min(rb + 6, row_end): quantize"))
    }

    /// The verifier must reject programs that miss or repeat work, read undefined variables, or
    /// are not lowerable.
    @Test func verifierRejectsBrokenPrograms() throws {
        let tile = OutputTile(row: .variable(.row), rows: 1, panel: .variable(.panel))
        func nest(_ body: [LoopNode], rowEnd: LoopExpr = .variable(.rowEnd)) -> LoopProgram {
            let panels = Loop(.panel, from: .variable(.panelBegin), to: .variable(.panelEnd), body: body)
            return LoopProgram(body: [.loop(Loop(.row, from: .variable(.rowBegin), to: rowEnd, body: [.loop(panels)]))],
                               panels: 3, fixedRows: nil)
        }
        try LoopVerifier.verify(nest([.accumulate(tile), .epilogue(tile)]), after: "test")
        #expect(throws: QuantError.self) { try LoopVerifier.verify(nest([.accumulate(tile)]), after: "missing store") }
        #expect(throws: QuantError.self) {
            try LoopVerifier.verify(nest([.accumulate(tile), .accumulate(tile), .epilogue(tile)]), after: "twice")
        }
        #expect(throws: QuantError.self) { try LoopVerifier.verify(nest([.epilogue(tile), .accumulate(tile)]), after: "order") }
        #expect(throws: QuantError.self) {
            try LoopVerifier.verify(nest([.accumulate(tile), .epilogue(tile)], rowEnd: .variable(.rowEnd) + -1), after: "short")
        }
        var wide = tile
        wide.rows = 2
        #expect(throws: QuantError.self) { try LoopVerifier.verify(nest([.accumulate(wide), .epilogue(wide)]), after: "overrun") }
        let undefined = OutputTile(row: .variable(LoopSymbol("q")), rows: 1, panel: .variable(.panel))
        #expect(throws: QuantError.self) { try LoopVerifier.verify(nest([.accumulate(undefined), .epilogue(undefined)]), after: "undefined") }
        #expect(throws: QuantError.self) {
            try LoopVerifier.verify(nest([.accumulate(tile), .epilogue(tile)]), after: "unlowered", lowerable: true)
        }
    }
}
