import QuantCodegen

/// The operator of one kernel of an AOT library.
public enum AOTOperator: Sendable {
    case matmul(MatMul)
    /// f32 A quantized per call (per tensor or per row), `MatMul.aQuantMode` at run time.
    case dynamicLinear(MatMul)
    case convolution(Conv2D)
    case quantize(QuantizeLinear)
    case dequantize(DequantizeLinear)
    case dynamicQuantize(DynamicQuantizeLinear)
    case binary(QLinearBinary)
    case lookup(QuantizedLookup)
    /// MatMulNBits: f32 A, 4/8-bit blockwise weights (packed by the library's generated packer).
    case nbitsLinear(NBitsLinear)
    /// LayerNormalization over rows of `columns` (rows per call), f32 or quantized output.
    case layerNorm(LayerNormalization)
    /// Softmax over rows (rows, row length and valid columns per call).
    case softmax(Softmax)
    /// Int8 attention over sequences of `length` tokens (valid keys per call).
    case attention(QuantizedAttention, length: Int)
    /// Fused f32 attention over sequences of `length` tokens (valid keys per call).
    case f32Attention(F32Attention, length: Int)

    /// The spec's name of the operator.
    public var kind: String {
        switch self {
        case .matmul: "matmul"
        case .dynamicLinear: "dynamic_linear"
        case .convolution: "conv"
        case .quantize: "quantize"
        case .dequantize: "dequantize"
        case .dynamicQuantize: "dynamic_quantize"
        case let .binary(op): op.kind == .add ? "qlinear_add" : "qlinear_mul"
        case .lookup: "lookup"
        case .nbitsLinear: "nbits"
        case .layerNorm: "layer_norm"
        case .softmax: "softmax"
        case .attention, .f32Attention: "attention"
        }
    }

    /// The raw kernels the operator's C function calls, for `isa`: (part name, kernel). The parts
    /// and their order do not depend on the ISA.
    func parts(isa: ISA, caches: CacheSizes) throws(QuantError) -> [(part: String, kernel: OperatorKernel)] {
        switch self {
        case .matmul:
            throw .invalidSpec(path: "op", reason: "matmuls are built by the matmul library path")
        case let .dynamicLinear(op):
            let parameters = try DynamicQuantizeLinear(rows: 1, columns: op.k, perRow: op.aQuantMode == .perRowAtRunTime)
            return [("params", .dynamicQuantize(parameters, parametersOnly: true)),
                    ("matmul", .matmul(op, try DefaultSchedule.forMatMul(op, isa: isa, caches: caches), convolution: nil))]
        case let .convolution(conv):
            var parts: [(part: String, kernel: OperatorKernel)] = []
            if conv.layout == .nchw {
                parts.append(("to_nhwc", .transpose(batch: conv.batch, rows: conv.inChannels, columns: conv.height * conv.width,
                                                    elementBytes: conv.xType.byteSize)))
                parts.append(("to_nchw", .transpose(batch: conv.batch, rows: conv.outputHeight * conv.outputWidth, columns: conv.outChannels,
                                                    elementBytes: conv.output.elementType.byteSize)))
            }
            if conv.isDepthwise {
                parts.append(("dw", .depthwise(conv)))
                parts.append(("dw_pack", .depthwisePack(conv)))
                return parts
            }
            let schedule = try DefaultSchedule.forConvolution(conv, isa: isa, caches: caches)
            let geometry = conv.isPointwise ? nil : ConvolutionGeometry(conv)
            for (index, gemm) in try Self.distinctGroups(conv).unique.enumerated() {
                parts.append(("g\(index)", .matmul(gemm, schedule, convolution: geometry)))
            }
            return parts
        case let .quantize(op): return [("kernel", .quantize(op))]
        case let .dequantize(op): return [("kernel", .dequantize(op))]
        case let .dynamicQuantize(op): return [("kernel", .dynamicQuantize(op, parametersOnly: false))]
        case let .binary(op): return [("kernel", .binary(op))]
        case let .lookup(op): return [("kernel", .lookup(op))]
        case let .layerNorm(op): return [("kernel", .layerNorm(op))]
        case let .softmax(op): return [("kernel", .softmax(op))]
        case let .attention(op, _):
            return [("scores", .attentionScores(op)), ("softmax", .softmax(op.softmax)), ("context", .attentionContext(op))]
        case let .f32Attention(op, _): return [("kernel", .f32Attention(op))]
        case let .nbitsLinear(op):
            return [("pack", .nbitsPack(op))] + (op.compute == .int8 ? [("quantize_a", .nbitsQuantizeA(op))] : [])
                + [("linear", .nbitsLinear(op))]
        }
    }

    /// A convolution's group GEMMs without repeats, and which one each group runs.
    static func distinctGroups(_ conv: Conv2D) throws(QuantError) -> (unique: [MatMul], groupPart: [Int]) {
        var unique: [MatMul] = [], groupPart: [Int] = []
        for g in 0..<conv.groups {
            let gemm = try conv.groupMatMul(g)
            if let index = unique.firstIndex(of: gemm) {
                groupPart.append(index)
            } else {
                groupPart.append(unique.count)
                unique.append(gemm)
            }
        }
        return (unique, groupPart)
    }
}
