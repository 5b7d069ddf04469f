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
    @Option(help: "Output directory (created if missing; files QuantForge did not write there are not replaced).") var out: String
    @Flag(help: "Replace files in --out that QuantForge did not write (or that were edited since).") var force = false
    @Option(help: "Template directory (default: the templates built into qforge; never one other users can write).") var templates: String?

    func validate() throws {
        try OutputDirectory(out, force: force).check(names: [], inputs: spec.map { [$0] } ?? [])
        if let k { try OptionChecks.count(k, "k", 1...MatMul.maxDimension) }
        if let n { try OptionChecks.count(n, "n", 1...MatMul.maxDimension) }
        if let m { try OptionChecks.count(m, "m", 1...MatMul.maxDimension) }
    }

    func run() throws {
        let specs: [KernelSpec]
        if let spec {
            specs = try KernelSpec.parse(try FileTrust.readRegularFile(spec, limit: 64 << 20, followLinks: true).data)
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
                                         templates: templates.map { URL(fileURLWithPath: $0) },
                                         caches: caches)
        try OutputDirectory(out, force: force).write(files.mapValues { Data($0) }, inputs: spec.map { [$0] } ?? [])
        for (file, bytes) in files.sorted(by: { $0.key < $1.key }) {
            print("wrote \(out)/\(file) (\(bytes.count) bytes)")
        }
        print("\(specs.count) kernel(s) for \(codegenTarget)\(multiISA ? ", variants: \(AOTBuilder.variants(for: codegenTarget).map(\.rawValue).joined(separator: ", "))" : "")")
    }
}
