import QuantOps

/// Pass 2: cache blocking. Blocks of `panelBlock` panels of B (sized for L2) outermost, blocks of
/// `rowBlock` rows of A inside; the row/panel nest then runs inside one block.
/// ```
/// for pb in panel_begin..<panel_end step NC: for rb in row_begin..<row_end step MC:
///   for m in rb..<min(rb + MC, row_end): for p in pb..<min(pb + NC, panel_end): ...
/// ```
enum BlockForCaches {
    static func run(_ program: LoopProgram, rowBlock: Int, panelBlock: Int) throws(QuantError) -> LoopProgram {
        guard program.body.count == 1, case var .loop(rowLoop) = program.body[0], rowLoop.variable == "m",
              rowLoop.body.count == 1, case var .loop(panelLoop) = rowLoop.body[0], panelLoop.variable == "p"
        else { throw .compilationFailed(stage: "blockForCaches", message: "expects the row/panel nest of buildLoopNest") }
        rowLoop.start = .variable("rb")
        rowLoop.end = .min(.variable("rb") + rowBlock, .variable("row_end"))
        panelLoop.start = .variable("pb")
        panelLoop.end = .min(.variable("pb") + panelBlock, .variable("panel_end"))
        rowLoop.body = [.loop(panelLoop)]
        let rowBlocks = Loop("rb", from: .variable("row_begin"), to: .variable("row_end"), step: rowBlock, body: [.loop(rowLoop)])
        let panelBlocks = Loop("pb", from: .variable("panel_begin"), to: .variable("panel_end"), step: panelBlock,
                               body: [.loop(rowBlocks)])
        var result = program
        result.body = [.loop(panelBlocks)]
        return result
    }
}
