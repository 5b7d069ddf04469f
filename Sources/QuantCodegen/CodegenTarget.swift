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
    /// AMX kernels for this target emulate the tile operations with AVX-512 (`QFORGE_AMX_EMULATION`
    /// on the host; `qforge aot --amx-emulation`). Only where the target lacks AMX itself.
    public var emulatesAMX: Bool

    public init(triple: String, cpu: String = "generic", features: String = "", emulatesAMX: Bool = false) {
        self.triple = triple
        self.cpu = cpu
        self.features = features
        self.emulatesAMX = emulatesAMX
    }

    /// This machine, with every feature LLVM detects (and AMX emulated when the host emulates it).
    public static var host: CodegenTarget {
        CodegenTarget(triple: LLVM.hostTriple, cpu: LLVM.hostCPUName, features: LLVM.hostCPUFeatures,
                      emulatesAMX: HostCPU.current.amxEmulation)
    }

    /// True when AMX tile operations are emitted as the instructions for a function with target
    /// features `features` (it enables amx-tile and amx-int8); otherwise they are emulated.
    public static func hasAMXTiles(_ features: String) -> Bool {
        let names = Set(features.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        return names.contains("+amx-tile") && names.contains("+amx-int8")
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
        let needed = instruction.usesTiles && emulatesAMX && !Self.hasAMXTiles(features)
            ? InstructionTable.amxEmulationLLVMFeatures : instruction.requiredLLVMFeatures
        let missing = needed.filter { !enabledFeatures.contains($0) }
        if !missing.isEmpty {
            throw .unsupportedISA(requested: instruction.isa.rawValue,
                                  reason: "target \(self) lacks \(missing.joined(separator: ", "))")
        }
    }

    public var description: String { "\(triple) cpu=\(cpu) features='\(features)'\(emulatesAMX ? " (AMX emulated)" : "")" }

    /// Features no target of an architecture may turn off (its ABI and QuantForge's code need them).
    static let baselineFeatures = ["x86_64": ["sse", "sse2", "64bit", "x87", "cx8", "fxsr"], "aarch64": ["neon", "fp-armv8"]]

    /// Throws `invalidArgument` for a target QuantForge cannot generate code for, checked before
    /// LLVM generates anything (LLVM aborts the process on an unknown CPU or an unsupported triple):
    /// an architecture other than x86_64 and aarch64, an OS other than Linux, a CPU or feature name
    /// LLVM does not know for the triple, or a baseline feature turned off.
    public func validate() throws(QuantError) {
        let arch = architecture == "arm64" ? "aarch64" : architecture == "amd64" ? "x86_64" : architecture
        guard let baseline = Self.baselineFeatures[arch] else {
            throw .invalidArgument(field: "triple", reason: "'\(triple)': QuantForge generates code for x86_64 and aarch64 only")
        }
        guard triple.contains("linux") else {
            throw .invalidArgument(field: "triple", reason: "'\(triple)': ahead-of-time libraries are built for Linux (ELF) only")
        }
        let names = features.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        // (The limits keep LLVM's warnings about unknown names within the pipe that captures them.)
        guard features.utf8.count <= 8192, names.count <= 400, cpu.utf8.count <= 64 else {
            throw .invalidArgument(field: "features", reason: "at most 400 features and 8192 characters, and a CPU name of at most 64")
        }
        for name in names where !name.isEmpty {
            guard name.range(of: "^[+-][a-z0-9.-]+$", options: .regularExpression) != nil else {
                throw .invalidArgument(field: "features", reason: "'\(name)' is not +name or -name")
            }
            if name.hasPrefix("-") && baseline.contains(String(name.dropFirst())) {
                throw .invalidArgument(field: "features", reason: "'\(name)': every \(arch) target needs \(name.dropFirst())")
            }
        }
        guard cpu.range(of: "^[a-z0-9._-]+$", options: .regularExpression) != nil else {
            throw .invalidArgument(field: "cpu", reason: "'\(cpu)' is not a CPU name")
        }
        let unknown: [String]
        do { unknown = try TargetMachine.unrecognizedNames(triple: triple, cpu: cpu, features: features) } catch {
            throw .invalidArgument(field: "triple", reason: "'\(triple)': \(error)")
        }
        if let first = unknown.first {
            throw .invalidArgument(field: first.contains("processor") ? "cpu" : "features", reason: "LLVM \(LLVM.versionString): \(first)")
        }
    }
}
