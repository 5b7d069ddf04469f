import ArgumentParser
import Foundation
import QuantForge

/// `qforge aot`: kernels compiled ahead of time into an object and a C header.
struct AOTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aot",
        abstract: "Generate an object file and C header of int8 kernels for a target (no LLVM needed to use them).")

    @Option(help: "A JSON spec listing kernels (see README). Instead of --op/--m/--k/--n.")
    var spec: String?
    @Option(help: "Operator preset for a single kernel: u8s8s32 | u8s8u8_requant | s8s8s32.")
    var op: OperatorPreset = .u8s8u8_requant
    @Option(help: "Rows of A (omit for M given per call).") var m: Int?
    @Option(help: "Depth K.") var k: Int?
    @Option(help: "Columns N.") var n: Int?
    @Option(help: "Kernel name (a C identifier) for --op.") var name: String = "qf_matmul"
    @Option(help: "Target preset: \(TargetPreset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var target: String = "host"
    @Option(help: "LLVM triple (overrides --target), e.g. aarch64-unknown-linux-gnu.") var triple: String?
    @Option(help: "CPU name for --triple.") var cpu: String = "generic"
    @Option(help: "Feature string for --triple, e.g. +neon,+dotprod.") var features: String = ""
    @Flag(help: "Compile every instruction set the target has, with a run-time CPUID dispatcher.")
    var multiISA = false
    @Option(help: "Library name (file names and C prefix).") var library: String = "qf_kernels"
    @Option(help: "Output directory.") var out: String
    @Option(help: "Template directory (default: this checkout's templates/).") var templates: String?

    func run() throws {
        let specs: [KernelSpec]
        if let spec {
            specs = try KernelSpec.parse(try Data(contentsOf: URL(fileURLWithPath: spec)))
        } else {
            guard let k, let n else { throw ValidationError("give --spec FILE, or --k and --n (and --m) for one kernel") }
            specs = [KernelSpec(name: name, op: try op.matMul(m: m, k: k, n: n))]
        }
        let codegenTarget: CodegenTarget
        if let triple {
            codegenTarget = CodegenTarget(triple: triple, cpu: cpu, features: features)
        } else {
            guard let preset = TargetPreset(rawValue: target) else {
                throw ValidationError("unknown --target \(target); known: \(TargetPreset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            codegenTarget = preset.target
        }
        let caches = target == "host" && triple == nil ? HostCPU.current.caches : nil
        let files = try AOTBuilder.build(specs, target: codegenTarget, library: library, multiISA: multiISA,
                                         templates: templates.map { URL(fileURLWithPath: $0) } ?? AOTBuilder.defaultTemplates,
                                         caches: caches)
        let directory = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (file, bytes) in files.sorted(by: { $0.key < $1.key }) {
            try Data(bytes).write(to: directory.appendingPathComponent(file), options: .atomic)
            print("wrote \(directory.appendingPathComponent(file).path) (\(bytes.count) bytes)")
        }
        print("\(specs.count) kernel(s) for \(codegenTarget)\(multiISA ? ", variants: \(AOTBuilder.variants(for: codegenTarget).map(\.rawValue).joined(separator: ", "))" : "")")
    }
}
