import CQuantForgeAPI
import QuantForge

/// The C descriptors' shared pieces → Swift values: element types, activations, weight
/// quantization and the output fields that `qf_matmul_desc` and `qf_conv_desc` both carry. Every
/// refusal names the descriptor field.
enum CDescription {
    static func bad(_ field: String, _ reason: String) -> QuantError { .invalidSpec(path: "desc.\(field)", reason: reason) }

    static func type(_ value: qf_type, _ field: String) throws(QuantError) -> ElementType {
        switch value.rawValue {
        case 0: return .u8
        case 1: return .s8
        case 2: return .s32
        case 3: return .f32
        case 4: return .u16
        case 5: return .s16
        default: throw bad(field, "\(value.rawValue) is not a qf_type")
        }
    }

    static func activation(_ value: qf_activation, clampMin: Float, clampMax: Float, _ field: String) throws(QuantError) -> Activation {
        switch value.rawValue {
        case 0: return .none
        case 1: return .relu
        case 2: return .clamp(min: clampMin, max: clampMax)
        case 3: return .gelu
        case 4: return .sigmoid
        case 5: return .tanh
        default: throw bad(field, "\(value.rawValue) is not a qf_activation")
        }
    }

    /// `count` entries from a caller's pointer, refusing a null one or an absurd count.
    static func array<T>(_ pointer: UnsafePointer<T>?, count: Int64, _ field: String) throws(QuantError) -> [T] {
        guard count >= 0, count <= Int64(MatMul.maxDimension) else { throw bad(field, "count \(count) is out of range") }
        guard let pointer else { throw bad(field, "null, but \(count) entries are needed") }
        return Array(UnsafeBufferPointer(start: pointer, count: Int(count)))
    }

    /// Per-tensor (`channels` 1) or per output channel weight parameters.
    static func weightQuant(channels: Int64, outputs: Int64, scales: UnsafePointer<Float>?, zeroPoints: UnsafePointer<Int32>?,
                            _ prefix: String) throws(QuantError) -> QuantParams {
        guard channels == 1 || (channels == outputs && outputs > 0) else {
            throw .channelCountMismatch(field: "desc.\(prefix)_channels", expected: Int(clamping: outputs), actual: Int(clamping: channels))
        }
        if channels > 1 && scales == nil {
            throw bad("\(prefix)_scales", "null, but \(prefix)_channels = \(channels): give one scale per output channel")
        }
        let scaleValues = scales == nil ? [1] : try array(scales, count: channels, "\(prefix)_scales")
        let points = zeroPoints == nil ? Array(repeating: 0, count: Int(channels)) : try array(zeroPoints, count: channels, "\(prefix)_zero_points")
        return channels == 1 ? .perTensor(scale: scaleValues[0], zeroPoint: points[0]) : .perChannel(scales: scaleValues, zeroPoints: points)
    }

    /// The output fields of a matmul or convolution descriptor.
    struct OutputFields {
        var mode: qf_output_mode
        var type: qf_type
        var yScale: Float
        var yZeroPoint: Int32
        var bias: UnsafeRawPointer?
        var activation: qf_activation
        var clampMin: Float
        var clampMax: Float
        var steps: UnsafePointer<qf_epilogue_step>?
        var stepCount: Int64
    }

    /// `MatMulOutput` for `channels` output columns (N, or a convolution's output channels).
    static func output(_ f: OutputFields, channels: Int) throws(QuantError) -> MatMulOutput {
        if f.mode.rawValue != 3 && (f.steps != nil || f.stepCount != 0) {
            throw bad("steps", "epilogue steps are only read with QF_OUTPUT_CHAIN")
        }
        if f.mode.rawValue == 0 && (f.bias != nil || f.activation.rawValue != 0) {
            throw bad(f.bias != nil ? "bias" : "activation", "QF_OUTPUT_INT32 has no epilogue: bias and activation apply to requantized or dequantized outputs only")
        }
        switch f.mode.rawValue {
        case 0:
            return .int32
        case 1:
            let activation = try activation(f.activation, clampMin: f.clampMin, clampMax: f.clampMax, "activation")
            let bias = f.bias.map { Array(UnsafeBufferPointer(start: $0.assumingMemoryBound(to: Int32.self), count: channels)) }
            return .requantized(.init(type: try type(f.type, "output_type"), output: .perTensor(scale: f.yScale, zeroPoint: f.yZeroPoint),
                                      bias: bias, activation: activation))
        case 2:
            let activation = try activation(f.activation, clampMin: f.clampMin, clampMax: f.clampMax, "activation")
            let bias = f.bias.map { Array(UnsafeBufferPointer(start: $0.assumingMemoryBound(to: Float.self), count: channels)) }
            return .dequantized(.init(bias: bias, activation: activation))
        case 3:
            if f.bias != nil || f.activation.rawValue != 0 {
                throw bad(f.bias != nil ? "bias" : "activation", "QF_OUTPUT_CHAIN takes its bias and activations as steps")
            }
            if f.stepCount < 0 || f.stepCount > 64 { throw bad("step_count", "\(f.stepCount) must be in 0...64") }
            if f.stepCount > 0 && f.steps == nil { throw bad("steps", "null, but step_count = \(f.stepCount)") }
            var steps: [EpilogueChain.Step] = []
            for index in 0..<Int(f.stepCount) {
                steps.append(try step(f.steps![index], field: "steps[\(index)]"))
            }
            let end: EpilogueChain.Output
            switch try type(f.type, "output_type") {
            case .f32: end = .dequantize
            case let quantized: end = .requantize(type: quantized, quant: .perTensor(scale: f.yScale, zeroPoint: f.yZeroPoint))
            }
            return .chain(EpilogueChain(steps, output: end))
        default:
            throw bad("output", "\(f.mode.rawValue) is not a qf_output_mode")
        }
    }

    static func step(_ s: qf_epilogue_step, field: String) throws(QuantError) -> EpilogueChain.Step {
        switch s.kind.rawValue {
        case 0: return .bias(try array(s.values, count: s.count, "\(field).values"))
        case 1: return .scale(try array(s.values, count: s.count, "\(field).values"))
        case 2: return .activation(try activation(s.activation, clampMin: s.clamp_min, clampMax: s.clamp_max, "\(field).activation"))
        case 3:
            return .residualAdd(type: try type(s.residual_type, "\(field).residual_type"),
                                quant: .perTensor(scale: s.residual_scale, zeroPoint: s.residual_zero_point))
        default: throw bad("\(field).kind", "\(s.kind.rawValue) is not a qf_step_kind")
        }
    }
}
