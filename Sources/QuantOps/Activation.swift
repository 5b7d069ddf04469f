/// An activation applied in a kernel's epilogue, in the real (dequantized) domain.
public enum Activation: Sendable, Hashable, Codable {
    case none
    /// `max(x, 0)`
    case relu
    /// `min(max(x, min), max)`
    case clamp(min: Float, max: Float)

    func validate(field: String) throws(QuantError) {
        if case let .clamp(lo, hi) = self {
            if lo.isNaN || hi.isNaN || lo > hi {
                throw .invalidEpilogue(field: field, reason: "clamp bounds must be ordered numbers, got [\(lo), \(hi)]")
            }
        }
    }

    /// Bounds in the real domain (-inf/+inf when open).
    public var realBounds: (lower: Float, upper: Float) {
        switch self {
        case .none: (-.infinity, .infinity)
        case .relu: (0, .infinity)
        case let .clamp(lo, hi): (lo, hi)
        }
    }
}
