import LLVMKit
import QuantSchedule

extension DotInstruction {
    /// Sets `function`'s target features to the module's (`targetFeatures`) plus this instruction's
    /// confining features for the module's architecture (e.g. `-avx512f,-avxvnni` for AVX2), so that
    /// everything a variant of a forced or multi-ISA build emits — kernels, packing routines,
    /// operators, probes — is code for that ISA only and runs on a CPU that has nothing more.
    func confine(_ function: IRValue, in module: Module, targetFeatures: String) {
        let architecture = module.triple.split(separator: "-").first.map(String.init) ?? ""
        guard let confining = confiningFeatures[architecture] else { return }
        IRFunction.setAttribute(function, "target-features", targetFeatures.isEmpty ? confining : targetFeatures + "," + confining)
    }
}
