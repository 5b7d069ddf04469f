import QuantCodegen

/// A compiled `LayerNormalization`: f32 rows in; f32 rows out (in place allowed) or, with a quantized
/// output, u8/s8 rows; γ and β per call.
/// Thread-safe.
public final class LayerNormKernel: Sendable {
    public let op: LayerNormalization
    public let compiled: CompiledElementwiseKernel

    init(op: LayerNormalization, compiled: CompiledElementwiseKernel) {
        self.op = op
        self.compiled = compiled
    }

    /// `rows` rows of `op.columns` floats from x (+ residual, exactly when the op has one) into y:
    /// f32 rows (which may be x) or, with a quantized output, rows of `columns` bytes; γ and β hold
    /// `columns` floats. The caller vouches for the sizes.
    public func run(x: UnsafePointer<Float>, residual: UnsafePointer<Float>?, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                    output y: UnsafeMutableRawPointer, rows: Int) throws(QuantError) {
        if op.hasResidual != (residual != nil) {
            throw .invalidArgument(field: "residual", reason: op.hasResidual ? "this LayerNorm adds a residual: pass it" : "this LayerNorm has no residual")
        }
        if rows < 0 || rows > MatMul.maxDimension { throw .invalidShape(field: "rows", reason: "\(rows) is out of range") }
        compiled.callUnchecked(x: UnsafeRawPointer(x), x2: residual.map { UnsafeRawPointer($0) }, y: y,
                               extra: UnsafeMutableRawPointer(mutating: gamma), extra2: UnsafeMutableRawPointer(mutating: beta),
                               begin: 0, end: rows)
    }

    /// The f32 form: y holds `rows` rows of floats (and may be x).
    public func run(x: UnsafePointer<Float>, residual: UnsafePointer<Float>?, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                    y: UnsafeMutablePointer<Float>, rows: Int) throws(QuantError) {
        guard case .f32 = op.output else { throw .invalidArgument(field: "y", reason: "this LayerNorm writes quantized bytes") }
        try run(x: x, residual: residual, gamma: gamma, beta: beta, output: UnsafeMutableRawPointer(y), rows: rows)
    }

    /// Runs on arrays (sizes checked); returns y (f32 output).
    public func run(_ x: [Float], residual: [Float]? = nil, gamma: [Float], beta: [Float]) throws(QuantError) -> [Float] {
        guard case .f32 = op.output else { throw .invalidArgument(field: "y", reason: "this LayerNorm writes quantized bytes: use runQuantized") }
        return try runChecked(x, residual: residual, gamma: gamma, beta: beta)
    }

    /// Runs on arrays (sizes checked); returns y's bytes (quantized output: u8 values or s8 bit patterns).
    public func runQuantized(_ x: [Float], residual: [Float]? = nil, gamma: [Float], beta: [Float]) throws(QuantError) -> [UInt8] {
        guard case .quantized = op.output else { throw .invalidArgument(field: "y", reason: "this LayerNorm writes f32: use run") }
        return try runChecked(x, residual: residual, gamma: gamma, beta: beta)
    }

    /// The array forms' one path: sizes checked, y (one `Element` per value) returned.
    private func runChecked<Element: Numeric>(_ x: [Float], residual: [Float]?, gamma: [Float], beta: [Float]) throws(QuantError) -> [Element] {
        var y = [Element](repeating: 0, count: x.count)
        try QuantError.rethrowing {
            try y.withUnsafeMutableBytes { try runChecked(x, residual: residual, gamma: gamma, beta: beta, into: $0) }
        }
        return y
    }

    private func runChecked(_ x: [Float], residual: [Float]?, gamma: [Float], beta: [Float],
                            into y: UnsafeMutableRawBufferPointer) throws(QuantError) {
        let n = op.columns
        if x.count % n != 0 { throw .invalidShape(field: "x", reason: "\(x.count) values are not whole rows of \(n)") }
        if let residual, residual.count != x.count { throw .invalidShape(field: "residual", reason: "\(residual.count) values for \(x.count)") }
        if gamma.count != n { throw .channelCountMismatch(field: "gamma", expected: n, actual: gamma.count) }
        if beta.count != n { throw .channelCountMismatch(field: "beta", expected: n, actual: beta.count) }
        let rows = x.count / n
        guard rows > 0, let output = y.baseAddress else { return }
        try QuantError.rethrowing {
            try x.withUnsafeBufferPointer { x in
                try gamma.withUnsafeBufferPointer { g in
                    try beta.withUnsafeBufferPointer { bt in
                        if let residual {
                            try residual.withUnsafeBufferPointer { r in
                                try run(x: x.baseAddress!, residual: r.baseAddress!, gamma: g.baseAddress!, beta: bt.baseAddress!,
                                        output: output, rows: rows)
                            }
                        } else {
                            try run(x: x.baseAddress!, residual: nil, gamma: g.baseAddress!, beta: bt.baseAddress!, output: output, rows: rows)
                        }
                    }
                }
            }
        }
    }
}

extension Engine {
    public func compile(_ op: LayerNormalization) throws(QuantError) -> LayerNormKernel {
        LayerNormKernel(op: op, compiled: try compileKernel(.layerNorm(op)))
    }
}
