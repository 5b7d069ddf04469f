/// Pass 1: the operator as a plain loop nest over output rows and B panels, each (row, panel)
/// accumulated over all of K and then stored through the epilogue.
/// ```
/// for m in row_begin..<row_end: for p in panel_begin..<panel_end: acc C[m, p]; store C[m, p]
/// ```
enum BuildLoopNest {
    static func run(panels: Int, fixedRows: Int?) -> LoopProgram {
        let tile = OutputTile(row: .variable(.row), rows: 1, panel: .variable(.panel))
        let panelLoop = Loop(.panel, from: .variable(.panelBegin), to: .variable(.panelEnd), body: [.accumulate(tile), .epilogue(tile)])
        let rowLoop = Loop(.row, from: .variable(.rowBegin), to: .variable(.rowEnd), body: [.loop(panelLoop)])
        return LoopProgram(body: [.loop(rowLoop)], panels: panels, fixedRows: fixedRows)
    }
}
