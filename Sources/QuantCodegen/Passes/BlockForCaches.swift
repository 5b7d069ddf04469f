import QuantOps

/// Pass 2: cache blocking. Blocks of `panelBlock` panels of B (sized for L2) outermost, blocks of
/// `rowBlock` rows of A inside; the row/panel nest then runs inside one block.
/// ```
/// for pb in panel_begin..<panel_end step NC: for rb in row_begin..<row_end step MC:
///   for m in rb..<min(rb + MC, row_end): for p in pb..<min(pb + NC, panel_end): ...
/// ```
enum BlockForCaches {
    static func run(_ program: LoopProgram, rowBlock: Int, panelBlock: Int) throws(QuantError) -> LoopProgram {
        var blocked = false
        let result = program.rewritten { node -> [LoopNode]? in
            guard var (rowLoop, panelLoop) = node.rowAroundPanel else { return nil }
            blocked = true
            rowLoop.start = .variable(.rowBlock)
            rowLoop.end = .min(.variable(.rowBlock) + rowBlock, .variable(.rowEnd))
            panelLoop.start = .variable(.panelBlock)
            panelLoop.end = .min(.variable(.panelBlock) + panelBlock, .variable(.panelEnd))
            rowLoop.body = [.loop(panelLoop)]
            let rowBlocks = Loop(.rowBlock, from: .variable(.rowBegin), to: .variable(.rowEnd), step: rowBlock, body: [.loop(rowLoop)])
            return [.loop(Loop(.panelBlock, from: .variable(.panelBegin), to: .variable(.panelEnd), step: panelBlock, body: [.loop(rowBlocks)]))]
        }
        if !blocked { throw .compilationFailed(stage: "blockForCaches", message: "expects the row/panel nest of buildLoopNest") }
        return result
    }
}
