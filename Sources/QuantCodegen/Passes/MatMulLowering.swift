import QuantOps
import QuantSchedule

/// The matmul's lowering, top to bottom (as Halide's Lower.cpp): each pass rewrites the loop IR,
/// `QFORGE_DUMP=loops` prints the program after it, and the verifier checks it. The last program
/// is what `MatMulKernelEmitter` turns into LLVM IR.
public enum MatMulLowering {
    public static func lower(op: MatMul, schedule: MatMulSchedule, instruction: DotInstruction,
                             layout: PackedLayout, name: String = "kernel", producesA: PackARows.Source? = nil) throws(QuantError) -> LoopProgram {
        var program = BuildLoopNest.run(panels: layout.panels, fixedRows: op.m)
        try checkpoint(program, "buildLoopNest", name)
        program = try BlockForCaches.run(program, rowBlock: schedule.rowBlock, panelBlock: schedule.panelBlock)
        try checkpoint(program, "blockForCaches", name)
        program = try OrderLoops.run(program, order: schedule.loopOrder)
        try checkpoint(program, "orderLoops", name)
        program = try TileRows.run(program, rowsPerTile: schedule.rowsPerTile)
        try checkpoint(program, "tileRows", name)
        program = Tensorize.run(program, instruction: instruction, vectors: schedule.vectorsPerRow, kUnroll: schedule.kUnroll)
        try checkpoint(program, "tensorize", name)
        program = FuseEpilogue.run(program)
        try checkpoint(program, "fuseEpilogue", name, lowerable: true)
        let widens = instruction.packsA(rowBlock: schedule.rowBlock, k: op.k)
        if widens || producesA != nil {
            program = try PackA.run(program, rowBlock: schedule.rowBlock, source: producesA, widen: widens)
            try checkpoint(program, "packA", name, lowerable: true)
        }
        return program
    }

    private static func checkpoint(_ program: LoopProgram, _ pass: String, _ name: String, lowerable: Bool = false) throws(QuantError) {
        IRDump.write("loops", "\(name) after \(pass)", program.description)
        try LoopVerifier.verify(program, after: pass, lowerable: lowerable)
    }
}
