import CQuantSupport
import LLVMKit
import QuantOps
import QuantSchedule

/// A JIT-compiled matmul kernel. Its machine code is freed when the last reference goes.
/// Thread-safe: `run` may be called concurrently (the kernel keeps no state).
public final class CompiledMatMulKernel: @unchecked Sendable {
    public let op: MatMul
    public let schedule: MatMulSchedule
    public let instruction: DotInstruction
    public let layout: PackedLayout
    /// Time from the description to a callable function, in milliseconds.
    public let compileMilliseconds: Double
    /// The machine code (possibly shared with identical kernels).
    public let code: JITCode
    var entry: UnsafeRawPointer { code.entry }
    private let adjustment: OperandAdjustment
    /// Set when the kernel is the GEMM of an implicit-GEMM convolution (A = the NHWC input).
    public let convolution: ConvolutionGeometry?

    init(plan: MatMulPlan, code: JITCode, compileMilliseconds: Double) {
        op = plan.op
        schedule = plan.schedule
        instruction = plan.instruction
        layout = plan.layout
        adjustment = plan.adjustment
        convolution = plan.convolution
        self.code = code
        self.compileMilliseconds = compileMilliseconds
        weightSignature = Self.weightSignature(op: plan.op, instruction: plan.instruction, layout: plan.layout,
                                               adjustment: plan.adjustment)
    }

    /// What packed weights must have been packed for to run with this kernel (computed once: it is
    /// checked on every call).
    public let weightSignature: String

    static func weightSignature(op: MatMul, instruction: DotInstruction, layout: PackedLayout,
                                adjustment: OperandAdjustment) -> String {
        var hash = StableHash()
        hash.combine(adjustment.aZeroPoint)
        for point in adjustment.bZeroPoints { hash.combine(point) }
        for value in adjustment.foldedBias ?? [] { hash.combine(value) }
        return "\(op.k)x\(op.n) \(op.bType) \(instruction.kind.rawValue) nr\(layout.panelWidth) zero-points+bias \(hash.hex)"
    }

    /// Packs B (K×N, row stride `rowStride` elements, default N) for this kernel.
    public func packWeights(_ b: UnsafeRawBufferPointer, rowStride: Int? = nil) throws(QuantError) -> PackedWeights {
        try WeightPacker.pack(op, b: b, ldb: rowStride ?? op.n, instruction: instruction, layout: layout,
                              signature: weightSignature)
    }

    /// A call whose buffers, strides and weights have been checked.
    public struct PreparedCall: @unchecked Sendable {
        public let a: UnsafeRawPointer
        public let lda: Int
        public let weights: UnsafeRawPointer
        public let c: UnsafeMutableRawPointer
        public let ldc: Int
        public let m: Int
        public var extras = CallExtras()
    }

    /// The inputs only some kernels read: the epilogue chain's residual tensor and A's run-time
    /// quantization parameters. The caller keeps them alive for the call.
    public struct CallExtras: @unchecked Sendable {
        public var residual: UnsafeRawPointer? = nil
        public var ldResidual = 0
        public var aScales: UnsafePointer<Float>? = nil
        public var aZeroPoints: UnsafePointer<Int32>? = nil
        public init() {}
    }

    /// Checks M, buffer sizes, strides and the weights' layout; nothing runs.
    public func prepareCall(a: UnsafeRawBufferPointer, aRowStride: Int? = nil, weights: PackedWeights,
                            c: UnsafeMutableRawBufferPointer, cRowStride: Int? = nil, m: Int? = nil) throws(QuantError) -> PreparedCall {
        let m = try op.resolveM(m)
        let aSpec = try op.aSpec(m: m, lda: aRowStride), cSpec = try op.cSpec(m: m, ldc: cRowStride)
        try aSpec.check(bufferBytes: a.count)
        try cSpec.check(bufferBytes: c.count)
        if weights.signature != weightSignature {
            throw .weightsMismatch(reason: "packed for [\(weights.signature)], kernel needs [\(weightSignature)]")
        }
        guard let aBase = a.baseAddress, let cBase = c.baseAddress else {
            throw .bufferTooSmall(field: a.baseAddress == nil ? "A" : "C", requiredBytes: 1, actualBytes: 0)
        }
        return PreparedCall(a: aBase, lda: aSpec.rowStride, weights: UnsafeRawPointer(weights.bytes), c: cBase,
                            ldc: cSpec.rowStride, m: m)
    }

    /// Runs C = A·B for `m` rows (the kernel's M when fixed) on the calling thread. Buffer sizes,
    /// strides and the weights' layout are checked before the kernel runs.
    public func run(a: UnsafeRawBufferPointer, aRowStride: Int? = nil, weights: PackedWeights,
                    c: UnsafeMutableRawBufferPointer, cRowStride: Int? = nil, m: Int? = nil,
                    residual: UnsafeRawBufferPointer? = nil, residualRowStride: Int? = nil,
                    aScales: UnsafeBufferPointer<Float>? = nil, aZeroPoints: UnsafeBufferPointer<Int32>? = nil) throws(QuantError) {
        var call = try prepareCall(a: a, aRowStride: aRowStride, weights: weights, c: c, cRowStride: cRowStride, m: m)
        call.extras = try extras(m: call.m, residual: residual, residualRowStride: residualRowStride, aScales: aScales,
                                 aZeroPoints: aZeroPoints)
        runUnchecked(call, rows: 0..<call.m, panels: 0..<layout.panels)
    }

    /// Runs a prepared call on a sub-range of rows and panels (how a thread pool splits it).
    public func runUnchecked(_ call: PreparedCall, rows: Range<Int>, panels: Range<Int>) {
        runUnchecked(a: call.a, lda: call.lda, weights: call.weights, c: call.c, ldc: call.ldc, rows: rows, panels: panels,
                     extras: call.extras)
    }

    /// Checks a residual tensor (M×N of the chain's type, row stride `rowStride`, default N) and
    /// run-time A parameters against the op, and returns them as call extras.
    public func extras(m: Int, residual: UnsafeRawBufferPointer?, residualRowStride: Int?,
                       aScales: UnsafeBufferPointer<Float>?, aZeroPoints: UnsafeBufferPointer<Int32>?) throws(QuantError) -> CallExtras {
        var extras = CallExtras()
        if case let .chain(chain) = op.output, let type = chain.residual?.type {
            guard let residual, let base = residual.baseAddress else {
                throw .bufferTooSmall(field: "residual", requiredBytes: m * op.n * type.byteSize, actualBytes: 0)
            }
            let spec = try TensorSpec("residual", type, rows: m, columns: op.n, rowStride: residualRowStride)
            try spec.check(bufferBytes: residual.count)
            extras.residual = base
            extras.ldResidual = spec.rowStride
        } else if residual != nil {
            throw .invalidEpilogue(field: "residual", reason: "this kernel's output has no residual add")
        }
        if op.aQuantMode.isRunTime {
            guard let aScales, let aZeroPoints else {
                throw .invalidEpilogue(field: "A's run-time quantization", reason: "this kernel needs A's scale and zero point per call")
            }
            try RunTimeAQuant(scales: Array(aScales), zeroPoints: Array(aZeroPoints)).validate(mode: op.aQuantMode, m: m)
            extras.aScales = aScales.baseAddress
            extras.aZeroPoints = aZeroPoints.baseAddress
        } else if aScales != nil || aZeroPoints != nil {
            throw .invalidEpilogue(field: "A's run-time quantization", reason: "this kernel's A parameters are constant")
        }
        return extras
    }

    /// `runUnchecked` on all rows and panels with SIGILL caught (the AMX self-check): false when the
    /// kernel raised it (or `executeIllegalInstruction`, fault injection, made the call raise it).
    public func runGuardingIllegalInstruction(_ call: PreparedCall, executeIllegalInstruction: Bool = false) -> Bool {
        var args = qf_matmul_args(a: call.a, lda: Int64(call.lda), packed_b: call.weights, c: call.c, ldc: Int64(call.ldc),
                                  row_begin: 0, row_end: Int64(call.m), panel_begin: 0, panel_end: Int64(layout.panels),
                                  residual: nil, ld_residual: 0, a_scales: nil, a_zero_points: nil)
        return qf_call_matmul_kernel_guarded(entry, &args, executeIllegalInstruction ? 1 : 0) == 0
    }

    /// Calls the kernel on a sub-range of rows and column panels, with no checks (the caller has
    /// validated everything; used by `run` and by thread pools).
    public func runUnchecked(a: UnsafeRawPointer, lda: Int, weights: UnsafeRawPointer, c: UnsafeMutableRawPointer,
                             ldc: Int, rows: Range<Int>, panels: Range<Int>, extras: CallExtras = CallExtras()) {
        var args = qf_matmul_args(a: a, lda: Int64(lda), packed_b: weights, c: c, ldc: Int64(ldc),
                                  row_begin: Int64(rows.lowerBound), row_end: Int64(rows.upperBound),
                                  panel_begin: Int64(panels.lowerBound), panel_end: Int64(panels.upperBound),
                                  residual: extras.residual, ld_residual: Int64(extras.ldResidual), a_scales: extras.aScales,
                                  a_zero_points: extras.aZeroPoints)
        qf_call_matmul_kernel(entry, &args)
    }
}
