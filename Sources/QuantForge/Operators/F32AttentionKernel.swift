import QuantCodegen
import QuantRuntime

/// A compiled `F32Attention`: one fused kernel (heads split across threads). Thread-safe: each
/// call allocates its scratch.
public final class F32AttentionKernel: AttentionKernel {
    public let op: F32Attention
    private let compiled: CompiledElementwiseKernel
    private let pool: ThreadPool?

    /// The most scratch one call allocates: a longer sequence is refused rather than left to fail
    /// an allocation.
    public static let scratchLimit = 1 << 30

    init(op: F32Attention, compiled: CompiledElementwiseKernel, pool: ThreadPool?) {
        self.op = op
        self.compiled = compiled
        self.pool = pool
    }

    /// One sequence: `qkv` holds `length` rows of `op.inputColumns` floats (Q, K, V); keys at and
    /// past `valid` are masked; `output` receives `length` rows of `op.outputColumns`. The caller
    /// vouches for the buffers' sizes (the array form checks them).
    public func run(qkv: UnsafePointer<Float>, length: Int, valid: Int, output: UnsafeMutablePointer<Float>) throws(QuantError) {
        try op.check(length: length, valid: valid)
        let floats = op.heads * op.scratchFloatsPerHead(length: length)
        guard 4 * floats <= Self.scratchLimit else {
            throw .invalidShape(field: "length", reason: "\(length) tokens × \(op.heads) heads need \(4 * floats) bytes of scratch (at most \(Self.scratchLimit))")
        }
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 4 * floats, alignment: 64)
        defer { scratch.deallocate() }
        compiled.callSplitting(op.heads, on: pool, worthSplitting: length * length * op.outputColumns >= 1 << 16, x: UnsafeRawPointer(qkv),
                               x2: UnsafeRawPointer(scratch), y: UnsafeMutableRawPointer(output),
                               extra: UnsafeMutableRawPointer(bitPattern: length), extra2: UnsafeMutableRawPointer(bitPattern: valid))
    }
}

extension Engine {
    public func compile(_ op: F32Attention) throws(QuantError) -> F32AttentionKernel {
        F32AttentionKernel(op: op, compiled: try compileKernel(.f32Attention(op)), pool: pool)
    }
}
