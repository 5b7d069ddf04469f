import CLLVM

/// Runs a textual new-pass-manager pipeline (e.g. `default<O2>` or `instcombine,simplifycfg`) over a
/// module through `LLVMRunPasses`.
public enum PassPipeline {
    /// InstCombine as production code must name it. From LLVM 18 on, a pipeline string's plain
    /// `instcombine` verifies that one iteration reached a fixpoint and aborts the process when it
    /// did not (a testing aid; "Instruction Combining did not reach a fixpoint after 1 iterations",
    /// seen here with LLVM 19): `instcombine<no-verify-fixpoint>` is what LLVM's own pipelines use.
    public static var instCombine: String {
        LLVM.majorVersion >= 18 ? "instcombine<no-verify-fixpoint>" : "instcombine"
    }

    public static func run(_ pipeline: String, on module: Module, for machine: TargetMachine) throws {
        guard !pipeline.isEmpty else { return }
        let options = LLVMCreatePassBuilderOptions()
        defer { LLVMDisposePassBuilderOptions(options) }
        try LLVMError.check(LLVMRunPasses(module.ref, pipeline, machine.ref, options), "run passes '\(pipeline)'")
    }
}
