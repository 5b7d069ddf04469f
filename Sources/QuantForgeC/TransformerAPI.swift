import CQuantForgeAPI
import QuantForge

// qf_layernorm_*, qf_softmax_*, qf_attention_* and qf_f32_attention_compile: the transformer
// operators through the C API.

@_cdecl("qf_layernorm_compile")
public func qfLayerNormCompile(_ context: OpaquePointer?, _ desc: UnsafePointer<qf_layernorm_desc>?,
                               _ kernel: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    compileKernel(context, kernel) { engine throws(QuantError) in
        guard let d = desc?.pointee else { throw .invalidArgument(field: "desc", reason: "null pointer") }
        guard d.columns >= 1, d.columns <= Int64(MatMul.maxDimension) else {
            throw .invalidShape(field: "columns", reason: "\(d.columns) must be in 1...\(MatMul.maxDimension)")
        }
        guard d.has_residual == 0 || d.has_residual == 1 else { throw .invalidArgument(field: "has_residual", reason: "\(d.has_residual) must be 0 or 1") }
        guard d.quantized_output == 0 || d.quantized_output == 1 else {
            throw .invalidArgument(field: "quantized_output", reason: "\(d.quantized_output) must be 0 or 1")
        }
        let output: LayerNormalization.Output = d.quantized_output == 1
            ? .quantized(type: try CDescription.type(d.output_type, "output_type"), scale: d.y_scale, zeroPoint: d.y_zero_point) : .f32
        return .layerNorm(try engine.compile(try LayerNormalization(columns: Int(d.columns), epsilon: d.epsilon,
                                                                    hasResidual: d.has_residual == 1, output: output)))
    }
}

@_cdecl("qf_layernorm_run")
public func qfLayerNormRun(_ kernel: OpaquePointer?, _ x: UnsafePointer<Float>?, _ xBytes: Int, _ residual: UnsafePointer<Float>?,
                           _ residualBytes: Int, _ gamma: UnsafePointer<Float>?, _ gammaBytes: Int, _ beta: UnsafePointer<Float>?,
                           _ betaBytes: Int, _ y: UnsafeMutableRawPointer?, _ yBytes: Int) -> qf_status {
    guarded { () throws(QuantError) in
        let norm = try KernelHandle.get(kernel, "qf_layernorm_run") { if case let .layerNorm(k) = $0 { k } else { nil } }
        let n = norm.op.columns, valueBytes = norm.op.outputElementBytes
        let x = try floats(x, xBytes, "x")
        let y = try mutableBuffer(y, yBytes, "y").baseAddress!
        let g = try floats(gamma, gammaBytes, "gamma"), b = try floats(beta, betaBytes, "beta")
        guard xBytes % (4 * n) == 0 else { throw .invalidShape(field: "x", reason: "\(xBytes) bytes are not whole rows of \(n) floats") }
        let rows = xBytes / (4 * n)
        guard g.count == n else { throw .channelCountMismatch(field: "gamma", expected: n, actual: g.count) }
        guard b.count == n else { throw .channelCountMismatch(field: "beta", expected: n, actual: b.count) }
        guard yBytes >= valueBytes * rows * n else { throw .bufferTooSmall(field: "y", requiredBytes: valueBytes * rows * n, actualBytes: yBytes) }
        var r: UnsafeBufferPointer<Float>? = nil
        if let residual {
            let buffer = try floats(residual, residualBytes, "residual")
            guard buffer.count >= rows * n else { throw .bufferTooSmall(field: "residual", requiredBytes: 4 * rows * n, actualBytes: residualBytes) }
            r = buffer
        }
        guard rows > 0 else { return }
        try norm.run(x: x.baseAddress!, residual: r?.baseAddress, gamma: g.baseAddress!, beta: b.baseAddress!, output: y, rows: rows)
    }
}

@_cdecl("qf_softmax_compile")
public func qfSoftmaxCompile(_ context: OpaquePointer?, _ scale: Float, _ kernel: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    compileKernel(context, kernel) { engine throws(QuantError) in .softmax(try engine.compile(try Softmax(scale: scale))) }
}

@_cdecl("qf_softmax_run")
public func qfSoftmaxRun(_ kernel: OpaquePointer?, _ x: UnsafePointer<Float>?, _ xBytes: Int, _ columns: Int64, _ valid: Int64,
                         _ y: UnsafeMutablePointer<Float>?, _ yBytes: Int) -> qf_status {
    guarded { () throws(QuantError) in
        let softmax = try KernelHandle.get(kernel, "qf_softmax_run") { if case let .softmax(k) = $0 { k } else { nil } }
        let x = try floats(x, xBytes, "x"), y = try mutableFloats(y, yBytes, "y")
        guard columns >= 1, columns <= Int64(MatMul.maxDimension) else { throw .invalidShape(field: "columns", reason: "\(columns) is out of range") }
        guard valid >= 0, valid <= columns else { throw .invalidShape(field: "valid", reason: "\(valid) is not in 0...\(columns)") }
        let n = Int(columns)
        guard xBytes % (4 * n) == 0 else { throw .invalidShape(field: "x", reason: "\(xBytes) bytes are not whole rows of \(n) floats") }
        let rows = xBytes / (4 * n)
        guard y.count >= rows * n else { throw .bufferTooSmall(field: "y", requiredBytes: 4 * rows * n, actualBytes: yBytes) }
        guard rows > 0 else { return }
        try softmax.run(x: x.baseAddress!, y: y.baseAddress!, rows: rows, columns: n, valid: Int(valid))
    }
}

/// Either attention kernel from a `qf_attention_desc`: `make` builds the operator and compiles it.
private func compileAttention(_ context: OpaquePointer?, _ desc: UnsafePointer<qf_attention_desc>?,
                              _ kernel: UnsafeMutablePointer<OpaquePointer?>?,
                              _ make: (Engine, Int, Int, Float) throws(QuantError) -> KernelHandle.Compiled) -> qf_status {
    compileKernel(context, kernel) { engine throws(QuantError) in
        guard let d = desc?.pointee else { throw .invalidArgument(field: "desc", reason: "null pointer") }
        return try make(engine, Int(d.heads), Int(d.head_size), d.scale)
    }
}

@_cdecl("qf_attention_compile")
public func qfAttentionCompile(_ context: OpaquePointer?, _ desc: UnsafePointer<qf_attention_desc>?,
                               _ kernel: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    compileAttention(context, desc, kernel) { engine, heads, headSize, scale throws(QuantError) in
        .attention(try engine.compile(try QuantizedAttention(heads: heads, headSize: headSize, scale: scale)))
    }
}

@_cdecl("qf_f32_attention_compile")
public func qfF32AttentionCompile(_ context: OpaquePointer?, _ desc: UnsafePointer<qf_attention_desc>?,
                                  _ kernel: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    compileAttention(context, desc, kernel) { engine, heads, headSize, scale throws(QuantError) in
        .f32Attention(try engine.compile(try F32Attention(heads: heads, headSize: headSize, scale: scale)))
    }
}

@_cdecl("qf_attention_run")
public func qfAttentionRun(_ kernel: OpaquePointer?, _ qkv: UnsafePointer<Float>?, _ qkvBytes: Int, _ length: Int64, _ valid: Int64,
                           _ y: UnsafeMutablePointer<Float>?, _ yBytes: Int) -> qf_status {
    guarded { () throws(QuantError) in
        let attention = try KernelHandle.get(kernel, "qf_attention_run") { compiled -> (any AttentionKernel)? in
            switch compiled {
            case .attention(let k as any AttentionKernel), .f32Attention(let k as any AttentionKernel): k
            default: nil
            }
        }
        let qkv = try floats(qkv, qkvBytes, "qkv"), y = try mutableFloats(y, yBytes, "y")
        guard length >= 1, length <= Int64(QuantizedAttention.maxLength) else {
            throw .invalidShape(field: "length", reason: "\(length) tokens: must be in 1...\(QuantizedAttention.maxLength)")
        }
        let tokens = Int(length), inputColumns = attention.op.inputColumns, outputColumns = attention.op.outputColumns
        guard qkv.count >= tokens * inputColumns else {
            throw .bufferTooSmall(field: "qkv", requiredBytes: 4 * tokens * inputColumns, actualBytes: qkvBytes)
        }
        guard y.count >= tokens * outputColumns else {
            throw .bufferTooSmall(field: "y", requiredBytes: 4 * tokens * outputColumns, actualBytes: yBytes)
        }
        try attention.run(qkv: qkv.baseAddress!, length: tokens, valid: Int(clamping: valid), output: y.baseAddress!)
    }
}
