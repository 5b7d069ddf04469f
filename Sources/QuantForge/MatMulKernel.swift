import QuantRuntime

/// A compiled matmul ready to run: the JIT-compiled kernel plus the engine's threads.
/// Thread-safe; `run` may be called from several threads at once (calls that use the pool take
/// turns on it).
public final class MatMulKernel: Sendable {
    /// The JIT artifact: machine code, schedule, packed-weight layout.
    public let compiled: CompiledMatMulKernel
    private let pool: ThreadPool?

    /// Where a kernel's schedule came from.
    public enum ScheduleSource: String, Sendable {
        case given, tuned, defaultHeuristic
    }
    public let scheduleSource: ScheduleSource

    init(compiled: CompiledMatMulKernel, pool: ThreadPool?, source: ScheduleSource) {
        self.compiled = compiled
        self.pool = pool
        scheduleSource = source
    }

    public var op: MatMul { compiled.op }
    public var schedule: MatMulSchedule { compiled.schedule }
    public var layout: PackedLayout { compiled.layout }
    public var compileMilliseconds: Double { compiled.compileMilliseconds }
    /// Threads a call may use.
    public var threads: Int { pool?.threadCount ?? 1 }

    /// Packs B (K×N, row stride `rowStride` elements, default N) for this kernel, once.
    public func packWeights(_ b: UnsafeRawBufferPointer, rowStride: Int? = nil) throws(QuantError) -> PackedWeights {
        try compiled.packWeights(b, rowStride: rowStride)
    }

    /// Runs C = A·B for `m` rows on caller-owned buffers; everything is checked before any kernel
    /// runs. With several threads the output is split into row or panel ranges.
    ///
    /// `residual` (M×N, row stride `residualRowStride`) feeds an epilogue chain's residual add;
    /// `aScales` / `aZeroPoints` are A's parameters when the op takes them at run time (one, or one
    /// per row).
    public func run(a: UnsafeRawBufferPointer, aRowStride: Int? = nil, weights: PackedWeights,
                    c: UnsafeMutableRawBufferPointer, cRowStride: Int? = nil, m: Int? = nil,
                    residual: UnsafeRawBufferPointer? = nil, residualRowStride: Int? = nil,
                    aScales: UnsafeBufferPointer<Float>? = nil, aZeroPoints: UnsafeBufferPointer<Int32>? = nil) throws(QuantError) {
        var call = try compiled.prepareCall(a: a, aRowStride: aRowStride, weights: weights, c: c, cRowStride: cRowStride, m: m)
        call.extras = try compiled.extras(m: call.m, residual: residual, residualRowStride: residualRowStride,
                                          aScales: aScales, aZeroPoints: aZeroPoints)
        runPrepared(call)
    }

    /// Runs a checked call (see `CompiledMatMulKernel.prepareCall`), split across the threads.
    public func runPrepared(_ call: CompiledMatMulKernel.PreparedCall) {
        guard let pool else {  // the hot single-thread path: straight to the kernel
            compiled.runUnchecked(call, rows: 0..<call.m, panels: 0..<layout.panels)
            return
        }
        ParallelMatMul.run(compiled, a: call.a, lda: call.lda, weights: call.weights, c: call.c, ldc: call.ldc, m: call.m, pool: pool,
                            extras: call.extras)
    }
}
