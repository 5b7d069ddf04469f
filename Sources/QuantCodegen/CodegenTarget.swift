import LLVMKit
import QuantOps
import QuantSchedule

/// What code is generated for: an LLVM triple, CPU name and feature string. The host (for the
/// JIT) or any registered target (for AOT objects, e.g. `aarch64-unknown-linux-gnu` with
/// `+neon,+dotprod`).
public struct CodegenTarget: Sendable, Hashable, CustomStringConvertible {
    public var triple: String
    public var cpu: String
    public var features: String

    public init(triple: String, cpu: String = "generic", features: String = "") {
        self.triple = triple
        self.cpu = cpu
        self.features = features
    }

    /// This machine, with every feature LLVM detects.
    public static var host: CodegenTarget {
        CodegenTarget(triple: LLVM.hostTriple, cpu: LLVM.hostCPUName, features: LLVM.hostCPUFeatures)
    }

    /// The triple's architecture (`x86_64`, `aarch64`, ...).
    public var architecture: String { triple.split(separator: "-").first.map(String.init) ?? triple }

    /// The features explicitly enabled (`+name`).
    public var enabledFeatures: Set<String> {
        Set(features.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("+") })
    }

    /// Throws `unsupportedISA` unless this target can run `instruction`: the right architecture and
    /// every feature it needs. Checked before any code is emitted, because LLVM aborts the process
    /// when asked to select an instruction the target lacks.
    public func require(_ instruction: DotInstruction) throws(QuantError) {
        if let architecture = instruction.isa.architecture, architecture != self.architecture {
            throw .unsupportedISA(requested: instruction.isa.rawValue,
                                  reason: "\(instruction.isa.rawValue) is an \(architecture) instruction set; the target is \(triple)")
        }
        let missing = instruction.requiredLLVMFeatures.filter { !enabledFeatures.contains($0) }
        if !missing.isEmpty {
            throw .unsupportedISA(requested: instruction.isa.rawValue,
                                  reason: "target \(self) lacks \(missing.joined(separator: ", "))")
        }
    }

    public var description: String { "\(triple) cpu=\(cpu) features='\(features)'" }
}
