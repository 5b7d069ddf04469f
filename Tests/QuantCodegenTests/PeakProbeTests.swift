import QuantForge
import Testing

/// The peak probe compiles and runs for every ISA here, and its figure is a plausible rate:
/// positive, and below what the instruction could do at 4 per cycle at 6.5 GHz. (Noise can only
/// lower a best-of rate, so the bound cannot fail on a busy machine; comparing with a kernel's
/// time could, and speed is measured by `qforge bench`, not asserted in tests.)
struct PeakProbeTests {
    @Test(arguments: isasUnderTest)
    func probeRunsAndGivesAPlausibleRate(_ isa: ISA) throws {
        let peak = try PeakProbe.measure(isa, seconds: 0.05)
        let instruction = try InstructionTable.instruction(for: isa)
        let ceiling = Double(4 * instruction.lanes * instruction.kGroup * instruction.rowsPerInstruction) * 6.5
        #expect(peak.gmacs.isFinite && peak.gmacs > 0)
        #expect(peak.gmacs < ceiling, "\(isa): \(peak.gmacs) GMAC/s is more than \(ceiling), the probe miscounts")
    }
}
