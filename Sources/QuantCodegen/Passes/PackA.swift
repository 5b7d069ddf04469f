import QuantOps

/// Pass 7 (for instructions that pack A, and for convolutions): each row block first brings its
/// rows of A into the block's buffer (gathering convolution windows, widening for the
/// instruction, or both), and every microkernel inside reads A from there.
/// ```
/// for rb in ...: pack A rows rb..<min(rb + MC, row_end); (the block's loops, microkernels reading packed A)
/// ```
enum PackA {
    static func run(_ program: LoopProgram, rowBlock: Int, source: PackARows.Source? = nil, widen: Bool = true) throws(QuantError) -> LoopProgram {
        var packed = false
        func markMicrokernels(_ nodes: [LoopNode]) -> [LoopNode] {
            nodes.map { node in
                switch node {
                case var .loop(loop):
                    loop.body = markMicrokernels(loop.body)
                    return .loop(loop)
                case var .microkernel(call):
                    call.packedAFrom = .variable("rb")
                    return .microkernel(call)
                default:
                    return node
                }
            }
        }
        func rewrite(_ nodes: [LoopNode]) -> [LoopNode] {
            nodes.map { node in
                guard case var .loop(loop) = node else { return node }
                if loop.variable == "rb" {
                    packed = true
                    let rows = PackARows(from: .variable("rb"), to: .min(.variable("rb") + rowBlock, .variable("row_end")),
                                         source: source, widen: widen)
                    loop.body = [.packA(rows)] + markMicrokernels(loop.body)
                } else {
                    loop.body = rewrite(loop.body)
                }
                return .loop(loop)
            }
        }
        var result = program
        result.body = rewrite(program.body)
        if !packed { throw .compilationFailed(stage: "packA", message: "found no row-block loop rb") }
        return result
    }
}
