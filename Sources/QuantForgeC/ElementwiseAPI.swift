import CQuantForgeAPI
import QuantForge

// The elementwise operators through the C API (quantforge.h): QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, QLinearAdd / QLinearMul and lookup activations.

/// The C descriptors of the elementwise operators → their Swift operators.
public enum ElementwiseDescription {
    /// A shape from `rank` entries of a C fixed-size array.
    static func shape<T>(_ tuple: T, rank: Int32, _ field: String) throws(QuantError) -> [Int] {
        guard rank >= 0, rank <= QF_MAX_RANK else { throw CDescription.bad(field, "rank \(rank) must be in 0...\(QF_MAX_RANK)") }
        let all = withUnsafeBytes(of: tuple) { Array($0.bindMemory(to: Int64.self)) }
        let dimensions = all.prefix(Int(rank))
        if let bad = dimensions.first(where: { $0 < 1 || $0 > Int64(MatMul.maxDimension) * 16 }) {
            throw .invalidShape(field: "desc.\(field)", reason: "dimension \(bad) must be in 1...2^28")
        }
        return dimensions.map { Int($0) }
    }

    public static func quantization(_ d: qf_quantize_desc) throws(QuantError) -> AxisQuantization {
        let shape = try shape(d.shape, rank: d.rank, "shape")
        let type = try CDescription.type(d.type, "type")
        let scales = try CDescription.array(d.scales, count: d.parameter_count, "scales")
        let points = d.zero_points == nil ? nil : try CDescription.array(d.zero_points, count: d.parameter_count, "zero_points")
        switch d.granularity.rawValue {
        case 0: return try AxisQuantization(shape: shape, scales: scales, zeroPoints: points, type: type)
        case 1: return try AxisQuantization(shape: shape, axis: Int(d.axis), scales: scales, zeroPoints: points, type: type)
        case 2:
            guard d.block_size > 0, d.block_size <= Int64(MatMul.maxDimension) else {
                throw CDescription.bad("block_size", "\(d.block_size) must be positive for QF_BLOCKED")
            }
            return try AxisQuantization(shape: shape, axis: Int(d.axis), blockSize: Int(d.block_size), scales: scales,
                                        zeroPoints: points, type: type)
        default: throw CDescription.bad("granularity", "\(d.granularity.rawValue) is not a qf_granularity")
        }
    }

    public static func binary(_ d: qf_binary_desc) throws(QuantError) -> QLinearBinary {
        let kind: QLinearBinary.Kind
        switch d.kind.rawValue {
        case 0: kind = .add
        case 1: kind = .mul
        default: throw CDescription.bad("kind", "\(d.kind.rawValue) is not a qf_binary_kind")
        }
        return try QLinearBinary(kind, type: try CDescription.type(d.type, "type"), aShape: try shape(d.a_shape, rank: d.a_rank, "a_shape"),
                                 bShape: try shape(d.b_shape, rank: d.b_rank, "b_shape"),
                                 aQuant: .perTensor(scale: d.a_scale, zeroPoint: d.a_zero_point),
                                 bQuant: .perTensor(scale: d.b_scale, zeroPoint: d.b_zero_point),
                                 yQuant: .perTensor(scale: d.y_scale, zeroPoint: d.y_zero_point))
    }

    public static func lookup(_ d: qf_lookup_desc) throws(QuantError) -> QuantizedLookup {
        guard d.count >= 1, d.count <= 1 << 28 else { throw .invalidShape(field: "desc.count", reason: "\(d.count) must be in 1...2^28") }
        return try QuantizedLookup(try CDescription.activation(d.function, clampMin: d.clamp_min, clampMax: d.clamp_max, "function"),
                                   count: Int(d.count), inputType: try CDescription.type(d.x_type, "x_type"),
                                   inputQuant: .perTensor(scale: d.x_scale, zeroPoint: d.x_zero_point),
                                   outputType: try CDescription.type(d.y_type, "y_type"),
                                   outputQuant: .perTensor(scale: d.y_scale, zeroPoint: d.y_zero_point))
    }
}

/// A caller's f32 buffer (4-byte aligned, whole floats).
func floats(_ pointer: UnsafePointer<Float>?, _ bytes: Int, _ field: String) throws(QuantError) -> UnsafeBufferPointer<Float> {
    let raw = try buffer(UnsafeRawPointer(pointer), bytes, field)
    return UnsafeBufferPointer(start: pointer, count: raw.count / 4)
}

func mutableFloats(_ pointer: UnsafeMutablePointer<Float>?, _ bytes: Int, _ field: String) throws(QuantError) -> UnsafeMutableBufferPointer<Float> {
    let raw = try mutableBuffer(UnsafeMutableRawPointer(pointer), bytes, field)
    return UnsafeMutableBufferPointer(start: pointer, count: raw.count / 4)
}

@_cdecl("qf_quantize_compile")
public func qfQuantizeCompile(_ context: OpaquePointer?, _ desc: UnsafePointer<qf_quantize_desc>?,
                              _ kernel: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    compileKernel(context, kernel) { engine throws(QuantError) in
        guard let desc else { throw .invalidArgument(field: "desc", reason: "null pointer") }
        return .quantize(try engine.compile(QuantizeLinear(try ElementwiseDescription.quantization(desc.pointee))))
    }
}

@_cdecl("qf_dequantize_compile")
public func qfDequantizeCompile(_ context: OpaquePointer?, _ desc: UnsafePointer<qf_quantize_desc>?,
                                _ kernel: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    compileKernel(context, kernel) { engine throws(QuantError) in
        guard let desc else { throw .invalidArgument(field: "desc", reason: "null pointer") }
        return .dequantize(try engine.compile(DequantizeLinear(try ElementwiseDescription.quantization(desc.pointee))))
    }
}

@_cdecl("qf_quantize_run")
public func qfQuantizeRun(_ kernel: OpaquePointer?, _ x: UnsafePointer<Float>?, _ xBytes: Int,
                          _ y: UnsafeMutableRawPointer?, _ yBytes: Int) -> qf_status {
    guarded { () throws(QuantError) in
        let x = try floats(x, xBytes, "x"), y = try mutableBuffer(y, yBytes, "y")
        try KernelHandle.get(kernel, "qf_quantize_run") { if case let .quantize(k) = $0 { k } else { nil } }.run(x: x, y: y)
    }
}

@_cdecl("qf_dequantize_run")
public func qfDequantizeRun(_ kernel: OpaquePointer?, _ x: UnsafeRawPointer?, _ xBytes: Int,
                            _ y: UnsafeMutablePointer<Float>?, _ yBytes: Int) -> qf_status {
    guarded { () throws(QuantError) in
        let x = try buffer(x, xBytes, "x"), y = try mutableFloats(y, yBytes, "y")
        try KernelHandle.get(kernel, "qf_dequantize_run") { if case let .dequantize(k) = $0 { k } else { nil } }.run(x: x, y: y)
    }
}

@_cdecl("qf_dynamic_quantize_compile")
public func qfDynamicQuantizeCompile(_ context: OpaquePointer?, _ rows: Int64, _ columns: Int64, _ perRow: Int32,
                                     _ kernel: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    compileKernel(context, kernel) { engine throws(QuantError) in
        guard rows >= 1, rows <= Int64(MatMul.maxDimension), columns >= 1, columns <= Int64(MatMul.maxDimension) else {
            throw .invalidShape(field: rows < 1 || rows > Int64(MatMul.maxDimension) ? "rows" : "columns",
                                reason: "rows = \(rows) and columns = \(columns) must be in 1...\(MatMul.maxDimension)")
        }
        guard perRow == 0 || perRow == 1 else { throw .invalidArgument(field: "per_row", reason: "\(perRow) must be 0 or 1") }
        return .dynamicQuantize(try engine.compile(try DynamicQuantizeLinear(rows: Int(rows), columns: Int(columns), perRow: perRow == 1)))
    }
}

@_cdecl("qf_dynamic_quantize_run")
public func qfDynamicQuantizeRun(_ kernel: OpaquePointer?, _ x: UnsafePointer<Float>?, _ xBytes: Int,
                                 _ y: UnsafeMutablePointer<UInt8>?, _ yBytes: Int, _ scales: UnsafeMutablePointer<Float>?,
                                 _ zeroPoints: UnsafeMutablePointer<Int32>?, _ parameterCount: Int64) -> qf_status {
    guarded { () throws(QuantError) in
        let x = try floats(x, xBytes, "x"), y = try mutableBuffer(UnsafeMutableRawPointer(y), yBytes, "y")
        let quantizer = try KernelHandle.get(kernel, "qf_dynamic_quantize_run") { if case let .dynamicQuantize(k) = $0 { k } else { nil } }
        guard parameterCount >= 0, parameterCount <= Int64(MatMul.maxDimension) else {
            throw .invalidArgument(field: "parameter_count", reason: "\(parameterCount) is out of range")
        }
        guard let scales, let zeroPoints else {
            throw .invalidArgument(field: scales == nil ? "scales" : "zero_points", reason: "null pointer")
        }
        try quantizer.run(x: x, y: y, scales: UnsafeMutableBufferPointer(start: scales, count: Int(parameterCount)),
                          zeroPoints: UnsafeMutableBufferPointer(start: zeroPoints, count: Int(parameterCount)))
    }
}

@_cdecl("qf_binary_compile")
public func qfBinaryCompile(_ context: OpaquePointer?, _ desc: UnsafePointer<qf_binary_desc>?,
                            _ kernel: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    compileKernel(context, kernel) { engine throws(QuantError) in
        guard let desc else { throw .invalidArgument(field: "desc", reason: "null pointer") }
        return .binary(try engine.compile(try ElementwiseDescription.binary(desc.pointee)))
    }
}

@_cdecl("qf_binary_run")
public func qfBinaryRun(_ kernel: OpaquePointer?, _ a: UnsafeRawPointer?, _ aBytes: Int, _ b: UnsafeRawPointer?, _ bBytes: Int,
                        _ y: UnsafeMutableRawPointer?, _ yBytes: Int) -> qf_status {
    guarded { () throws(QuantError) in
        let a = try buffer(a, aBytes, "a"), b = try buffer(b, bBytes, "b"), y = try mutableBuffer(y, yBytes, "y")
        try KernelHandle.get(kernel, "qf_binary_run") { if case let .binary(k) = $0 { k } else { nil } }.run(a: a, b: b, y: y)
    }
}

@_cdecl("qf_lookup_compile")
public func qfLookupCompile(_ context: OpaquePointer?, _ desc: UnsafePointer<qf_lookup_desc>?,
                            _ kernel: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    compileKernel(context, kernel) { engine throws(QuantError) in
        guard let desc else { throw .invalidArgument(field: "desc", reason: "null pointer") }
        return .lookup(try engine.compile(try ElementwiseDescription.lookup(desc.pointee)))
    }
}

@_cdecl("qf_lookup_run")
public func qfLookupRun(_ kernel: OpaquePointer?, _ x: UnsafeRawPointer?, _ xBytes: Int,
                        _ y: UnsafeMutableRawPointer?, _ yBytes: Int) -> qf_status {
    guarded { () throws(QuantError) in
        let x = try buffer(x, xBytes, "x"), y = try mutableBuffer(y, yBytes, "y")
        try KernelHandle.get(kernel, "qf_lookup_run") { if case let .lookup(k) = $0 { k } else { nil } }.run(x: x, y: y)
    }
}

@_cdecl("qf_kernel_output")
public func qfKernelOutput(_ kernel: OpaquePointer?, _ m: Int64, _ elements: UnsafeMutablePointer<Int64>?,
                           _ type: UnsafeMutablePointer<qf_type>?) -> qf_status {
    guarded { () throws(QuantError) in
        guard let elements, let type else { throw .invalidArgument(field: elements == nil ? "elements" : "type", reason: "null output pointer") }
        let compiled = try HandleRegistry.lookup(kernel, .kernel, as: KernelHandle.self).compiled
        let (count, element): (Int, ElementType)
        switch compiled {
        case let .matmul(kernel): (count, element) = (try kernel.op.resolveM(m == 0 ? nil : Int(clamping: m)) * kernel.op.n, kernel.op.output.elementType)
        case let .dynamicLinear(kernel): (count, element) = (try kernel.op.resolveM(m == 0 ? nil : Int(clamping: m)) * kernel.op.n, kernel.op.output.elementType)
        case let .convolution(kernel): (count, element) = (kernel.op.outputElements, kernel.op.output.elementType)
        case let .quantize(kernel): (count, element) = (kernel.op.quantization.count, kernel.op.quantization.type)
        case let .dequantize(kernel): (count, element) = (kernel.op.quantization.count, .f32)
        case let .dynamicQuantize(kernel): (count, element) = (kernel.op.rows * kernel.op.columns, .u8)
        case let .binary(kernel): (count, element) = (kernel.op.count, kernel.op.type)
        case let .lookup(kernel): (count, element) = (kernel.op.count, kernel.op.outputType)
        case let .nbits(kernel):
            guard m >= 1, m <= Int64(MatMul.maxDimension) else { throw .invalidArgument(field: "m", reason: "a MatMulNBits kernel's output needs m in 1...\(MatMul.maxDimension)") }
            (count, element) = (Int(m) * kernel.op.outputs, .f32)
        case let .layerNorm(kernel):
            guard m >= 1, m <= Int64(MatMul.maxDimension) else { throw .invalidArgument(field: "m", reason: "a LayerNorm kernel's output needs m in 1...\(MatMul.maxDimension)") }
            let type: ElementType = if case let .quantized(type, _, _) = kernel.op.output { type } else { .f32 }
            (count, element) = (Int(m) * kernel.op.columns, type)
        case .softmax:
            throw .invalidArgument(field: "kernel", reason: "a softmax's output has its input's shape (rows × columns given per call)")
        case .attention(let kernel as any AttentionKernel), .f32Attention(let kernel as any AttentionKernel):
            guard m >= 1, m <= Int64(QuantizedAttention.maxLength) else {
                throw .invalidArgument(field: "m", reason: "an attention kernel's output needs m (tokens) in 1...\(QuantizedAttention.maxLength)")
            }
            (count, element) = (Int(m) * kernel.op.outputColumns, .f32)
        }
        elements.pointee = Int64(count)
        type.pointee = switch element {
        case .u8: QF_TYPE_U8
        case .s8: QF_TYPE_S8
        case .s32: QF_TYPE_S32
        case .f32: QF_TYPE_F32
        case .u16: QF_TYPE_U16
        case .s16: QF_TYPE_S16
        }
    }
}

@_cdecl("qf_kernel_describe")
public func qfKernelDescribe(_ kernel: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let handle = try? HandleRegistry.lookup(kernel, .kernel, as: KernelHandle.self) else { return nil }
    return UnsafePointer(handle.summary)
}
