import QuantOps
import QuantSchedule

/// Pass 3: the loop order inside a cache block. `.panelsOuter` keeps one B panel (K × NR, sized
/// for L1) hot across all row tiles of the block; `.rowsOuter` keeps one A row tile hot across
/// the block's panels.
enum OrderLoops {
    static func run(_ program: LoopProgram, order: LoopOrder) throws(QuantError) -> LoopProgram {
        var swapped = false
        func rewrite(_ nodes: [LoopNode]) -> [LoopNode] {
            nodes.map { node in
                guard case var .loop(loop) = node else { return node }
                if order == .panelsOuter, loop.variable == "m", loop.body.count == 1, case var .loop(inner) = loop.body[0],
                   inner.variable == "p" {
                    loop.body = inner.body
                    inner.body = [.loop(loop)]
                    swapped = true
                    return .loop(inner)
                }
                loop.body = rewrite(loop.body)
                return .loop(loop)
            }
        }
        var result = program
        result.body = rewrite(program.body)
        if order == .panelsOuter && !swapped {
            throw .compilationFailed(stage: "orderLoops", message: "found no row loop directly around a panel loop")
        }
        return result
    }
}
