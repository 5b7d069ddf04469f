import QuantCodegen

/// A compiled `Softmax`: f32 rows in, f32 rows out (in place allowed); the row length and the valid
/// columns per call. Thread-safe.
public final class SoftmaxKernel: Sendable {
    public let op: Softmax
    public let compiled: CompiledElementwiseKernel

    init(op: Softmax, compiled: CompiledElementwiseKernel) {
        self.op = op
        self.compiled = compiled
    }

    /// `rows` rows of `columns` floats from x into y (which may be x); the first `valid` columns
    /// of each row are real (0 ≤ valid ≤ columns), the rest become 0. The caller vouches for sizes.
    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, columns: Int, valid: Int) throws(QuantError) {
        if rows < 0 || rows > MatMul.maxDimension { throw .invalidShape(field: "rows", reason: "\(rows) is out of range") }
        if columns < 1 || columns > MatMul.maxDimension { throw .invalidShape(field: "columns", reason: "\(columns) is out of range") }
        if valid < 0 || valid > columns { throw .invalidShape(field: "valid", reason: "\(valid) is not in 0...\(columns)") }
        compiled.callUnchecked(x: UnsafeRawPointer(x), y: UnsafeMutableRawPointer(y), extra: UnsafeMutableRawPointer(bitPattern: columns),
                               extra2: UnsafeMutableRawPointer(bitPattern: valid), begin: 0, end: rows)
    }

    /// Runs on arrays (sizes checked); returns y.
    public func run(_ x: [Float], columns: Int, valid: Int? = nil) throws(QuantError) -> [Float] {
        if columns < 1 || x.count % columns != 0 { throw .invalidShape(field: "x", reason: "\(x.count) values are not whole rows of \(columns)") }
        var y = [Float](repeating: 0, count: x.count)
        guard !x.isEmpty else { return y }
        try QuantError.rethrowing {
            try x.withUnsafeBufferPointer { x in
                try y.withUnsafeMutableBufferPointer { y in
                    try run(x: x.baseAddress!, y: y.baseAddress!, rows: x.count / columns, columns: columns, valid: valid ?? columns)
                }
            }
        }
        return y
    }
}

extension Engine {
    public func compile(_ op: Softmax) throws(QuantError) -> SoftmaxKernel {
        SoftmaxKernel(op: op, compiled: try compileKernel(.softmax(op)))
    }
}
