/// Every way QuantForge refuses input. Each case names the offending field, so that the message
/// says what to fix.
public enum QuantError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A dimension is not positive, too large, or inconsistent with another one.
    case invalidShape(field: String, reason: String)
    /// The element type is not one the operator accepts.
    case unsupportedElementType(field: String, type: ElementType, allowed: [ElementType])
    /// A scale is zero, negative, subnormal, infinite or NaN.
    case invalidScale(field: String, index: Int, value: Float)
    /// A zero point lies outside the range of its element type.
    case zeroPointOutOfRange(field: String, index: Int, value: Int32, type: ElementType)
    /// A per-channel parameter list has the wrong number of entries.
    case channelCountMismatch(field: String, expected: Int, actual: Int)
    /// A quantization parameter must be per-tensor here.
    case perTensorRequired(field: String)
    /// An epilogue parameter is invalid (bias not finite, clamp bounds reversed, ...).
    case invalidEpilogue(field: String, reason: String)
    /// A row stride is smaller than the row it must hold.
    case invalidStride(field: String, stride: Int, minimum: Int)
    /// A caller's buffer is smaller than the tensor it must hold.
    case bufferTooSmall(field: String, requiredBytes: Int, actualBytes: Int)
    /// Packed weights that belong to another kernel or layout.
    case weightsMismatch(reason: String)
    /// An instruction set the CPU (or this build) cannot run.
    case unsupportedISA(requested: String, reason: String)
    /// An invalid schedule: which constraint failed.
    case invalidSchedule(constraint: String)
    /// The code generator or LLVM failed; the message is LLVM's or the verifier's.
    case compilationFailed(stage: String, message: String)
    /// A description read from outside (a kernel spec file, ...) is malformed at `path`.
    case invalidSpec(path: String, reason: String)
    /// The tuning database could not be opened, read or written.
    case tuningDatabase(path: String, reason: String)
    /// A file or directory QuantForge will not read, write or trust as it is: it belongs to someone
    /// else, was not written by QuantForge, is a link or not a regular file, or others can write it.
    case fileRefused(path: String, reason: String)
    /// A number or string from outside (an option, a spec field, a C API argument) out of range.
    case invalidArgument(field: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidShape(field, reason):
            "invalid shape for \(field): \(reason)"
        case let .unsupportedElementType(field, type, allowed):
            "\(field) has element type \(type.rawValue); allowed: \(allowed.map(\.rawValue).joined(separator: ", "))"
        case let .invalidScale(field, index, value):
            "\(field)[\(index)] = \(value): a scale must be a normal (not subnormal), finite float > 0"
        case let .zeroPointOutOfRange(field, index, value, type):
            "\(field)[\(index)] = \(value) is outside the range of \(type.rawValue) (\(type.integerRange.map { "\($0.lowerBound)...\($0.upperBound)" } ?? "-"))"
        case let .channelCountMismatch(field, expected, actual):
            "\(field) has \(actual) entries; expected 1 (per-tensor) or \(expected) (per-channel)"
        case let .perTensorRequired(field):
            "\(field) must be per-tensor (one scale and one zero point)"
        case let .invalidEpilogue(field, reason):
            "invalid \(field): \(reason)"
        case let .invalidStride(field, stride, minimum):
            "\(field) row stride \(stride) is smaller than the row length \(minimum)"
        case let .bufferTooSmall(field, required, actual):
            "\(field) buffer holds \(actual) bytes; the operation needs \(required)"
        case let .weightsMismatch(reason):
            "packed weights do not fit this kernel: \(reason)"
        case let .unsupportedISA(requested, reason):
            "instruction set \(requested) is not available: \(reason)"
        case let .invalidSchedule(constraint):
            "invalid schedule: \(constraint)"
        case let .compilationFailed(stage, message):
            "compilation failed in \(stage): \(message)"
        case let .invalidSpec(path, reason):
            "invalid spec at \(path): \(reason)"
        case let .tuningDatabase(path, reason):
            "tuning database \(path): \(reason)"
        case let .fileRefused(path, reason):
            "refusing \(path): \(reason)"
        case let .invalidArgument(field, reason):
            "invalid \(field): \(reason)"
        }
    }
}

extension QuantError {
    /// Runs `body` — work inside untyped rethrowing closures (`withUnsafeBufferPointer` and co.)
    /// whose only errors are `QuantError`s — and rethrows those typed. Any other error is a bug.
    public static func rethrowing<R>(_ body: () throws -> R) throws(QuantError) -> R {
        do {
            return try body()
        } catch let error as QuantError {
            throw error
        } catch {
            fatalError("unreachable: \(error)")
        }
    }
}
