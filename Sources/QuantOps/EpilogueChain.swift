/// The real-domain steps a matmul or convolution applies to each output before storing it,
/// fused into the kernel's store. The value starts as `float(acc) * (a_scale * b_scale[n])`
/// (the product computed once in float32), goes through `steps` in order, and ends in `output`.
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
        /// the activation).
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

    /// The chain applied to one value of column `n` (`residual` is R[m, n] when the chain has one):
    /// the definition the kernels reproduce operation by operation.
    @inline(__always)
    public func apply(_ start: Float, column n: Int, residual: Int32) -> Float {
        var v = start
        for step in steps {
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
