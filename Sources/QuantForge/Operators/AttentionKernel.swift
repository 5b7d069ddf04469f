/// What both compiled attention operators (`QuantizedAttentionKernel`, `F32AttentionKernel`)
/// share: one sequence per call through pointers, and the checked array form.
public protocol AttentionKernel: Sendable {
    associatedtype Operator: MultiHeadAttention
    var op: Operator { get }
    /// One sequence: `qkv` holds `length` rows of `op.inputColumns` floats (Q, K, V); keys at and
    /// past `valid` are masked; `output` receives `length` rows of `op.outputColumns`. The caller
    /// vouches for the buffers' sizes (the array form checks them).
    func run(qkv: UnsafePointer<Float>, length: Int, valid: Int, output: UnsafeMutablePointer<Float>) throws(QuantError)
}

extension AttentionKernel {
    /// Runs on arrays (sizes checked); returns the output rows.
    public func run(_ qkv: [Float], length: Int, valid: Int? = nil) throws(QuantError) -> [Float] {
        try op.check(length: length, valid: valid ?? length)
        guard qkv.count == length * op.inputColumns else {
            throw .invalidShape(field: "qkv", reason: "\(qkv.count) values for \(length) tokens of \(op.inputColumns)")
        }
        var output = [Float](repeating: 0, count: length * op.outputColumns)
        try QuantError.rethrowing {
            try qkv.withUnsafeBufferPointer { qkv in
                try output.withUnsafeMutableBufferPointer { output in
                    try run(qkv: qkv.baseAddress!, length: length, valid: valid ?? length, output: output.baseAddress!)
                }
            }
        }
        return output
    }
}
