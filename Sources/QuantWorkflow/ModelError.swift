import QuantForge

/// Every way loading or running a model can fail, with what to fix.
public enum ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file is missing or unreadable.
    case unreadable(path: String, reason: String)
    /// A safetensors file is truncated or malformed.
    case malformedSafetensors(reason: String)
    /// A tensor the model needs is absent or has the wrong type or shape.
    case tensor(name: String, reason: String)
    /// The vocabulary is empty or lacks a special token.
    case vocabulary(reason: String)
    /// A quantization kernel refused its input.
    case quantization(QuantError)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "cannot read \(path): \(reason)"
        case let .malformedSafetensors(reason): "malformed safetensors file: \(reason)"
        case let .tensor(name, reason): "tensor \(name): \(reason)"
        case let .vocabulary(reason): "vocabulary: \(reason)"
        case let .quantization(error): "\(error)"
        }
    }
}
