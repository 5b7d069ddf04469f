import CQuantForgeAPI
import CQuantSupport
import Foundation
import QuantForge

// The C API (quantforge.h), implemented over the Swift API. Handles are retained Swift objects;
// every entry point checks its pointers and enums, maps errors to a status code and records the
// message for the calling thread. Nothing here traps on bad input.

final class ContextHandle {
    let engine: Engine
    let isaName: UnsafeMutablePointer<CChar>
    init(engine: Engine) {
        self.engine = engine
        isaName = strdup(engine.isa.rawValue)!
    }
    deinit { free(isaName) }
}

final class KernelHandle {
    let kernel: MatMulKernel
    init(kernel: MatMulKernel) { self.kernel = kernel }
}

final class WeightsHandle {
    let weights: PackedWeights
    init(weights: PackedWeights) { self.weights = weights }
}

/// Every live handle and what it is, so that a destroyed handle, a handle of another kind (a
/// context passed as a kernel) or a pointer that was never a handle is a status code instead of
/// memory corruption. A handle is the address of its retained object; the registry is consulted
/// before the address is ever dereferenced. (An address reused by a newer handle of the same kind
/// cannot be told apart from it.)
enum HandleRegistry {
    enum Kind: String { case context, kernel, weights }
    nonisolated(unsafe) private static var live: [UInt: Kind] = [:]
    private static let lock = NSLock()

    static func register<T: AnyObject>(_ object: T, as kind: Kind) -> OpaquePointer {
        let pointer = Unmanaged.passRetained(object).toOpaque()
        lock.lock()
        live[UInt(bitPattern: pointer)] = kind
        lock.unlock()
        return OpaquePointer(pointer)
    }

    /// The object behind `pointer` when it is a live handle of `kind`.
    static func lookup<T: AnyObject>(_ pointer: OpaquePointer?, _ kind: Kind, as type: T.Type) throws(QuantError) -> T {
        guard let pointer else { throw .invalidArgument(field: kind.rawValue, reason: "null handle") }
        lock.lock()
        defer { lock.unlock() }
        switch live[UInt(bitPattern: UnsafeRawPointer(pointer))] {
        case kind?: return Unmanaged<T>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
        case let other?: throw .invalidArgument(field: kind.rawValue, reason: "a qf_\(other.rawValue) handle was passed where a qf_\(kind.rawValue) is expected")
        case nil: throw .invalidArgument(field: kind.rawValue, reason: "not a live qf_\(kind.rawValue) handle (destroyed already, or never created)")
        }
    }

    /// Forgets and releases a handle of `kind`; anything else is reported and left alone.
    static func destroy<T: AnyObject>(_ pointer: OpaquePointer?, _ kind: Kind, as type: T.Type) {
        guard let pointer else { return }
        let key = UInt(bitPattern: UnsafeRawPointer(pointer))
        lock.lock()
        let found = live[key]
        if found == kind { live[key] = nil }
        lock.unlock()
        guard found == kind else {
            qf_set_last_error(found.map { "qf_\(kind.rawValue)_destroy: a qf_\($0.rawValue) handle was passed" }
                              ?? "qf_\(kind.rawValue)_destroy: not a live handle (destroyed twice, or never created); ignored")
            return
        }
        Unmanaged<T>.fromOpaque(UnsafeRawPointer(pointer)).release()
    }
}

/// Records `message` for this thread and returns `status`.
func failure(_ status: qf_status, _ message: String) -> qf_status {
    qf_set_last_error(message)
    return status
}

func failure(_ error: QuantError) -> qf_status {
    let status: qf_status = switch error {
    case .unsupportedISA: QF_STATUS_UNSUPPORTED_ISA
    case .bufferTooSmall: QF_STATUS_BUFFER_TOO_SMALL
    case .weightsMismatch: QF_STATUS_WEIGHTS_MISMATCH
    case .compilationFailed: QF_STATUS_COMPILATION_FAILED
    default: QF_STATUS_INVALID_ARGUMENT
    }
    return failure(status, error.description)
}

func failure(_ error: any Error) -> qf_status {
    if let error = error as? QuantError { return failure(error) }
    return failure(QF_STATUS_INTERNAL_ERROR, "\(error)")
}

func success() -> qf_status {
    qf_set_last_error(nil)
    return QF_STATUS_OK
}

@_cdecl("qf_matmul_desc_init")
public func qfMatmulDescInit(_ desc: UnsafeMutablePointer<qf_matmul_desc>?, _ m: Int64, _ k: Int64, _ n: Int64) {
    guard let desc else { return }
    desc.pointee = qf_matmul_desc(
        m: m, k: k, n: n, a_type: QF_TYPE_U8, b_type: QF_TYPE_S8, a_scale: 1, a_zero_point: 0, b_channels: 1,
        b_scales: nil, b_zero_points: nil, output: QF_OUTPUT_INT32, output_type: QF_TYPE_U8, y_scale: 1, y_zero_point: 0,
        bias: nil, activation: QF_ACTIVATION_NONE, clamp_min: 0, clamp_max: 0)
}

@_cdecl("qf_context_create")
public func qfContextCreate(_ isa: UnsafePointer<CChar>?, _ threads: Int32,
                            _ context: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    guard let context else { return failure(QF_STATUS_INVALID_ARGUMENT, "context: null output pointer") }
    context.pointee = nil
    do {
        let chosen = try isa.map { try ISA.parse(String(cString: $0)) }
        // Compile through the tuning database when one is present (QFORGE_TUNING_DB or the default path).
        // Opened read-only: a lookup creates and changes nothing. A database named explicitly by
        // QFORGE_TUNING_DB that cannot be used is an error; the default location is optional.
        let database: TuningDatabase?
        if let named = ProcessInfo.processInfo.environment["QFORGE_TUNING_DB"], !named.isEmpty {
            database = try TuningDatabase(path: named, access: .readOnly)
        } else {
            let path = TuningDatabase.standardLocation
            database = FileTrust.status(path) != nil ? try? TuningDatabase(path: path, access: .readOnly) : nil
        }
        let engine = try Engine(isa: chosen, threads: Int(threads), database: database)
        context.pointee = HandleRegistry.register(ContextHandle(engine: engine), as: .context)
        return success()
    } catch {
        return failure(error)
    }
}

@_cdecl("qf_context_destroy")
public func qfContextDestroy(_ context: OpaquePointer?) { HandleRegistry.destroy(context, .context, as: ContextHandle.self) }

@_cdecl("qf_context_isa")
public func qfContextISA(_ context: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let handle = try? HandleRegistry.lookup(context, .context, as: ContextHandle.self) else { return nil }
    return UnsafePointer(handle.isaName)
}

@_cdecl("qf_kernel_compile")
public func qfKernelCompile(_ context: OpaquePointer?, _ desc: UnsafePointer<qf_matmul_desc>?,
                            _ kernel: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    guard let kernel else { return failure(QF_STATUS_INVALID_ARGUMENT, "kernel: null output pointer") }
    kernel.pointee = nil
    guard let desc else { return failure(QF_STATUS_INVALID_ARGUMENT, "desc is null") }
    do {
        let engine = try HandleRegistry.lookup(context, .context, as: ContextHandle.self).engine
        let op = try MatMulDescription.matMul(desc.pointee)
        kernel.pointee = HandleRegistry.register(KernelHandle(kernel: try engine.compile(op)), as: .kernel)
        return success()
    } catch {
        return failure(error)
    }
}

@_cdecl("qf_kernel_destroy")
public func qfKernelDestroy(_ kernel: OpaquePointer?) { HandleRegistry.destroy(kernel, .kernel, as: KernelHandle.self) }

@_cdecl("qf_kernel_pack")
public func qfKernelPack(_ kernel: OpaquePointer?, _ b: UnsafeRawPointer?, _ ldb: Int64,
                         _ weights: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    guard let weights else { return failure(QF_STATUS_INVALID_ARGUMENT, "weights: null output pointer") }
    weights.pointee = nil
    guard let b else { return failure(QF_STATUS_INVALID_ARGUMENT, "b is null") }
    do {
        let compiled = try HandleRegistry.lookup(kernel, .kernel, as: KernelHandle.self).kernel
        let op = compiled.op
        // The caller vouches for K rows of ldb elements (the C API cannot see the buffer's size);
        // bSpec refuses a stride whose extent overflows.
        guard ldb >= op.n else { return failure(.invalidStride(field: "B", stride: Int(ldb), minimum: op.n)) }
        let bytes = try op.bSpec(ldb: Int(ldb)).requiredBytes
        let packed = try compiled.packWeights(UnsafeRawBufferPointer(start: b, count: bytes), rowStride: Int(ldb))
        weights.pointee = HandleRegistry.register(WeightsHandle(weights: packed), as: .weights)
        return success()
    } catch {
        return failure(error)
    }
}

@_cdecl("qf_weights_bytes")
public func qfWeightsBytes(_ weights: OpaquePointer?) -> Int64 {
    guard let handle = try? HandleRegistry.lookup(weights, .weights, as: WeightsHandle.self) else { return 0 }
    return Int64(handle.weights.byteCount)
}

@_cdecl("qf_weights_destroy")
public func qfWeightsDestroy(_ weights: OpaquePointer?) { HandleRegistry.destroy(weights, .weights, as: WeightsHandle.self) }

@_cdecl("qf_kernel_run")
public func qfKernelRun(_ kernel: OpaquePointer?, _ a: UnsafeRawPointer?, _ lda: Int64, _ aBytes: Int,
                        _ weights: OpaquePointer?, _ c: UnsafeMutableRawPointer?, _ ldc: Int64, _ cBytes: Int,
                        _ m: Int64) -> qf_status {
    guard let a, let c else { return failure(QF_STATUS_INVALID_ARGUMENT, a == nil ? "a is null" : "c is null") }
    guard aBytes >= 0, cBytes >= 0 else { return failure(QF_STATUS_INVALID_ARGUMENT, "negative buffer size") }
    do {
        let compiled = try HandleRegistry.lookup(kernel, .kernel, as: KernelHandle.self).kernel
        let packed = try HandleRegistry.lookup(weights, .weights, as: WeightsHandle.self).weights
        try compiled.run(a: UnsafeRawBufferPointer(start: a, count: aBytes), aRowStride: Int(lda),
                         weights: packed,
                         c: UnsafeMutableRawBufferPointer(start: c, count: cBytes), cRowStride: Int(ldc),
                         m: m == 0 ? nil : Int(m))
        return success()
    } catch {
        return failure(error)
    }
}
