import CLLVM

/// Runs a textual new-pass-manager pipeline (e.g. `default<O2>` or `instcombine,simplifycfg`) over a
/// module through `LLVMRunPasses`.
public enum PassPipeline {
    public static func run(_ pipeline: String, on module: Module, for machine: TargetMachine) throws {
        guard !pipeline.isEmpty else { return }
        let options = LLVMCreatePassBuilderOptions()
        defer { LLVMDisposePassBuilderOptions(options) }
        try LLVMError.check(LLVMRunPasses(module.ref, pipeline, machine.ref, options), "run passes '\(pipeline)'")
    }
}
