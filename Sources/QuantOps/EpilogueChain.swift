/// The real-domain steps a matmul or convolution applies to each output before storing it,
/// fused into the kernel's store. The value starts as `float(acc) * (a_scale * b_scale[n])`
/// (the product computed once in float32; a leading bias step is added in the same fused
/// multiply-add), goes through `steps` in order, and ends in `output`.
public struct EpilogueChain: Sendable, Hashable, Codable {
    public enum Step: Sendable, Hashable, Codable {
        /// `v + bias[n]` (N entries, or 1 for the whole tensor).
        case bias([Float])
        /// `v * scale[n]` (N entries, or 1), e.g. a folded batch norm.
        case scale([Float])
        /// `f(v)`.
        case activation(Activation)
        /// `v + r_scale * float(R[m, n] - r_zp)`: a residual tensor R (M×N, u8 or s8, its own row
        /// stride) passed at run time.
        case residualAdd(type: ElementType, quant: QuantParams)
    }

    /// How the chain ends.
    public enum Output: Sendable, Hashable, Codable {
        /// `sat(RNE(v · (1 / y_scale)) + y_zp)` to u8 or s8, the reciprocal computed once in
        /// float32 (as requantizing GEMM epilogues do; a division per value would cost as much as
        /// the activation). When the last step is GELU, `gelu(x) · (1 / y_scale)` is one function,
        /// `RealFunctions.ScaledGELU` (the reciprocal folded into GELU's table: one rounding fewer).
        case requantize(type: ElementType, quant: QuantParams)
        /// `v` as f32.
        case dequantize

        public var elementType: ElementType {
            switch self {
            case let .requantize(type, _): type
            case .dequantize: .f32
            }
        }
    }

    public var steps: [Step]
    public var output: Output

    public init(_ steps: [Step], output: Output) {
        self.steps = steps
        self.output = output
    }

    /// `1 / y_scale` in float32, the requantizing multiplier.
    public static func reciprocal(_ scale: Float) -> Float { 1 / scale }

    /// Whether the requantizing output folds 1 / y_scale into a last GELU step.
    public var foldsReciprocalIntoGELU: Bool {
        guard case .requantize = output, case .activation(.gelu)? = steps.last else { return false }
        return true
    }

    /// The residual input, when the chain has one (at most one is allowed).
    public var residual: (type: ElementType, quant: QuantParams)? {
        for step in steps { if case let .residualAdd(type, quant) = step { return (type, quant) } }
        return nil
    }

    func validate(channels: Int) throws(QuantError) {
        var residuals = 0
        for (index, step) in steps.enumerated() {
            let field = "output.chain.steps[\(index)]"
            switch step {
            case let .bias(values), let .scale(values):
                if values.count != 1 && values.count != channels {
                    throw .channelCountMismatch(field: field, expected: channels, actual: values.count)
                }
                if let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw .invalidEpilogue(field: "\(field)[\(bad)]", reason: "must be finite, got \(values[bad])")
                }
            case let .activation(activation):
                try activation.validate(field: field)
            case let .residualAdd(type, quant):
                residuals += 1
                if !type.isQuantized8Bit { throw .unsupportedElementType(field: field, type: type, allowed: [.u8, .s8]) }
                try quant.validate(field: "\(field).quant", type: type, channels: 1, perTensorOnly: true)
            }
        }
        if residuals > 1 { throw .invalidEpilogue(field: "output.chain", reason: "at most one residual add is supported, got \(residuals)") }
        if case let .requantize(type, quant) = output {
            if !type.isQuantized8Bit { throw .unsupportedElementType(field: "output.chain.output", type: type, allowed: [.u8, .s8]) }
            try quant.validate(field: "output.chain.output.quant", type: type, channels: 1, perTensorOnly: true)
        }
    }

    /// Bounds on what the chain computes when its start value lies in [-startBound, startBound]
    /// (an int32 accumulator times the largest multiplier), carried through the steps in exact
    /// arithmetic (callers leave room for float32 rounding): the range of the chain's result, and
    /// the largest magnitude of any intermediate value. Both are infinite when a step can grow
    /// without bound.
    public func bounds(startBound: Double) -> (values: ClosedRange<Double>, largestMagnitude: Double) {
        var lower = -startBound, upper = startBound, largest = startBound
        func extremes(_ values: [Float]) -> (Double, Double) { (Double(values.min() ?? 0), Double(values.max() ?? 0)) }
        for step in steps {
            switch step {
            case let .bias(values):
                let (low, high) = extremes(values)
                (lower, upper) = (lower + low, upper + high)
            case let .scale(values):
                let (low, high) = extremes(values)
                let products = [lower * low, lower * high, upper * low, upper * high].map { $0.isNaN ? Double.infinity : $0 }
                (lower, upper) = (products.min()!, products.max()!)
            case let .activation(activation):
                // Each function's range, widened by 1e-6 for its approximation error.
                switch activation {
                case .none: break
                case .relu: (lower, upper) = (max(lower, 0), max(upper, 0))
                case let .clamp(low, high): (lower, upper) = (min(max(lower, Double(low)), Double(high)), min(max(upper, Double(low)), Double(high)))
                case .gelu: (lower, upper) = (lower >= 0 ? -1e-6 : -0.1701, max(upper, 0) + 1e-6)  // min of x·Φ(x) is -0.16997
                case .sigmoid: (lower, upper) = (-1e-6, 1 + 1e-6)
                case .tanh: (lower, upper) = (-1 - 1e-6, 1 + 1e-6)
                }
            case let .residualAdd(_, quant):
                let reach = Double(quant.scales[0]) * 384  // |R - zp| ≤ 255 + 128
                (lower, upper) = (lower - reach, upper + reach)
            }
            largest = max(largest, abs(lower), abs(upper))
        }
        guard largest.isFinite, lower <= upper else { return (-Double.infinity...Double.infinity, .infinity) }
        return (lower...upper, largest)
    }

    /// Whether every value the chain computes stays finite for start values within `startBound`
    /// (with a factor of 2 to spare for float32 rounding). When it holds, no value can be NaN
    /// (no ∞ - ∞ or 0 · ∞ can occur), and a kernel may leave out the NaN check of its
    /// requantizing store.
    public func staysFinite(startBound: Double) -> Bool {
        bounds(startBound: startBound).largestMagnitude < Double(Float.greatestFiniteMagnitude) / 2
    }

    /// The chain applied to one value of column `n` (`residual` is R[m, n] when the chain has one):
    /// the definition the kernels reproduce operation by operation.
    /// `stepCount` stops after that many steps (the rest of the chain is the caller's).
    @inline(__always)
    public func apply(accumulator: Float, multiplier: Float, column n: Int, residual: Int32, stepCount: Int? = nil) -> Float {
        var v: Float, remaining = steps[..<(stepCount ?? steps.count)]
        if case let .bias(values)? = remaining.first {
            v = values[values.count == 1 ? 0 : n].addingProduct(accumulator, multiplier)
            remaining = remaining.dropFirst()
        } else {
            v = accumulator * multiplier
        }
        for step in remaining {
            switch step {
            case let .bias(values): v = v + values[values.count == 1 ? 0 : n]
            case let .scale(values): v = v * values[values.count == 1 ? 0 : n]
            case let .activation(activation): v = activation.apply(v)
            case let .residualAdd(_, quant): v = v + quant.scales[0] * Float(residual - quant.zeroPoints[0])
            }
        }
        return v
    }
}
