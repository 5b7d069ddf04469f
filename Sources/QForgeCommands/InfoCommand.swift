import ArgumentParser
import LLVMKit
import QuantForge

/// `qforge info`: what this machine offers and what QuantForge will use.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show the CPU, its int8 instruction sets, caches and LLVM.")

    func run() throws {
        let host = HostCPU.current
        print(host)
        print("instruction sets:")
        for isa in ISA.allCases {
            let kernel = (try? InstructionTable.instruction(for: isa)).map { "microkernel: \($0.mnemonic)" } ?? "no microkernel yet"
            if let reason = host.unavailabilityReason(isa) {
                print("  \(isa.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) unavailable (\(reason))")
            } else {
                print("  \(isa.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) usable; \(kernel)")
            }
        }
        do {
            let engine = try Engine()
            print("default isa: \(engine.isa)")
            for (isa, reason) in engine.isaFallbackReasons.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                print("fallback: \(isa) not used (\(reason))")
            }
        } catch {
            print("default isa: none (\(error))")
        }
        print("quantforge: \(QuantForgeVersion.package) (generator \(QuantForgeVersion.generator))")
        print("llvm: \(LLVM.versionString)")
        print("llvm target: \(LLVM.hostTriple)")
        print("llvm cpu: \(LLVM.hostCPUName)")
        print("llvm features: \(LLVM.hostCPUFeatures)")
    }
}
