import QuantForge
import Testing

/// The lowering's passes and the loop-IR verifier.
struct LoopIRTests {
    func program(_ schedule: MatMulSchedule, op: MatMul) throws -> LoopProgram {
        try MatMulKernelEmitter(op: op, schedule: schedule).lower()
    }

    @Test func passesBuildTheExpectedNest() throws {
        let op = try MatMul(m: nil, k: 64, n: 100)
        let schedule = MatMulSchedule(isa: .avx512vnni, rowsPerTile: 4, vectorsPerRow: 2, kUnroll: 2, rowBlock: 8,
                                      panelBlock: 2, loopOrder: .panelsOuter)
        let text = try program(schedule, op: op).description
        #expect(text == """
            for pb in panel_begin..<panel_end step 2:
              for rb in row_begin..<row_end step 8:
                for p in pb..<min(pb + 2, panel_end):
                  for m in rb..<min(rb + 8, row_end) step 4 (whole steps):
                    microkernel avx512Vpdpbusd C[m +4 rows, panel p] ×2 vectors, k unroll 2 + fused epilogue
                  for m in rb + ((min(rb + 8, row_end) - (rb))/4)·4..<min(rb + 8, row_end):
                    microkernel avx512Vpdpbusd C[m +1 rows, panel p] ×2 vectors, k unroll 2 + fused epilogue
            """)
        var rowsOuter = schedule
        rowsOuter.loopOrder = .rowsOuter
        #expect(try program(rowsOuter, op: op).description.contains("for m in rb..<min(rb + 8, row_end) step 4 (whole steps):\n      for p in"))
    }

    /// The verifier must reject programs that miss or repeat work, read undefined variables, or
    /// are not lowerable.
    @Test func verifierRejectsBrokenPrograms() throws {
        let tile = OutputTile(row: .variable("m"), rows: 1, panel: .variable("p"))
        func nest(_ body: [LoopNode], rowEnd: LoopExpr = .variable("row_end")) -> LoopProgram {
            let panels = Loop("p", from: .variable("panel_begin"), to: .variable("panel_end"), body: body)
            return LoopProgram(body: [.loop(Loop("m", from: .variable("row_begin"), to: rowEnd, body: [.loop(panels)]))],
                               panels: 3, fixedRows: nil)
        }
        try LoopVerifier.verify(nest([.accumulate(tile), .epilogue(tile)]), after: "test")
        #expect(throws: QuantError.self) { try LoopVerifier.verify(nest([.accumulate(tile)]), after: "missing store") }
        #expect(throws: QuantError.self) {
            try LoopVerifier.verify(nest([.accumulate(tile), .accumulate(tile), .epilogue(tile)]), after: "twice")
        }
        #expect(throws: QuantError.self) { try LoopVerifier.verify(nest([.epilogue(tile), .accumulate(tile)]), after: "order") }
        #expect(throws: QuantError.self) {
            try LoopVerifier.verify(nest([.accumulate(tile), .epilogue(tile)], rowEnd: .variable("row_end") + -1), after: "short")
        }
        var wide = tile
        wide.rows = 2
        #expect(throws: QuantError.self) { try LoopVerifier.verify(nest([.accumulate(wide), .epilogue(wide)]), after: "overrun") }
        let undefined = OutputTile(row: .variable("q"), rows: 1, panel: .variable("p"))
        #expect(throws: QuantError.self) { try LoopVerifier.verify(nest([.accumulate(undefined), .epilogue(undefined)]), after: "undefined") }
        #expect(throws: QuantError.self) {
            try LoopVerifier.verify(nest([.accumulate(tile), .epilogue(tile)]), after: "unlowered", lowerable: true)
        }
    }
}
