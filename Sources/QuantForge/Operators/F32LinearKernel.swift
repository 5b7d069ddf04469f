import QuantCodegen
import QuantRuntime

/// An `F32Linear`'s weights (and bias) packed once for its kernel.
public final class F32LinearWeights: Sendable {
    public let layout: F32LinearLayout
    let values: [Float]
    init(layout: F32LinearLayout, values: [Float]) {
        self.layout = layout
        self.values = values
    }
    public var byteCount: Int { values.count * 4 }
}

/// A compiled `F32Linear`: f32 rows in, f32 rows out, rows split across the engine's threads.
/// Thread-safe.
public final class F32LinearKernel: Sendable {
    public let op: F32Linear
    public let compiled: CompiledElementwiseKernel
    public let layout: F32LinearLayout
    private let pool: ThreadPool?

    init(op: F32Linear, compiled: CompiledElementwiseKernel, layout: F32LinearLayout, pool: ThreadPool?) {
        self.op = op
        self.compiled = compiled
        self.layout = layout
        self.pool = pool
    }

    /// Packs weights [outputs, inputs] (PyTorch's layout) and the bias (outputs values, required
    /// exactly when the op has one).
    public func packWeights(_ weights: [Float], bias: [Float]?) throws(QuantError) -> F32LinearWeights {
        try checkBuffer("weights", bytes: weights.count * 4, count: op.inputs * op.outputs, type: .f32)
        if op.hasBias != (bias != nil) {
            throw .invalidArgument(field: "bias", reason: op.hasBias ? "this linear has a bias: pass it" : "this linear has no bias")
        }
        if let bias { try checkBuffer("bias", bytes: bias.count * 4, count: op.outputs, type: .f32) }
        let values = weights.withUnsafeBufferPointer { w in
            if let bias { return bias.withUnsafeBufferPointer { layout.pack(weights: w, bias: $0) } }
            return layout.pack(weights: w, bias: nil)
        }
        return F32LinearWeights(layout: layout, values: values)
    }

    /// y[rows × outputs] = x[rows × inputs] · Wᵀ (+ bias); the caller vouches for the buffers' sizes.
    public func run(x: UnsafePointer<Float>, rows: Int, weights: F32LinearWeights, y: UnsafeMutablePointer<Float>) throws(QuantError) {
        if weights.layout != layout { throw .weightsMismatch(reason: "packed for another f32 linear layout") }
        if rows < 0 || rows > MatMul.maxDimension { throw .invalidShape(field: "rows", reason: "\(rows) is out of range") }
        weights.values.withUnsafeBufferPointer { packed in
            compiled.callSplitting(rows, on: pool, worthSplitting: rows >= 2 * layout.tileRows * (pool?.threadCount ?? 1),
                                   x: UnsafeRawPointer(x), x2: UnsafeRawPointer(packed.baseAddress), y: UnsafeMutableRawPointer(y))
        }
    }

    /// Runs on arrays; returns y.
    public func run(_ x: [Float], weights: F32LinearWeights) throws(QuantError) -> [Float] {
        if x.count % op.inputs != 0 {
            throw .invalidShape(field: "x", reason: "\(x.count) values are not whole rows of \(op.inputs)")
        }
        let rows = x.count / op.inputs
        var y = [Float](repeating: 0, count: rows * op.outputs)
        guard rows > 0 else { return y }
        try QuantError.rethrowing {
            try x.withUnsafeBufferPointer { x in
                try y.withUnsafeMutableBufferPointer { try run(x: x.baseAddress!, rows: rows, weights: weights, y: $0.baseAddress!) }
            }
        }
        return y
    }
}

extension Engine {
    public func compile(_ op: F32Linear) throws(QuantError) -> F32LinearKernel {
        F32LinearKernel(op: op, compiled: try compileKernel(.f32Linear(op)), layout: try F32LinearLayout(op, isa: isa), pool: pool)
    }
}
