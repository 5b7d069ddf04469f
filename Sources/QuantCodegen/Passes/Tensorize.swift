import QuantSchedule

/// Pass 5: each accumulation tile becomes a call of the instruction's microkernel (`vectors`
/// accumulator vectors per row, the K loop unrolled by `kUnroll`).
enum Tensorize {
    static func run(_ program: LoopProgram, instruction: DotInstruction, vectors: Int, kUnroll: Int) -> LoopProgram {
        func rewrite(_ nodes: [LoopNode]) -> [LoopNode] {
            nodes.map { node in
                switch node {
                case var .loop(loop):
                    loop.body = rewrite(loop.body)
                    return .loop(loop)
                case let .accumulate(tile):
                    return .microkernel(MicrokernelCall(tile: tile, instruction: instruction.kind, vectors: vectors,
                                                        kUnroll: kUnroll, epilogueFused: false))
                default:
                    return node
                }
            }
        }
        var result = program
        result.body = rewrite(program.body)
        return result
    }
}
