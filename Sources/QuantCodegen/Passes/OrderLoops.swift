import QuantOps
import QuantSchedule

/// Pass 3: the loop order inside a cache block. `.panelsOuter` keeps one B panel (K × NR, sized
/// for L1) hot across all row tiles of the block; `.rowsOuter` keeps one A row tile hot across
/// the block's panels.
enum OrderLoops {
    static func run(_ program: LoopProgram, order: LoopOrder) throws(QuantError) -> LoopProgram {
        guard order == .panelsOuter else { return program }
        var swapped = false
        let result = program.rewritten { node -> [LoopNode]? in
            guard var (rowLoop, panelLoop) = node.rowAroundPanel else { return nil }
            swapped = true
            rowLoop.body = panelLoop.body
            panelLoop.body = [.loop(rowLoop)]
            return [.loop(panelLoop)]
        }
        if !swapped { throw .compilationFailed(stage: "orderLoops", message: "found no row loop directly around a panel loop") }
        return result
    }
}
