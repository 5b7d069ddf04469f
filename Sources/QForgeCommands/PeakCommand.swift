import ArgumentParser
import QuantForge

/// `qforge peak`: the measured peak MAC rate of each instruction set's dot instruction, now.
struct PeakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "peak", abstract: "Measure each usable ISA's int8 peak (GMAC/s per core), now.")

    @Option(help: "Seconds per ISA.")
    var seconds: Double = 0.3

    func validate() throws { try OptionChecks.seconds(seconds, "seconds", limit: 60) }

    func run() throws {
        let engine = try Engine()
        for isa in engine.compilableISAs {
            let instruction = try InstructionTable.instruction(for: isa)
            let result = try PeakProbe.measure(isa, seconds: seconds)
            print("\(isa.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) \(String(format: "%8.1f", result.gmacs)) GMAC/s  (\(instruction.mnemonic), \(result.accumulators) accumulators)\(isa == .amx && HostCPU.current.amxEmulation ? ", emulated with AVX-512" : "")")
        }
    }
}
