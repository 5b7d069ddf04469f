import QuantSchedule

/// Pass 5: each accumulation tile becomes a call of the instruction's microkernel (`vectors`
/// accumulator vectors per row, the K loop unrolled by `kUnroll`).
enum Tensorize {
    static func run(_ program: LoopProgram, instruction: DotInstruction, vectors: Int, kUnroll: Int) -> LoopProgram {
        program.rewritten { node -> [LoopNode]? in
            guard case let .accumulate(tile) = node else { return nil }
            return [.microkernel(MicrokernelCall(tile: tile, instruction: instruction.kind, vectors: vectors, kUnroll: kUnroll,
                                                 epilogueFused: false))]
        }
    }
}
