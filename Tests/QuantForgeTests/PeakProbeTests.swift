import QuantForge
import Testing

/// The peak probe compiles and runs for every ISA here, and its figure is a plausible rate:
/// positive, and at least what an actual kernel of that ISA reaches (a kernel cannot beat the
/// instruction's own throughput by much; 1.25× leaves room for timer noise).
struct PeakProbeTests {
    @Test(arguments: isasUnderTest)
    func probeRunsAndBoundsTheKernel(_ isa: ISA) throws {
        let peak = try PeakProbe.measure(isa, seconds: 0.05)
        #expect(peak.gmacs.isFinite && peak.gmacs > 0)
        let op = try MatMul(m: 64, k: 256, n: 64)
        let kernel = try Engine(isa: isa).compile(op)
        var random = TestRandom(seed: 1)
        let a = random.bytes(64 * 256), weights = try kernel.packWeights(random.bytes(256 * 64))
        var best = Double.infinity
        for _ in 0..<20 {
            let start = ContinuousClock.now
            _ = try kernel.run(a: a, weights: weights, m: 64)
            let elapsed = ContinuousClock.now - start
            best = min(best, Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))
        }
        let kernelGMACs = Double(64 * 256 * 64) / best / 1e9
        #expect(kernelGMACs < peak.gmacs * 1.25, "\(isa): kernel \(kernelGMACs) vs probe \(peak.gmacs)")
    }
}
