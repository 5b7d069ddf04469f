import QuantCodegen

/// A compiled `LayerNormalization`: f32 rows in, f32 rows out (in place allowed), γ and β per call.
/// Thread-safe.
public final class LayerNormKernel: Sendable {
    public let op: LayerNormalization
    public let compiled: CompiledElementwiseKernel

    init(op: LayerNormalization, compiled: CompiledElementwiseKernel) {
        self.op = op
        self.compiled = compiled
    }

    /// `rows` rows of `op.columns` floats from x (+ residual, exactly when the op has one) into y
    /// (which may be x); γ and β hold `columns` floats. The caller vouches for the sizes.
    public func run(x: UnsafePointer<Float>, residual: UnsafePointer<Float>?, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                    y: UnsafeMutablePointer<Float>, rows: Int) throws(QuantError) {
        if op.hasResidual != (residual != nil) {
            throw .invalidArgument(field: "residual", reason: op.hasResidual ? "this LayerNorm adds a residual: pass it" : "this LayerNorm has no residual")
        }
        if rows < 0 || rows > MatMul.maxDimension { throw .invalidShape(field: "rows", reason: "\(rows) is out of range") }
        compiled.callUnchecked(x: UnsafeRawPointer(x), x2: residual.map { UnsafeRawPointer($0) }, y: UnsafeMutableRawPointer(y),
                               extra: UnsafeMutableRawPointer(mutating: gamma), extra2: UnsafeMutableRawPointer(mutating: beta),
                               begin: 0, end: rows)
    }

    /// Runs on arrays (sizes checked); returns y.
    public func run(_ x: [Float], residual: [Float]? = nil, gamma: [Float], beta: [Float]) throws(QuantError) -> [Float] {
        let n = op.columns
        if x.count % n != 0 { throw .invalidShape(field: "x", reason: "\(x.count) values are not whole rows of \(n)") }
        if let residual, residual.count != x.count { throw .invalidShape(field: "residual", reason: "\(residual.count) values for \(x.count)") }
        if gamma.count != n { throw .channelCountMismatch(field: "gamma", expected: n, actual: gamma.count) }
        if beta.count != n { throw .channelCountMismatch(field: "beta", expected: n, actual: beta.count) }
        var y = [Float](repeating: 0, count: x.count)
        let rows = x.count / n
        guard rows > 0 else { return y }
        try QuantError.rethrowing {
            try x.withUnsafeBufferPointer { x in
                try gamma.withUnsafeBufferPointer { g in
                    try beta.withUnsafeBufferPointer { bt in
                        try y.withUnsafeMutableBufferPointer { y in
                            if let residual {
                                try residual.withUnsafeBufferPointer { r in
                                    try run(x: x.baseAddress!, residual: r.baseAddress!, gamma: g.baseAddress!, beta: bt.baseAddress!,
                                            y: y.baseAddress!, rows: rows)
                                }
                            } else {
                                try run(x: x.baseAddress!, residual: nil, gamma: g.baseAddress!, beta: bt.baseAddress!, y: y.baseAddress!, rows: rows)
                            }
                        }
                    }
                }
            }
        }
        return y
    }
}

extension Engine {
    public func compile(_ op: LayerNormalization) throws(QuantError) -> LayerNormKernel {
        LayerNormKernel(op: op, compiled: try compileKernel(.layerNorm(op)))
    }
}
