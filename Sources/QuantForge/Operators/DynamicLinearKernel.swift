import QuantCodegen
import QuantRuntime

/// A compiled dynamic quantized linear (PyTorch's `linear_dynamic`, ONNX Runtime's
/// `DynamicQuantizeMatMul`): f32 A (M×K) in, f32 or requantized C out. Per call, one generated
/// pass finds A's range and its DynamicQuantizeLinear parameters (per tensor or per row); the
/// matmul kernel then quantizes each row block of A to u8 while packing it, multiplies it with the
/// pre-packed int8 weights and writes C once through its epilogue (dequantize, bias,
/// activation, ...). Thread-safe.
public final class DynamicLinearKernel: Sendable {
    /// The matmul (A f32, parameters at run time).
    public let matmul: MatMulKernel
    /// The pass that computes A's parameters.
    public let parameters: CompiledElementwiseKernel

    init(matmul: MatMulKernel, parameters: CompiledElementwiseKernel) {
        self.matmul = matmul
        self.parameters = parameters
    }

    public var op: MatMul { matmul.op }

    /// Packs B (K×N) once.
    public func packWeights(_ b: [UInt8]) throws(QuantError) -> PackedWeights { try matmul.packWeights(b) }

    /// C = dynamic_quantize(A) · B → the op's epilogue, for `m` rows (the op's M when fixed), C's
    /// rows `cRowStride` elements apart (default N);
    /// `residual` (M×N, row stride `residualRowStride`) when the epilogue chain adds one. Every
    /// buffer is checked before a kernel runs.
    public func run(a: UnsafeBufferPointer<Float>, weights: PackedWeights, c: UnsafeMutableRawBufferPointer, cRowStride: Int? = nil,
                    m: Int? = nil, residual: UnsafeRawBufferPointer? = nil, residualRowStride: Int? = nil) throws(QuantError) {
        let rows = try op.resolveM(m)
        var call = try matmul.compiled.prepareCall(a: UnsafeRawBufferPointer(a), weights: weights, c: c, cRowStride: cRowStride, m: m)
        let count = op.aQuantMode == .perRowAtRunTime ? rows : 1
        // Rows of K floats, whole rows only (the parameter pass reads A contiguously).
        precondition(call.lda == op.k)
        let scales = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        let zeroPoints = UnsafeMutableBufferPointer<Int32>.allocate(capacity: count)
        defer {
            scales.deallocate()
            zeroPoints.deallocate()
        }
        parameters.callUnchecked(x: UnsafeRawPointer(a.baseAddress), y: nil, extra: UnsafeMutableRawPointer(scales.baseAddress),
                                 extra2: UnsafeMutableRawPointer(zeroPoints.baseAddress), begin: 0, end: rows)
        // The residual is checked like any matmul's; the parameters just computed are valid.
        call.extras = try matmul.compiled.extras(m: rows, residual: residual, residualRowStride: residualRowStride,
                                                 aScales: UnsafeBufferPointer(scales), aZeroPoints: UnsafeBufferPointer(zeroPoints))
        matmul.runPrepared(call)
    }

    /// Runs on arrays; returns C's bytes.
    public func run(a: [Float], weights: PackedWeights, m: Int? = nil, residual: [UInt8]? = nil) throws(QuantError) -> [UInt8] {
        let rows = try op.resolveM(m)
        var c = [UInt8](repeating: 0, count: try op.cSpec(m: rows).requiredBytes)
        try QuantError.rethrowing {
            try a.withUnsafeBufferPointer { a in
                try c.withUnsafeMutableBytes { c in
                    if let residual {
                        try residual.withUnsafeBytes { try run(a: a, weights: weights, c: c, m: m, residual: $0) }
                    } else {
                        try run(a: a, weights: weights, c: c, m: m)
                    }
                }
            }
        }
        return c
    }
}

extension Engine {
    /// Compiles a dynamic quantized linear: `op` has an f32 A whose parameters come at run time
    /// (`aQuantMode` per tensor or per row).
    public func compileDynamicLinear(_ op: MatMul, schedule: MatMulSchedule? = nil) throws(QuantError) -> DynamicLinearKernel {
        if op.aType != .f32 || !op.aQuantMode.isRunTime {
            throw .invalidSpec(path: "op", reason: "a dynamic linear takes f32 A with run-time parameters (aType .f32, aQuantMode per tensor or per row)")
        }
        let quantizer = try DynamicQuantizeLinear(rows: 1, columns: op.k, perRow: op.aQuantMode == .perRowAtRunTime)
        let parameters = try compileKernel(.dynamicQuantize(quantizer, parametersOnly: true))
        return DynamicLinearKernel(matmul: try compile(op, schedule: schedule), parameters: parameters)
    }
}
