import QuantCodegen
import QuantSchedule
import Testing

/// The peak probe compiles and runs for every ISA here, and its figure is a plausible rate:
/// positive, and below what the instruction could do at 4 per cycle at 6.5 GHz. (Noise can only
/// lower a best-of rate, so the bound cannot fail on a busy machine; comparing with a kernel's
/// time could, and speed is measured by `qforge bench`, not asserted in tests.)
struct PeakProbeTests {
    /// Every ISA that runs here and has an instruction, forced one by one.
    static let isas = ISA.allCases.filter { HostCPU.current.supports($0) && (try? InstructionTable.instruction(for: $0)) != nil }

    @Test(arguments: isas)
    func probeRunsAndGivesAPlausibleRate(_ isa: ISA) throws {
        let peak = try PeakProbe.measure(isa, seconds: 0.05)
        let instruction = try InstructionTable.instruction(for: isa)
        let ceiling = Double(4 * instruction.lanes * instruction.kGroup * instruction.rowsPerInstruction) * 6.5
        #expect(peak.gmacs.isFinite && peak.gmacs > 0)
        #expect(peak.gmacs < ceiling, "\(isa): \(peak.gmacs) GMAC/s is more than \(ceiling), the probe miscounts")
    }
}
