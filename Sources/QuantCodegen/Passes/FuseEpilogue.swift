/// Pass 6: a microkernel followed by the epilogue of the same tile stores through the epilogue
/// directly from its accumulator registers (no int32 round trip through memory).
enum FuseEpilogue {
    static func run(_ program: LoopProgram) -> LoopProgram {
        program.rewrittenLists { nodes in
            var out: [LoopNode] = []
            for node in nodes {
                if case let .epilogue(tile) = node, case var .microkernel(call)? = out.last, call.tile == tile, !call.epilogueFused {
                    call.epilogueFused = true
                    out[out.count - 1] = .microkernel(call)
                } else {
                    out.append(node)
                }
            }
            return out
        }
    }
}
