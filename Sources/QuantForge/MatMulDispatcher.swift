import Foundation

/// Runs one matmul whose M changes from call to call (tokens, batch), without retuning or
/// recompiling per M. Calls are grouped in power-of-two buckets of M; the first call in a bucket
/// picks a schedule — tuned for that exact M, else for the bucket's M, else the default heuristic —
/// compiles an M-generic kernel (through the engine's kernel cache) and packs the weights for its
/// layout; every later call in the bucket is an array lookup.
public final class MatMulDispatcher: @unchecked Sendable {
    /// The operator, with M dynamic.
    public let op: MatMul
    public let engine: Engine
    private let weightsSource: [UInt8]
    private let lock = NSLock()
    private var buckets = [Slot?](repeating: nil, count: Int.bitWidth)
    private var packed: [String: PackedWeights] = [:]

    struct Slot {
        let kernel: MatMulKernel
        let weights: PackedWeights
    }

    /// `b` is K×N with row stride `rowStride` (default N); it is copied.
    public init(engine: Engine, op: MatMul, b: UnsafeRawBufferPointer, rowStride: Int? = nil) throws(QuantError) {
        self.engine = engine
        self.op = try op.with(m: nil)
        let spec = try op.bSpec(ldb: rowStride)
        try spec.check(bufferBytes: b.count)
        var dense = [UInt8](repeating: 0, count: op.k * op.n)
        for row in 0..<op.k {
            for column in 0..<op.n { dense[row * op.n + column] = b[row * spec.rowStride + column] }
        }
        weightsSource = dense
    }

    /// The bucket of `m`: ⌈log2 m⌉.
    static func bucket(_ m: Int) -> Int { m <= 1 ? 0 : Int.bitWidth - (m - 1).leadingZeroBitCount }

    /// The schedule and kernel serving calls with `m` rows (compiled on first use).
    public func kernel(forRows m: Int) throws(QuantError) -> MatMulKernel { try slot(m).kernel }

    private func slot(_ m: Int) throws(QuantError) -> Slot {
        let bucket = Self.bucket(m)
        lock.lock()
        if let slot = buckets[bucket] {
            lock.unlock()
            return slot
        }
        lock.unlock()
        let representative = 1 << bucket
        let exact = try op.with(m: m), bucketOp = try op.with(m: min(representative, MatMul.maxDimension))
        let schedule: MatMulSchedule
        if let tuned = engine.tunedSchedule(for: exact) {
            schedule = tuned
        } else if let tuned = engine.tunedSchedule(for: bucketOp) {
            schedule = tuned
        } else {
            schedule = try engine.defaultSchedule(for: bucketOp)
        }
        let kernel = try engine.compile(op, schedule: schedule)
        lock.lock()
        defer { lock.unlock() }
        if let raced = buckets[bucket] { return raced }
        let signature = kernel.compiled.weightSignature
        let weights: PackedWeights
        if let existing = packed[signature] {
            weights = existing
        } else {
            weights = try QuantError.rethrowing { try weightsSource.withUnsafeBytes { try kernel.packWeights($0) } }
            packed[signature] = weights
        }
        let slot = Slot(kernel: kernel, weights: weights)
        buckets[bucket] = slot
        return slot
    }

    /// C = A·B for `m` rows; buffers and strides are checked as `MatMulKernel.run` checks them.
    public func run(a: UnsafeRawBufferPointer, aRowStride: Int? = nil, c: UnsafeMutableRawBufferPointer,
                    cRowStride: Int? = nil, m: Int) throws(QuantError) {
        guard m >= 1 else { throw .invalidShape(field: "M", reason: "M = \(m) must be ≥ 1") }
        let slot = try slot(m)
        try slot.kernel.run(a: a, aRowStride: aRowStride, weights: slot.weights, c: c, cRowStride: cRowStride, m: m)
    }
}
