import QuantCodegen
import QuantRuntime

/// A compiled `QuantizedAttention`: three generated kernels per call — Q, K, V quantized and the
/// int8 scores (heads split across threads), the softmax over the scores' rows, P quantized and
/// the int8 P·V (heads split). Thread-safe: each call allocates its scratch.
public final class QuantizedAttentionKernel: AttentionKernel {
    public let op: QuantizedAttention
    private let scores: CompiledElementwiseKernel
    private let softmax: SoftmaxKernel
    private let context: CompiledElementwiseKernel
    private let instruction: DotInstruction
    private let pool: ThreadPool?

    /// The most scratch (quantized Q, K, V and the heads' scores) one call allocates: a longer
    /// sequence or more heads is refused rather than left to fail an allocation.
    public static let scratchLimit = 1 << 30

    init(op: QuantizedAttention, scores: CompiledElementwiseKernel, softmax: SoftmaxKernel, context: CompiledElementwiseKernel,
         instruction: DotInstruction, pool: ThreadPool?) {
        self.op = op
        self.scores = scores
        self.softmax = softmax
        self.context = context
        self.instruction = instruction
        self.pool = pool
    }

    /// One sequence: `qkv` holds `length` rows of `op.inputColumns` floats (Q, K, V); keys at and
    /// past `valid` are masked; `output` receives `length` rows of `op.outputColumns`. The caller
    /// vouches for the buffers' sizes (the array form checks them).
    public func run(qkv: UnsafePointer<Float>, length: Int, valid: Int, output: UnsafeMutablePointer<Float>) throws(QuantError) {
        try op.check(length: length, valid: valid)
        let scratch = AttentionScratch(op, instruction: instruction, length: length)
        let bytes = scratch.bytes + 4 * scratch.scoreCount
        guard bytes <= Self.scratchLimit else {
            throw .invalidShape(field: "length", reason: "\(length) tokens × \(op.heads) heads need \(bytes) bytes of scratch (at most \(Self.scratchLimit))")
        }
        let regions = UnsafeMutableRawPointer.allocate(byteCount: scratch.bytes, alignment: 64)
        let scoreBuffer = UnsafeMutablePointer<Float>.allocate(capacity: scratch.scoreCount)
        defer {
            regions.deallocate()
            scoreBuffer.deallocate()
        }
        try scratch.header.withUnsafeBufferPointer { header throws(QuantError) in
            let table = UnsafeMutableRawPointer(mutating: header.baseAddress!)
            scores.callSplitting(op.heads, on: pool, x: UnsafeRawPointer(qkv), y: regions, extra: table,
                                 extra2: UnsafeMutableRawPointer(scoreBuffer))
            try softmax.run(x: scoreBuffer, y: scoreBuffer, rows: op.heads * length, columns: scratch[.keyColumns], valid: valid)
            context.callSplitting(op.heads, on: pool, x: UnsafeRawPointer(scoreBuffer), x2: UnsafeRawPointer(regions),
                                  y: UnsafeMutableRawPointer(output), extra: table)
        }
    }
}

extension Engine {
    public func compile(_ op: QuantizedAttention) throws(QuantError) -> QuantizedAttentionKernel {
        QuantizedAttentionKernel(op: op, scores: try compileKernel(.attentionScores(op)), softmax: try compile(op.softmax),
                                 context: try compileKernel(.attentionContext(op)), instruction: try AttentionScratch.instruction(for: isa),
                                 pool: pool)
    }
}
