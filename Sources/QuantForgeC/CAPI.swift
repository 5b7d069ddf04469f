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

/// A `qf_kernel`: a compiled kernel of any operator, with the line `qf_kernel_describe` returns.
final class KernelHandle {
    enum Compiled {
        case matmul(MatMulKernel)
        case dynamicLinear(DynamicLinearKernel)
        case convolution(ConvKernel)
        case quantize(QuantizeKernel)
        case dequantize(DequantizeKernel)
        case dynamicQuantize(DynamicQuantizeKernel)
        case binary(BinaryKernel)
        case lookup(LookupKernel)
        case nbits(NBitsLinearKernel)
        case layerNorm(LayerNormKernel)
        case softmax(SoftmaxKernel)
        case attention(QuantizedAttentionKernel)
        case f32Attention(F32AttentionKernel)

        var name: String {
            switch self {
            case .matmul: "matmul"
            case .dynamicLinear: "dynamic linear"
            case .convolution: "convolution"
            case .quantize: "QuantizeLinear"
            case .dequantize: "DequantizeLinear"
            case .dynamicQuantize: "DynamicQuantizeLinear"
            case .binary: "QLinearAdd/QLinearMul"
            case .lookup: "lookup"
            case .nbits: "MatMulNBits"
            case .layerNorm: "LayerNormalization"
            case .softmax: "Softmax"
            case .attention: "int8 attention"
            case .f32Attention: "f32 attention"
            }
        }
    }

    let compiled: Compiled
    let summary: UnsafeMutablePointer<CChar>
    init(_ compiled: Compiled, isa: ISA) {
        self.compiled = compiled
        let detail: String = switch compiled {
        case let .matmul(kernel): "matmul \(kernel.schedule)"
        case let .dynamicLinear(kernel): "dynamic linear \(kernel.matmul.schedule)"
        case let .convolution(kernel): "convolution \(kernel.implementation)"
        case let .nbits(kernel): "MatMulNBits \(kernel.op.bits)-bit block \(kernel.op.blockSize) \(kernel.op.compute) \(isa.rawValue)"
        default: "\(compiled.name) \(isa.rawValue)"
        }
        summary = strdup(detail)!
    }
    deinit { free(summary) }

    /// The kernel as `function` expects it, or a status naming both.
    static func get<T>(_ pointer: OpaquePointer?, _ function: String, _ extract: (Compiled) -> T?) throws(QuantError) -> T {
        let handle = try HandleRegistry.lookup(pointer, .kernel, as: KernelHandle.self)
        guard let kernel = extract(handle.compiled) else {
            throw .invalidArgument(field: "kernel", reason: "\(function) was given a \(handle.compiled.name) kernel")
        }
        return kernel
    }
}

/// A `qf_weights`: packed for a matmul / dynamic linear, a convolution, or a MatMulNBits linear.
final class WeightsHandle {
    enum Packed {
        case matrix(PackedWeights)
        case convolution(ConvWeights)
        case nbits(NBitsWeights)
    }
    let packed: Packed
    init(_ packed: Packed) { self.packed = packed }

    var byteCount: Int {
        switch packed {
        case let .matrix(weights): weights.byteCount
        case let .convolution(weights): weights.byteCount
        case let .nbits(weights): weights.byteCount
        }
    }
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

/// The library's version string, made once.
nonisolated(unsafe) private let versionString = strdup(QuantForgeVersion.package)!

@_cdecl("qf_version")
public func qfVersion() -> UnsafePointer<CChar> { UnsafePointer(versionString) }

@_cdecl("qf_matmul_desc_init")
public func qfMatmulDescInit(_ desc: UnsafeMutablePointer<qf_matmul_desc>?, _ m: Int64, _ k: Int64, _ n: Int64) {
    guard let desc else { return }
    desc.pointee = qf_matmul_desc(
        m: m, k: k, n: n, a_type: QF_TYPE_U8, b_type: QF_TYPE_S8, a_scale: 1, a_zero_point: 0, b_channels: 1,
        b_scales: nil, b_zero_points: nil, output: QF_OUTPUT_INT32, output_type: QF_TYPE_U8, y_scale: 1, y_zero_point: 0,
        bias: nil, activation: QF_ACTIVATION_NONE, clamp_min: 0, clamp_max: 0, a_quantization: QF_A_CONSTANT,
        steps: nil, step_count: 0)
}

/// Runs `body` with the context's engine and registers the kernel it compiles.
func compileKernel(_ context: OpaquePointer?, _ kernel: UnsafeMutablePointer<OpaquePointer?>?,
                   _ body: (Engine) throws(QuantError) -> KernelHandle.Compiled) -> qf_status {
    guard let kernel else { return failure(QF_STATUS_INVALID_ARGUMENT, "kernel: null output pointer") }
    kernel.pointee = nil
    do {
        let engine = try HandleRegistry.lookup(context, .context, as: ContextHandle.self).engine
        let compiled = try body(engine)
        kernel.pointee = HandleRegistry.register(KernelHandle(compiled, isa: engine.isa), as: .kernel)
        return success()
    } catch {
        return failure(error)
    }
}

/// Runs `body`, mapping a thrown error to its status.
func guarded(_ body: () throws(QuantError) -> Void) -> qf_status {
    do {
        try body()
        return success()
    } catch {
        return failure(error)
    }
}

/// A caller's (pointer, size) as a buffer, refusing null pointers and sizes above Int.max.
func buffer(_ pointer: UnsafeRawPointer?, _ bytes: Int, _ field: String) throws(QuantError) -> UnsafeRawBufferPointer {
    guard let pointer else { throw .invalidArgument(field: field, reason: "null pointer") }
    guard bytes >= 0 else { throw .invalidArgument(field: field, reason: "negative buffer size") }
    return UnsafeRawBufferPointer(start: pointer, count: bytes)
}

func mutableBuffer(_ pointer: UnsafeMutableRawPointer?, _ bytes: Int, _ field: String) throws(QuantError) -> UnsafeMutableRawBufferPointer {
    guard let pointer else { throw .invalidArgument(field: field, reason: "null pointer") }
    guard bytes >= 0 else { throw .invalidArgument(field: field, reason: "negative buffer size") }
    return UnsafeMutableRawBufferPointer(start: pointer, count: bytes)
}

@_cdecl("qf_context_create")
public func qfContextCreate(_ isa: UnsafePointer<CChar>?, _ threads: Int32,
                            _ context: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    createContext(isa: isa, threads: threads, database: nil, context)
}

@_cdecl("qf_context_create_with_database")
public func qfContextCreateWithDatabase(_ isa: UnsafePointer<CChar>?, _ threads: Int32, _ database: UnsafePointer<CChar>?,
                                        _ context: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    guard let database else { return failure(QF_STATUS_INVALID_ARGUMENT, "tuning_database: null path") }
    return createContext(isa: isa, threads: threads, database: String(cString: database), context)
}

/// A context on `isa` (nil: the best) compiling through the tuning database at `database`, else
/// the one QFORGE_TUNING_DB names, else the default location's when it exists. Databases are
/// opened read-only: a lookup creates and changes nothing. A database named explicitly that cannot
/// be used is an error; the default location is optional.
private func createContext(isa: UnsafePointer<CChar>?, threads: Int32, database path: String?,
                           _ context: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    guard let context else { return failure(QF_STATUS_INVALID_ARGUMENT, "context: null output pointer") }
    context.pointee = nil
    do {
        let chosen = try isa.map { try ISA.parse(String(cString: $0)) }
        let database: TuningDatabase?
        if let path {
            database = try TuningDatabase(path: path, access: .readOnly)
        } else if let named = ProcessInfo.processInfo.environment["QFORGE_TUNING_DB"], !named.isEmpty {
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
    compileKernel(context, kernel) { engine throws(QuantError) in
        guard let desc else { throw .invalidArgument(field: "desc", reason: "null pointer") }
        let op = try MatMulDescription.matMul(desc.pointee)
        return op.aQuantMode.isRunTime ? .dynamicLinear(try engine.compileDynamicLinear(op)) : .matmul(try engine.compile(op))
    }
}

@_cdecl("qf_kernel_destroy")
public func qfKernelDestroy(_ kernel: OpaquePointer?) { HandleRegistry.destroy(kernel, .kernel, as: KernelHandle.self) }

@_cdecl("qf_kernel_pack")
public func qfKernelPack(_ kernel: OpaquePointer?, _ b: UnsafeRawPointer?, _ ldb: Int64,
                         _ weights: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    guard let weights else { return failure(QF_STATUS_INVALID_ARGUMENT, "weights: null output pointer") }
    weights.pointee = nil
    return guarded { () throws(QuantError) in
        guard let b else { throw .invalidArgument(field: "b", reason: "null pointer") }
        let compiled = try KernelHandle.get(kernel, "qf_kernel_pack") { compiled -> MatMulKernel? in
            switch compiled {
            case let .matmul(kernel): kernel
            case let .dynamicLinear(kernel): kernel.matmul
            default: nil
            }
        }
        let op = compiled.op
        // The caller vouches for K rows of ldb elements (the C API cannot see the buffer's size);
        // bSpec refuses a stride whose extent overflows.
        guard ldb >= op.n else { throw .invalidStride(field: "B", stride: Int(clamping: ldb), minimum: op.n) }
        let bytes = try op.bSpec(ldb: Int(ldb)).requiredBytes
        let packed = try compiled.packWeights(UnsafeRawBufferPointer(start: b, count: bytes), rowStride: Int(ldb))
        weights.pointee = HandleRegistry.register(WeightsHandle(.matrix(packed)), as: .weights)
    }
}

@_cdecl("qf_weights_bytes")
public func qfWeightsBytes(_ weights: OpaquePointer?) -> Int64 {
    guard let handle = try? HandleRegistry.lookup(weights, .weights, as: WeightsHandle.self) else { return 0 }
    return Int64(handle.byteCount)
}

@_cdecl("qf_weights_destroy")
public func qfWeightsDestroy(_ weights: OpaquePointer?) { HandleRegistry.destroy(weights, .weights, as: WeightsHandle.self) }

@_cdecl("qf_kernel_run")
public func qfKernelRun(_ kernel: OpaquePointer?, _ a: UnsafeRawPointer?, _ lda: Int64, _ aBytes: Int,
                        _ weights: OpaquePointer?, _ c: UnsafeMutableRawPointer?, _ ldc: Int64, _ cBytes: Int,
                        _ m: Int64) -> qf_status {
    runMatMul(kernel, a, lda, aBytes, weights, residual: nil, 0, 0, c, ldc, cBytes, m, function: "qf_kernel_run")
}

@_cdecl("qf_kernel_run_residual")
public func qfKernelRunResidual(_ kernel: OpaquePointer?, _ a: UnsafeRawPointer?, _ lda: Int64, _ aBytes: Int,
                                _ weights: OpaquePointer?, _ residual: UnsafeRawPointer?, _ ldr: Int64, _ rBytes: Int,
                                _ c: UnsafeMutableRawPointer?, _ ldc: Int64, _ cBytes: Int, _ m: Int64) -> qf_status {
    guard residual != nil else { return failure(QF_STATUS_INVALID_ARGUMENT, "residual is null") }
    return runMatMul(kernel, a, lda, aBytes, weights, residual: residual, ldr, rBytes, c, ldc, cBytes, m, function: "qf_kernel_run_residual")
}

private func runMatMul(_ kernel: OpaquePointer?, _ a: UnsafeRawPointer?, _ lda: Int64, _ aBytes: Int,
                       _ weights: OpaquePointer?, residual: UnsafeRawPointer?, _ ldr: Int64, _ rBytes: Int,
                       _ c: UnsafeMutableRawPointer?, _ ldc: Int64, _ cBytes: Int, _ m: Int64, function: String) -> qf_status {
    guarded { () throws(QuantError) in
        let a = try buffer(a, aBytes, "a"), c = try mutableBuffer(c, cBytes, "c")
        let r = try residual.map { p throws(QuantError) in try buffer(p, rBytes, "residual") }
        let compiled = try KernelHandle.get(kernel, function) { $0 }
        let packed = try HandleRegistry.lookup(weights, .weights, as: WeightsHandle.self)
        guard case let .matrix(matrix) = packed.packed else {
            throw .weightsMismatch(reason: "convolution weights were passed to \(function)")
        }
        let rows = m == 0 ? nil : Int(clamping: m)
        let residualStride = residual == nil ? nil : Int(clamping: ldr)
        switch compiled {
        case let .matmul(kernel):
            try kernel.run(a: a, aRowStride: Int(clamping: lda), weights: matrix, c: c, cRowStride: Int(clamping: ldc), m: rows,
                           residual: r, residualRowStride: residualStride)
        case let .dynamicLinear(kernel):
            // The parameter pass reads A's rows contiguously.
            guard lda == Int64(kernel.op.k) else { throw .invalidStride(field: "A", stride: Int(clamping: lda), minimum: kernel.op.k) }
            guard a.count % 4 == 0, Int(bitPattern: a.baseAddress) % 4 == 0 else {
                throw .invalidArgument(field: "a", reason: "a dynamic linear reads f32 A: 4-byte aligned, whole floats")
            }
            let floats = UnsafeBufferPointer(start: a.baseAddress!.assumingMemoryBound(to: Float.self), count: a.count / 4)
            try kernel.run(a: floats, weights: matrix, c: c, cRowStride: Int(clamping: ldc), m: rows, residual: r, residualRowStride: residualStride)
        default:
            throw .invalidArgument(field: "kernel", reason: "\(function) was given a \(compiled.name) kernel")
        }
    }
}
