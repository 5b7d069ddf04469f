import Foundation
import QuantWorkflow
import Testing

struct ErrorMetricsTests {
    @Test func metricsOfKnownErrors() {
        var metrics = ErrorMetrics()
        metrics.add(reference: [3, 4], test: [3, 4])
        #expect(metrics.sqnr == .infinity && abs(metrics.cosine - 1) < 1e-12 && metrics.maxAbsoluteError == 0)
        var noisy = ErrorMetrics()
        noisy.add(reference: [1, 0, 0, 0], test: [1, 0.1, 0, -0.1])
        // Signal 1, noise 0.02: 10·log10(50) ≈ 16.99 dB.
        #expect(abs(noisy.sqnr - 10 * log10(50)) < 1e-4)
        #expect(abs(noisy.maxAbsoluteError - 0.1) < 1e-6 && abs(noisy.meanAbsoluteError - 0.05) < 1e-6)
        #expect(abs(noisy.cosine - 1 / 1.02.squareRoot()) < 1e-6)
        #expect(abs(cosineSimilarity([1, 0], [0, 1])) < 1e-12)
    }
}
