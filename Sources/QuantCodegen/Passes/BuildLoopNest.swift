/// Pass 1: the operator as a plain loop nest over output rows and B panels, each (row, panel)
/// accumulated over all of K and then stored through the epilogue.
/// ```
/// for m in row_begin..<row_end: for p in panel_begin..<panel_end: acc C[m, p]; store C[m, p]
/// ```
enum BuildLoopNest {
    static func run(panels: Int, fixedRows: Int?) -> LoopProgram {
        let tile = OutputTile(row: .variable("m"), rows: 1, panel: .variable("p"))
        let panelLoop = Loop("p", from: .variable("panel_begin"), to: .variable("panel_end"),
                             body: [.accumulate(tile), .epilogue(tile)])
        let rowLoop = Loop("m", from: .variable("row_begin"), to: .variable("row_end"), body: [.loop(panelLoop)])
        return LoopProgram(body: [.loop(rowLoop)], panels: panels, fixedRows: fixedRows)
    }
}
