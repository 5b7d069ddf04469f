import CQuantSupport
import QuantCodegen
import QuantRuntime

/// An `NBitsLinear`'s weights (and bias) packed once in its kernel's `NBitsLayout`: 64-byte
/// aligned, and from 2 MiB on huge pages (a GEMV streams them: no 4 KiB-page TLB misses).
public final class NBitsWeights: @unchecked Sendable {
    public let layout: NBitsLayout
    let bytes: UnsafeMutableRawBufferPointer

    init(layout: NBitsLayout) throws(QuantError) {
        self.layout = layout
        let count = max(layout.byteCount, 64)
        guard let memory = qf_allocate_large(count) else {
            throw .invalidShape(field: "weights", reason: "out of memory for \(count) bytes of packed weights")
        }
        bytes = UnsafeMutableRawBufferPointer(start: memory, count: count)
    }
    deinit { qf_free_large(bytes.baseAddress) }

    public var byteCount: Int { layout.byteCount }
}

/// A compiled `NBitsLinear` (MatMulNBits): f32 rows in, f32 rows out. The int8 mode first
/// quantizes A per block (one generated kernel, rows split across threads), then the linear kernel
/// runs with the output's column panels split across the engine's threads (each thread streams
/// its own share of the weights). Thread-safe.
public final class NBitsLinearKernel: Sendable {
    public let layout: NBitsLayout
    public var op: NBitsLinear { layout.op }
    public let linear: CompiledElementwiseKernel
    public let quantizeA: CompiledElementwiseKernel?
    /// The generated packer (the one AOT libraries call too).
    public let pack: CompiledElementwiseKernel
    private let pool: ThreadPool?

    init(layout: NBitsLayout, linear: CompiledElementwiseKernel, quantizeA: CompiledElementwiseKernel?,
         pack: CompiledElementwiseKernel, pool: ThreadPool?) {
        self.layout = layout
        self.linear = linear
        self.quantizeA = quantizeA
        self.pack = pack
        self.pool = pool
    }

    /// Packs MatMulNBits' inputs: `b` [N, blocks, blockSize·bits/8], `scales` [N·blocks] (f32; f16
    /// through `NBitsLinear.scales(fromHalf:)`), `zeroPoints` [N, ⌈blocks·bits/8⌉] exactly when the
    /// op has per-block zero points, `bias` [N] exactly when it has one. Scales must be finite.
    public func packWeights(b: [UInt8], scales: [Float], zeroPoints: [UInt8]? = nil, bias: [Float]? = nil) throws(QuantError) -> NBitsWeights {
        if b.count != op.quantizedWeightBytes {
            throw .invalidShape(field: "b", reason: "\(b.count) bytes; \(op.outputs)×\(op.blocksPerColumn) blocks of \(op.blockBytes) need \(op.quantizedWeightBytes)")
        }
        if scales.count != op.scaleCount {
            throw .invalidShape(field: "scales", reason: "\(scales.count) values; \(op.outputs)×\(op.blocksPerColumn) blocks need \(op.scaleCount)")
        }
        // Any finite scale (MatMulNBits' own quantizer writes negative ones); `invalidScale` would
        // claim a scale must be > 0.
        if let bad = scales.firstIndex(where: { !$0.isFinite }) {
            throw .invalidArgument(field: "scales[\(bad)]", reason: "\(scales[bad]) is not a finite number")
        }
        switch (op.zeroPoints, zeroPoints) {
        case (.midpoint, .some):
            throw .invalidArgument(field: "zeroPoints", reason: "this linear uses the midpoint \(op.midpoint); it takes no zero points")
        case (.perBlock, .none):
            throw .invalidArgument(field: "zeroPoints", reason: "this linear has per-block zero points: pass them")
        case let (.perBlock, .some(zp)) where zp.count != op.zeroPointBytes:
            throw .invalidShape(field: "zeroPoints", reason: "\(zp.count) bytes; \(op.outputs) columns of \(op.zeroPointBytesPerColumn) need \(op.zeroPointBytes)")
        default: break
        }
        if op.hasBias != (bias != nil) {
            throw .invalidArgument(field: "bias", reason: op.hasBias ? "this linear has a bias: pass it" : "this linear has no bias")
        }
        if let bias, bias.count != op.outputs { throw .invalidShape(field: "bias", reason: "\(bias.count) values for \(op.outputs) outputs") }
        let weights = try NBitsWeights(layout: layout)
        let side = layout.side(scales: scales, bias: bias, zeroPoints: zeroPoints)
        b.withUnsafeBytes { b in
            side.withUnsafeBytes { side in
                // Panels split across the threads (a 4096 x 11008 4-bit matrix is ~22 MB).
                pack.callSplitting(layout.panels, on: pool, x: b.baseAddress, x2: side.baseAddress, y: weights.bytes.baseAddress)
            }
        }
        return weights
    }

    /// y [rows × N] = act(a [rows × K] · Wᵀ + bias); the caller vouches for the buffers' sizes.
    public func run(a: UnsafePointer<Float>, rows: Int, weights: NBitsWeights, y: UnsafeMutablePointer<Float>) throws(QuantError) {
        if weights.layout != layout { throw .weightsMismatch(reason: "packed for another NBitsLinear layout") }
        if rows < 0 || rows > MatMul.maxDimension { throw .invalidShape(field: "rows", reason: "\(rows) is out of range") }
        guard rows > 0 else { return }
        var input = UnsafeRawPointer(a)
        var quantized: UnsafeMutableRawBufferPointer?
        defer { quantized?.deallocate() }
        if let quantizeA {
            let (bytes, overflow) = rows.multipliedReportingOverflow(by: layout.quantizedRowStride)
            if overflow || bytes > 1 << 40 { throw .invalidShape(field: "rows", reason: "\(rows) rows of A quantized would not fit in memory") }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 64)
            quantized = buffer
            quantizeA.callSplitting(rows, on: pool, x: UnsafeRawPointer(a), y: buffer.baseAddress!)
            input = UnsafeRawPointer(buffer.baseAddress!)
        }
        // Panels split when each thread has enough work to pay for the fork; the row count goes in
        // the kernel's `extra`.
        linear.callSplitting(layout.panels, on: pool, worthSplitting: rows * op.inputs * op.outputs >= 1 << 18, x: input,
                             x2: UnsafeRawPointer(weights.bytes.baseAddress!), y: UnsafeMutableRawPointer(y),
                             extra: UnsafeMutableRawPointer(bitPattern: rows))
    }

    /// Runs on arrays; returns y.
    public func run(_ a: [Float], weights: NBitsWeights) throws(QuantError) -> [Float] {
        if a.count % op.inputs != 0 {
            throw .invalidShape(field: "a", reason: "\(a.count) values are not whole rows of \(op.inputs)")
        }
        let rows = a.count / op.inputs
        var y = [Float](repeating: 0, count: rows * op.outputs)
        guard rows > 0 else { return y }
        try QuantError.rethrowing {
            try a.withUnsafeBufferPointer { a in
                try y.withUnsafeMutableBufferPointer { try run(a: a.baseAddress!, rows: rows, weights: weights, y: $0.baseAddress!) }
            }
        }
        return y
    }
}

extension Engine {
    /// Compiles a weight-only quantized linear (and, for the int8 mode, its A quantization).
    public func compile(_ op: NBitsLinear) throws(QuantError) -> NBitsLinearKernel {
        NBitsLinearKernel(layout: try NBitsLayout(op, isa: isa), linear: try compileKernel(.nbitsLinear(op)),
                          quantizeA: op.compute == .int8 ? try compileKernel(.nbitsQuantizeA(op)) : nil,
                          pack: try compileKernel(.nbitsPack(op)), pool: pool)
    }
}
