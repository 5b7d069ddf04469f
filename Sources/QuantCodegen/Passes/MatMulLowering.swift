import QuantOps
import QuantSchedule

/// A matmul lowered to the loop IR: the verified program and the data formats it reads (operator,
/// instruction, packed layout, operand adjustment, convolution geometry). What emission needs and
/// nothing more: the schedule's decisions are in the program (loops, tiles, microkernel calls with
/// their vectors and unroll, row blocks, buffers), and the schedule itself is not here.
public struct LoweredMatMul: Sendable {
    public let program: LoopProgram
    public let op: MatMul
    public let instruction: DotInstruction
    public let layout: PackedLayout
    public let adjustment: OperandAdjustment
    public let convolution: ConvolutionGeometry?
}

/// The matmul's lowering, top to bottom (as Halide's Lower.cpp): each pass rewrites the loop IR,
/// `QFORGE_DUMP=loops` prints the program after it, and the verifier checks it. The result is
/// what `MatMulKernelEmitter` turns into LLVM IR.
public enum MatMulLowering {
    public static func lower(_ plan: MatMulPlan, name: String = "kernel") throws(QuantError) -> LoweredMatMul {
        let schedule = plan.schedule
        var program = BuildLoopNest.run(panels: plan.layout.panels, fixedRows: plan.op.m)
        try checkpoint(program, "buildLoopNest", name)
        program = try BlockForCaches.run(program, rowBlock: schedule.rowBlock, panelBlock: schedule.panelBlock)
        try checkpoint(program, "blockForCaches", name)
        program = try OrderLoops.run(program, order: schedule.loopOrder)
        try checkpoint(program, "orderLoops", name)
        program = try TileRows.run(program, rowsPerTile: schedule.rowsPerTile, instruction: plan.instruction)
        try checkpoint(program, "tileRows", name)
        program = Tensorize.run(program, instruction: plan.instruction, vectors: schedule.vectorsPerRow, kUnroll: schedule.kUnroll)
        try checkpoint(program, "tensorize", name)
        program = FuseEpilogue.run(program)
        try checkpoint(program, "fuseEpilogue", name, lowerable: true)
        if plan.widensA || plan.producedA != nil {
            program = try PackA.run(program, rowBlock: schedule.rowBlock, source: plan.producedA, widen: plan.widensA)
            try checkpoint(program, "packA", name, lowerable: true)
        }
        program = GuardPartialPanel.run(program, layout: plan.layout)
        try checkpoint(program, "guardPartialPanel", name, lowerable: true)
        program = AllocateBuffers.run(program, op: plan.op, instruction: plan.instruction, layout: plan.layout,
                                      producedSlack: plan.convolution?.gatherOverrunBytes ?? 0)
        try checkpoint(program, "allocateBuffers", name, lowerable: true)
        return LoweredMatMul(program: program, op: plan.op, instruction: plan.instruction, layout: plan.layout,
                             adjustment: plan.adjustment, convolution: plan.convolution)
    }

    private static func checkpoint(_ program: LoopProgram, _ pass: String, _ name: String, lowerable: Bool = false) throws(QuantError) {
        IRDump.write("loops", "\(name) after \(pass)", program.description)
        try LoopVerifier.verify(program, after: pass, lowerable: lowerable)
    }
}
