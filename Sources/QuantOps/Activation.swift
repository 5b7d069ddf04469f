/// An activation applied in the real (dequantized) domain.
///
/// `none`, `relu` and `clamp` are piecewise linear and may be used by every output mode; `gelu`
/// (a piecewise polynomial), `sigmoid` and `tanh` (a rational tanh) are QuantForge's approximations
/// (`RealFunctions`, evaluated the same way by the reference and by the kernels) and need an
/// epilogue chain or a lookup table.
public enum Activation: Sendable, Hashable, Codable {
    case none
    /// `max(x, 0)`
    case relu
    /// `min(max(x, min), max)`
    case clamp(min: Float, max: Float)
    /// `x/2 · (1 + erf(x/√2))`
    case gelu
    /// `1 / (1 + e^-x)`
    case sigmoid
    /// `tanh(x)`
    case tanh

    func validate(field: String) throws(QuantError) {
        if case let .clamp(lo, hi) = self {
            if lo.isNaN || hi.isNaN || lo > hi {
                throw .invalidEpilogue(field: field, reason: "clamp bounds must be ordered numbers, got [\(lo), \(hi)]")
            }
        }
    }

    /// Throws unless the activation is a clamp (none, relu, clamp), which an epilogue can apply as
    /// bounds on the quantized value.
    func validatePiecewiseLinear(field: String) throws(QuantError) {
        try validate(field: field)
        if !isPiecewiseLinear {
            throw .invalidEpilogue(field: field, reason: "\(self) needs an epilogue chain (MatMulOutput.chain); this output mode applies only none, relu and clamp")
        }
    }

    /// True for none, relu and clamp.
    public var isPiecewiseLinear: Bool {
        switch self {
        case .none, .relu, .clamp: true
        case .gelu, .sigmoid, .tanh: false
        }
    }

    /// Bounds in the real domain (-inf/+inf when open) of a piecewise-linear activation.
    public var realBounds: (lower: Float, upper: Float) {
        switch self {
        case .relu: (0, .infinity)
        case let .clamp(lo, hi): (lo, hi)
        case .none, .gelu, .sigmoid, .tanh: (-.infinity, .infinity)
        }
    }

    /// The activation of one value, exactly as the kernels compute it.
    @inline(__always)
    public func apply(_ x: Float) -> Float {
        switch self {
        case .none: return x
        case .relu: return x < 0 ? 0 : x
        case let .clamp(lo, hi): return x < lo ? lo : (x > hi ? hi : x)
        case .gelu: return RealFunctions.gelu(x)
        case .sigmoid: return RealFunctions.sigmoid(x)
        case .tanh: return RealFunctions.tanh(x)
        }
    }
}
