import ArgumentParser
import Foundation
import QuantForge
import QuantForgeTooling

/// `qforge fuzz`: differential fuzzing of every operator, ISA and schedule against the reference
/// interpreter; failures are minimized and written as replayable spec files.
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fuzz",
                                                    abstract: "Differential fuzzing: random operators, shapes, parameters and schedules on every ISA vs the reference.")

    @Option(help: "Run for this many seconds.") var seconds: Double = 60
    @Option(help: "Stop after this many kernels instead (each run on --inputs seeds).") var kernels: Int?
    @Option(help: "Random seed (the same seed and jobs draw the same cases).") var seed: UInt64 = 1
    @Option(help: "Parallel jobs.") var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Input seeds per compiled kernel.") var inputs: Int = 16
    @Option(help: "Comma-separated ISAs (default: every one this CPU runs).") var isa: String?
    @Option(help: "Every N-th kernel is built for AArch64 (NEON dot product) and run under qemu-aarch64 (0: none).")
    var aarch64Every: Int = 50
    @Option(help: "Folder for the minimized failing cases.") var out: String = "fuzz-failures"
    @Option(help: "Replay one spec file written by an earlier run instead of fuzzing.") var replay: String?

    func validate() throws {
        try OptionChecks.seconds(seconds, "seconds", limit: 7 * 24 * 3600)
        if let kernels { try OptionChecks.count(kernels, "kernels", 1...100_000_000) }
        try OptionChecks.count(jobs, "jobs", 1...ThreadPool.threadLimit)
        try OptionChecks.count(inputs, "inputs", 1...100_000)
        try OptionChecks.count(aarch64Every, "aarch64-every", 0...1_000_000)
        if let isa { _ = try OptionChecks.isas(isa) }
        if replay == nil { try OutputDirectory(out).check(names: []) }
    }

    /// A replay file: decoded (which re-validates the operator) and checked as outside input.
    static func readCase(_ path: String) throws -> FuzzCase {
        do { return try FuzzCase.replay(from: try FileTrust.readRegularFile(path, limit: 16 << 20, followLinks: true).data) } catch {
            throw ValidationError("\(path) is not a valid fuzz case: \(error)")
        }
    }

    func run() throws {
        if let replay {
            let fuzzCase = try Self.readCase(replay)
            let outcome = DifferentialFuzzer(seed: seed, isas: [fuzzCase.isa]).replay(fuzzCase)
            print("\(fuzzCase.op.name) on \(fuzzCase.isa)\(fuzzCase.schedule.map { " (\($0))" } ?? ""), input seed \(fuzzCase.inputSeed): \(outcome)")
            if outcome != .match { throw ExitCode(1) }
            return
        }
        let engine = try Engine()
        let isas = try isa.map { try OptionChecks.isas($0) } ?? engine.compilableISAs
        for chosen in isas { try HostCPU.current.require(chosen) }
        var aarch64Every = self.aarch64Every
        if aarch64Every > 0, let reason = AArch64Emulator.unavailableReason {
            print("no AArch64 sample: \(reason)")
            aarch64Every = 0
        }
        let fuzzer = DifferentialFuzzer(seed: seed, isas: isas, jobs: jobs, inputsPerKernel: inputs, aarch64Every: aarch64Every)
        let sample = aarch64Every > 0 ? ", every \(aarch64Every)th kernel for AArch64 under qemu (\(fuzzer.aarch64Inputs) inputs)" : ""
        FileHandle.standardOutput.write(Data("fuzzing \(isas.map(\.rawValue).joined(separator: ",")) with \(jobs) job(s), seed \(seed), \(inputs) inputs per kernel\(sample)\n".utf8))
        let lastPrint = LastPrint()
        let summary = fuzzer.run(seconds: kernels == nil ? seconds : nil, kernels: kernels) { summary in
            if lastPrint.due() { FileHandle.standardOutput.write(Data(("\r" + summary.line + "   ").utf8)) }
        }
        print("\r" + summary.line + "   ")
        if !summary.failures.isEmpty {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            for (fuzzCase, outcome) in summary.failures {
                // Never over an earlier run's reproducer: fuzz-SEED-1.json, fuzz-SEED-2.json, ...
                let path = try OutputDirectory(out).writeUnique(stem: "fuzz-\(seed)", extension: "json", try encoder.encode(fuzzCase))
                print("FAILED \(fuzzCase.op.name) on \(fuzzCase.isa): \(outcome) -> \(path) (qforge fuzz --replay \(path))")
            }
            throw ExitCode(1)
        }
    }

    /// Rate-limits the progress line to one per second.
    final class LastPrint: @unchecked Sendable {
        private var last: UInt64 = 0
        func due() -> Bool {
            let now = DispatchTime.now().uptimeNanoseconds
            if now - last < 1_000_000_000 { return false }
            last = now
            return true
        }
    }
}
