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
        let result = program.rewritten { node -> [LoopNode]? in
            guard case var .loop(loop) = node, loop.variable == .rowBlock else { return nil }
            packed = true
            let rows = PackARows(from: .variable(.rowBlock), to: .min(.variable(.rowBlock) + rowBlock, .variable(.rowEnd)),
                                 source: source, widen: widen, maxRows: rowBlock)
            loop.body = [.packA(rows)] + loop.body.rewritten { inner -> [LoopNode]? in
                guard case var .microkernel(call) = inner else { return nil }
                call.packedAFrom = .variable(.rowBlock)
                return [.microkernel(call)]
            }
            return [.loop(loop)]
        }
        if !packed { throw .compilationFailed(stage: "packA", message: "found no row-block loop \(LoopSymbol.rowBlock)") }
        return result
    }
}
