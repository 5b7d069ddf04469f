/// Pass 6: a microkernel followed by the epilogue of the same tile stores through the epilogue
/// directly from its accumulator registers (no int32 round trip through memory).
enum FuseEpilogue {
    static func run(_ program: LoopProgram) -> LoopProgram {
        func rewrite(_ nodes: [LoopNode]) -> [LoopNode] {
            var out: [LoopNode] = []
            for node in nodes {
                switch node {
                case var .loop(loop):
                    loop.body = rewrite(loop.body)
                    out.append(.loop(loop))
                case let .epilogue(tile):
                    if case var .microkernel(call)? = out.last, call.tile == tile, !call.epilogueFused {
                        call.epilogueFused = true
                        out[out.count - 1] = .microkernel(call)
                    } else {
                        out.append(node)
                    }
                default:
                    out.append(node)
                }
            }
            return out
        }
        var result = program
        result.body = rewrite(program.body)
        return result
    }
}
