import Foundation

/// How far a computation is from its f32 reference: signal-to-quantization-noise ratio,
/// cosine similarity, and the largest and mean absolute error. Accumulates over any number of
/// (reference, test) pairs of equal length.
public struct ErrorMetrics: Sendable, Codable, Equatable {
    public private(set) var count = 0
    private var signal = 0.0       // Σ ref²
    private var noise = 0.0        // Σ (ref - test)²
    private var dot = 0.0          // Σ ref·test
    private var testEnergy = 0.0   // Σ test²
    private var absoluteSum = 0.0
    public private(set) var maxAbsoluteError = 0.0

    public init() {}

    public mutating func add(reference: UnsafeBufferPointer<Float>, test: UnsafeBufferPointer<Float>) {
        precondition(reference.count == test.count)
        for i in 0..<reference.count {
            let r = Double(reference[i]), t = Double(test[i]), e = r - t
            signal += r * r
            noise += e * e
            dot += r * t
            testEnergy += t * t
            absoluteSum += abs(e)
            maxAbsoluteError = max(maxAbsoluteError, abs(e))
        }
        count += reference.count
    }

    public mutating func add(reference: [Float], test: [Float]) {
        reference.withUnsafeBufferPointer { r in test.withUnsafeBufferPointer { add(reference: r, test: $0) } }
    }

    /// 10·log10(Σ ref² / Σ (ref − test)²) in dB (infinite when exact).
    public var sqnr: Double { noise == 0 ? .infinity : 10 * log10(signal / noise) }
    public var cosine: Double { signal == 0 || testEnergy == 0 ? 0 : dot / (signal.squareRoot() * testEnergy.squareRoot()) }
    public var meanAbsoluteError: Double { count == 0 ? 0 : absoluteSum / Double(count) }
}

/// Cosine similarity of two vectors (in double precision).
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Double {
    var metrics = ErrorMetrics()
    metrics.add(reference: a, test: b)
    return metrics.cosine
}
