import Foundation
import QuantForge

/// How calibration picks a tensor's range from the values it saw.
public enum CalibrationMethod: String, Sendable, CaseIterable, Codable {
    /// The smallest and largest value.
    case minMax
    /// An exponential moving average of each batch's min and max (PyTorch's
    /// MovingAverageMinMaxObserver, averaging constant 0.01; the first batch sets it).
    case movingAverageMinMax
    /// The 0.01st and 99.99th percentiles (from the histogram).
    case percentile
    /// The clipping range that minimizes the mean squared quantization error over the histogram.
    case mse
    /// TensorRT's entropy calibration: the |x| threshold minimizing KL(P‖Q) between the clipped
    /// histogram and its 128-level quantization.
    case entropy
}

/// What the parameters are computed for.
public struct QuantizationScheme: Sendable, Hashable {
    public var type: ElementType
    public var symmetric: Bool
    /// 7 bits instead of 8 (for instruction sets whose pair sums can saturate, as `vpmaddubsw`).
    public var reducedRange: Bool

    public init(type: ElementType = .u8, symmetric: Bool = false, reducedRange: Bool = false) {
        self.type = type
        self.symmetric = symmetric
        self.reducedRange = reducedRange
    }

    /// The integer range the parameters map to.
    public var levels: ClosedRange<Int32> {
        let range = type.integerRange!
        guard reducedRange else { return range }
        return type == .u8 ? 0...127 : -64...63
    }

    /// Scale and zero point for real values in [lower, upper] (0 always representable exactly).
    public func parameters(lower: Float, upper: Float) -> QuantParams {
        let q = levels
        var low = min(lower, 0), high = max(upper, 0)
        if symmetric {
            let bound = max(-low, high)
            low = -bound
            high = bound
            let scale = bound > 0 ? 2 * bound / Float(q.upperBound - q.lowerBound) : 1
            let zeroPoint: Int32 = type == .u8 ? (q.lowerBound + q.upperBound + 1) / 2 : 0
            return .perTensor(scale: scale, zeroPoint: zeroPoint)
        }
        let scale = high > low ? (high - low) / Float(q.upperBound - q.lowerBound) : 1
        let zeroPoint = Float(q.lowerBound) - low / scale
        let clamped = min(max(zeroPoint, Float(q.lowerBound)), Float(q.upperBound))
        return .perTensor(scale: scale, zeroPoint: Int32(clamped.rounded(.toNearestOrEven)))
    }
}

/// Collects statistics of one tensor over calibration batches and chooses its range.
public struct Observer: Sendable {
    public let method: CalibrationMethod
    public private(set) var minimum = Float.infinity
    public private(set) var maximum = -Float.infinity
    private var averageMinimum: Float? = nil
    private var averageMaximum: Float? = nil
    public let averagingConstant: Float = 0.01
    /// Histogram of the values over [-bound, bound] (`bins` equal bins); the bound doubles (adjacent
    /// bins merged, exactly) when a value falls outside.
    public private(set) var histogram: [Double]
    public private(set) var bound: Float = 0
    public static let bins = 8192

    public init(_ method: CalibrationMethod) {
        self.method = method
        histogram = Array(repeating: 0, count: Self.bins)
    }

    public mutating func observe(_ values: UnsafeBufferPointer<Float>) {
        var low = Float.infinity, high = -Float.infinity
        for v in values where v.isFinite {
            low = min(low, v)
            high = max(high, v)
        }
        guard low <= high else { return }
        minimum = min(minimum, low)
        maximum = max(maximum, high)
        if let averageMinimum, let averageMaximum {
            self.averageMinimum = averageMinimum + averagingConstant * (low - averageMinimum)
            self.averageMaximum = averageMaximum + averagingConstant * (high - averageMaximum)
        } else {
            averageMinimum = low
            averageMaximum = high
        }
        let needed = max(-low, high)
        if bound == 0 { bound = needed > 0 ? Float(pow(2, ceil(log2(Double(needed))))) : 1 }
        while needed > bound { grow() }
        let width = 2 * bound / Float(Self.bins)
        for v in values where v.isFinite {
            let bin = min(Self.bins - 1, max(0, Int((v + bound) / width)))
            histogram[bin] += 1
        }
    }

    public mutating func observe(_ values: [Float]) { values.withUnsafeBufferPointer { observe($0) } }

    /// Doubles the bound: the old bins become the middle half, two by two.
    private mutating func grow() {
        var wider = [Double](repeating: 0, count: Self.bins)
        for (i, count) in histogram.enumerated() { wider[Self.bins / 4 + i / 2] += count }
        histogram = wider
        bound *= 2
    }

    private var binWidth: Float { 2 * bound / Float(Self.bins) }
    private func center(_ bin: Int) -> Float { -bound + (Float(bin) + 0.5) * binWidth }
    private var total: Double { histogram.reduce(0, +) }

    /// The chosen real range [lower, upper].
    public func range(for scheme: QuantizationScheme = QuantizationScheme()) -> (lower: Float, upper: Float) {
        guard minimum <= maximum else { return (0, 0) }
        switch method {
        case .minMax:
            return (minimum, maximum)
        case .movingAverageMinMax:
            return (averageMinimum ?? minimum, averageMaximum ?? maximum)
        case .percentile:
            return (quantile(0.0001), quantile(0.9999))
        case .mse:
            return mseRange(scheme)
        case .entropy:
            let threshold = entropyThreshold()
            return (max(minimum, -threshold), min(maximum, threshold))
        }
    }

    /// The parameters for `scheme`.
    public func parameters(_ scheme: QuantizationScheme = QuantizationScheme()) -> QuantParams {
        let (lower, upper) = range(for: scheme)
        return scheme.parameters(lower: lower, upper: upper)
    }

    /// The value below which a fraction `q` of the observations lie (bin edges, clamped to the data).
    func quantile(_ q: Double) -> Float {
        let target = q * total
        var running = 0.0
        for (i, count) in histogram.enumerated() {
            running += count
            if running >= target {
                let edge = q < 0.5 ? -bound + Float(i) * binWidth : -bound + Float(i + 1) * binWidth
                return min(max(edge, minimum), maximum)
            }
        }
        return maximum
    }

    /// Expected squared error of quantizing the histogram with the range [lower, upper].
    public func quantizationError(lower: Float, upper: Float, scheme: QuantizationScheme) -> Double {
        let parameters = scheme.parameters(lower: lower, upper: upper)
        let scale = parameters.scales[0], zeroPoint = parameters.zeroPoints[0], levels = scheme.levels
        var error = 0.0
        for (i, count) in histogram.enumerated() where count > 0 {
            let x = center(i)
            let q = QuantArithmetic.quantize(x, scale: scale, zeroPoint: zeroPoint, range: levels)
            let e = Double(Float(q - zeroPoint) * scale - x)
            error += count * e * e
        }
        return error
    }

    /// The range minimizing the histogram's quantization error: the observed range's ends scaled by
    /// fractions 1, 0.95, …, 0.05 (together when symmetric, independently otherwise).
    func mseRange(_ scheme: QuantizationScheme) -> (Float, Float) {
        let fractions = (0..<20).map { 1 - Float($0) * 0.05 }
        var best = (minimum, maximum), bestError = Double.infinity
        for upper in fractions {
            for lower in scheme.symmetric ? [upper] : fractions {
                let candidate = (minimum * lower, maximum * upper)
                let error = quantizationError(lower: candidate.0, upper: candidate.1, scheme: scheme)
                if error < bestError {
                    bestError = error
                    best = candidate
                }
            }
        }
        return best
    }

    /// TensorRT's entropy calibration on the histogram of |x| (`bins / 2` bins of the positive side
    /// plus the mirrored negative side), as TensorRT and MXNet compute it: for every threshold from
    /// 128 bins up, P = the bins below it with the mass above folded into the last one, Q = the same
    /// bins *without* the folded mass merged into 128 levels and spread back over their non-zero
    /// bins; the threshold with the smallest KL(P‖Q) wins (clipping costs the folded mass).
    func entropyThreshold() -> Float {
        // |x| in TensorRT's 2048 bins over [0, max |x|], re-binned from the fine histogram.
        let half = Self.bins / 2, coarseBins = 2048
        let maxMagnitude = max(-minimum, maximum)
        guard maxMagnitude > 0 else { return 0 }
        var magnitude = [Double](repeating: 0, count: coarseBins)
        for i in 0..<half {
            let count = histogram[half + i] + histogram[half - 1 - i]
            guard count > 0 else { continue }
            let value = (Float(i) + 0.5) * binWidth
            magnitude[min(coarseBins - 1, Int(value / maxMagnitude * Float(coarseBins)))] += count
        }
        let coarseWidth = maxMagnitude / Float(coarseBins)
        let levels = 128
        var bestThreshold = maxMagnitude, bestDivergence = Double.infinity
        for end in levels...coarseBins {
            // P: the first `end` bins, the mass beyond folded into the last one.
            var p = Array(magnitude[0..<end])
            p[end - 1] += magnitude[end...].reduce(0, +)
            // Q: the same bins without the folded mass, merged into 128 levels and spread back evenly
            // over the bins that were non-zero.
            var q = [Double](repeating: 0, count: end)
            let perLevel = Double(end) / Double(levels)
            for level in 0..<levels {
                let start = Int((Double(level) * perLevel).rounded(.down)), stop = level == levels - 1 ? end : Int((Double(level + 1) * perLevel).rounded(.down))
                guard start < stop else { continue }
                let sum = magnitude[start..<stop].reduce(0, +)
                let nonZero = magnitude[start..<stop].filter { $0 > 0 }.count
                guard nonZero > 0 else { continue }
                for i in start..<stop where magnitude[i] > 0 { q[i] = sum / Double(nonZero) }
            }
            let pTotal = p.reduce(0, +), qTotal = q.reduce(0, +)
            guard pTotal > 0, qTotal > 0 else { continue }
            var divergence = 0.0
            for i in 0..<end where p[i] > 0 {
                let pi = p[i] / pTotal, qi = q[i] / qTotal
                divergence += qi > 0 ? pi * log(pi / qi) : pi * log(pi / 1e-12)
            }
            if divergence < bestDivergence {
                bestDivergence = divergence
                bestThreshold = Float(end) * coarseWidth
            }
        }
        return bestThreshold
    }
}

/// One observer per channel of a row-major [rows × channels] tensor (per-channel calibration of
/// activations or weights): parameters come out per channel.
public struct ChannelObservers: Sendable {
    public private(set) var observers: [Observer]

    public init(_ method: CalibrationMethod, channels: Int) {
        observers = Array(repeating: Observer(method), count: channels)
    }

    public var channels: Int { observers.count }

    /// Observes rows of `channels` values.
    public mutating func observe(_ values: UnsafeBufferPointer<Float>) {
        let rows = values.count / channels
        var column = [Float](repeating: 0, count: rows)
        for c in 0..<channels {
            for r in 0..<rows { column[r] = values[r * channels + c] }
            column.withUnsafeBufferPointer { observers[c].observe($0) }
        }
    }

    public mutating func observe(_ values: [Float]) { values.withUnsafeBufferPointer { observe($0) } }

    /// Per-channel parameters for `scheme`.
    public func parameters(_ scheme: QuantizationScheme = QuantizationScheme()) -> QuantParams {
        let each = observers.map { $0.parameters(scheme) }
        return .perChannel(scales: each.map { $0.scales[0] }, zeroPoints: each.map { $0.zeroPoints[0] })
    }
}
