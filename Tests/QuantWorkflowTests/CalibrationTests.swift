import Foundation
import QuantForge
import QuantWorkflow
import Testing

/// Each observer on synthetic distributions with outliers gives the range it should.
struct CalibrationTests {
    /// 100,000 values uniform in [-1, 1] (deterministic), and 5 outliers at ±50.
    static func uniformWithOutliers() -> [Float] {
        var state: UInt64 = 12345
        var values = (0..<100_000).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
        values += [50, -50, 49, 50, -48]
        return values
    }

    @Test func minMaxSeesTheOutliers() {
        var observer = Observer(.minMax)
        observer.observe(Self.uniformWithOutliers())
        #expect(observer.range() == (-50, 50))
    }

    @Test func movingAverageFollowsBatches() {
        var observer = Observer(.movingAverageMinMax)
        observer.observe([-1, 1])            // first batch sets the range
        observer.observe([-101, 101])        // then 1% of the way to each new batch's range
        let (lower, upper) = observer.range()
        #expect(abs(lower + 2) < 1e-5 && abs(upper - 2) < 1e-5)
    }

    /// Laplace(0, 1) values (heavy tails, max ≈ 11 for 100,000 samples), deterministic.
    static func laplace() -> [Float] {
        var state: UInt64 = 777
        return (0..<100_000).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = (Float(state >> 40) + 0.5) / Float(1 << 24) - 0.5
            return (u < 0 ? 1 : -1) * log(1 - 2 * abs(u))
        }
    }

    @Test func mseMinimizesTheQuantizationError() {
        let scheme = QuantizationScheme(type: .s8, symmetric: true)
        for values in [Self.uniformWithOutliers(), Self.laplace()] {
            var observers = [CalibrationMethod.minMax, .percentile, .mse, .entropy].map { Observer($0) }
            for i in observers.indices { observers[i].observe(values) }
            let mse = observers[2]
            let best = mse.range(for: scheme)
            let bestError = mse.quantizationError(lower: best.lower, upper: best.upper, scheme: scheme)
            for other in observers {
                let range = other.range(for: scheme)
                #expect(bestError <= mse.quantizationError(lower: range.lower, upper: range.upper, scheme: scheme) * 1.0001, "\(other.method)")
            }
        }
        // Laplace(0, 1) at 8 bits: the MSE-optimal clip is ≈ 9.89 (Banner et al., ACIQ), inside the
        // largest sample.
        var observer = Observer(.mse)
        observer.observe(Self.laplace())
        let upper = observer.range(for: scheme).upper
        #expect(upper > 8.5 && upper < 10.5 && upper < observer.maximum, "\(upper), max \(observer.maximum)")
    }

    @Test func robustMethodsIgnoreOutliers() {
        let values = Self.uniformWithOutliers()
        for method in [CalibrationMethod.percentile] {
            var observer = Observer(method)
            // In batches, so that the histogram grows while it fills.
            for start in stride(from: 0, to: values.count, by: 10_000) {
                observer.observe(Array(values[start..<min(values.count, start + 10_000)]))
            }
            let (lower, upper) = observer.range(for: QuantizationScheme(type: .s8, symmetric: true))
            #expect(upper > 0.8 && upper < 3, "\(method) upper \(upper)")
            #expect(lower < -0.8 && lower > -3, "\(method) lower \(lower)")
        }
    }

    /// Entropy calibration clips a heavy-tailed distribution inside its extremes (Laplace(0, 1):
    /// 8-bit thresholds land between ~5 and the largest sample) and keeps a bounded one whole.
    @Test func entropyClipsHeavyTails() {
        var laplace = Observer(.entropy)
        laplace.observe(Self.laplace())
        let (_, upper) = laplace.range(for: QuantizationScheme(type: .s8, symmetric: true))
        #expect(upper > 5 && upper < 0.95 * laplace.maximum, "\(upper), max \(laplace.maximum)")
        var uniform = Observer(.entropy)
        uniform.observe(Array(Self.uniformWithOutliers().dropLast(5)))
        let (lower, high) = uniform.range()
        #expect(high > 0.9 && lower < -0.9, "\(lower)...\(high)")
    }

    @Test func parametersFollowTheScheme() {
        // Asymmetric u8 on [-1, 3]: scale 4/255, zero point RNE(255/4) = 64.
        let asymmetric = QuantizationScheme(type: .u8).parameters(lower: -1, upper: 3)
        #expect(asymmetric.scales[0] == Float(4) / 255 && asymmetric.zeroPoints[0] == 64)
        // Symmetric s8: zero point 0, scale from the larger magnitude over 127.5.
        let symmetric = QuantizationScheme(type: .s8, symmetric: true).parameters(lower: -1, upper: 3)
        #expect(symmetric.zeroPoints[0] == 0 && symmetric.scales[0] == 6 / Float(255))
        // Reduced range: 7 bits.
        let reduced = QuantizationScheme(type: .u8, reducedRange: true).parameters(lower: 0, upper: 127)
        #expect(reduced.scales[0] == 1 && reduced.zeroPoints[0] == 0)
        // A range that excludes 0 is widened to include it; an empty one gets scale 1.
        #expect(QuantizationScheme().parameters(lower: 2, upper: 4).zeroPoints[0] == 0)
        #expect(QuantizationScheme().parameters(lower: 0, upper: 0).scales[0] == 1)
    }

    @Test func perChannelObserversKeepChannelsApart() {
        // Two channels: one in [-1, 1], one in [0, 100].
        var observers = ChannelObservers(.minMax, channels: 2)
        observers.observe([-1, 0, 1, 100, 0.5, 50])
        let parameters = observers.parameters(QuantizationScheme(type: .s8, symmetric: true))
        #expect(parameters.granularity == .perChannel && parameters.scales == [2 / Float(255), 200 / Float(255)])
        #expect(parameters.zeroPoints == [0, 0])
    }

    @Test func weightQuantizationIsPerChannelSymmetric() {
        // Two output channels of three inputs: [1, -2, 0.5] and [0, 0, 0].
        let weights = QuantizedWeights(weights: [1, -2, 0.5, 0, 0, 0], outputs: 2, inputs: 3)
        #expect(weights.scales[0] == 2 / Float(127) && weights.scales[1] == 1 / Float(127))
        #expect(weights.b.map { Int8(bitPattern: $0) } == [64, 0, -127, 0, 32, 0])  // K×N
        // Clipping at the 50th percentile saturates the largest weight.
        let clipped = QuantizedWeights(weights: [1, -2, 0.5], outputs: 1, inputs: 3, clipPercentile: 50)
        #expect(clipped.scales[0] == 1 / Float(127) && Int8(bitPattern: clipped.b[1]) == -127)
    }
}
