import CQuantForgeAPI
import QuantForge

/// `qf_matmul_desc` → `MatMul`, refusing bad enums and null arrays by field name.
public enum MatMulDescription {
    public static func matMul(_ d: qf_matmul_desc) throws(QuantError) -> MatMul {
        let n = Int(d.n)
        func bad(_ field: String, _ reason: String) -> QuantError { .invalidSpec(path: "desc.\(field)", reason: reason) }
        func type(_ value: qf_type, _ field: String) throws(QuantError) -> ElementType {
            switch value.rawValue {
            case 0: return .u8
            case 1: return .s8
            case 2: return .s32
            case 3: return .f32
            default: throw bad(field, "\(value.rawValue) is not a qf_type")
            }
        }
        guard d.b_channels == 1 || (d.b_channels == d.n && d.n > 0) else {
            throw .channelCountMismatch(field: "desc.b_channels", expected: n, actual: Int(d.b_channels))
        }
        guard d.n > 0, d.n <= Int64(MatMul.maxDimension) else {
            throw .invalidShape(field: "N", reason: "N = \(d.n) must be in 1...\(MatMul.maxDimension)")
        }
        let channels = Int(d.b_channels)
        if channels > 1 && d.b_scales == nil {
            throw bad("b_scales", "null, but b_channels = \(channels): give one scale per output channel")
        }
        if d.output.rawValue == 0 && (d.bias != nil || d.activation.rawValue != 0) {
            throw bad(d.bias != nil ? "bias" : "activation", "QF_OUTPUT_INT32 has no epilogue: bias and activation apply to requantized or dequantized outputs only")
        }
        let scales = d.b_scales.map { Array(UnsafeBufferPointer(start: $0, count: channels)) } ?? Array(repeating: 1, count: channels)
        let points = d.b_zero_points.map { Array(UnsafeBufferPointer(start: $0, count: channels)) } ?? Array(repeating: 0, count: channels)
        let bQuant: QuantParams = channels == 1 ? .perTensor(scale: scales[0], zeroPoint: points[0])
            : .perChannel(scales: scales, zeroPoints: points)
        let activation: Activation
        switch d.activation.rawValue {
        case 0: activation = .none
        case 1: activation = .relu
        case 2: activation = .clamp(min: d.clamp_min, max: d.clamp_max)
        default: throw bad("activation", "\(d.activation.rawValue) is not a qf_activation")
        }
        let output: MatMulOutput
        switch d.output.rawValue {
        case 0:
            output = .int32
        case 1:
            let bias = d.bias.map { Array(UnsafeBufferPointer(start: $0.assumingMemoryBound(to: Int32.self), count: n)) }
            output = .requantized(.init(type: try type(d.output_type, "output_type"),
                                        output: .perTensor(scale: d.y_scale, zeroPoint: d.y_zero_point), bias: bias,
                                        activation: activation))
        case 2:
            let bias = d.bias.map { Array(UnsafeBufferPointer(start: $0.assumingMemoryBound(to: Float.self), count: n)) }
            output = .dequantized(.init(bias: bias, activation: activation))
        default:
            throw bad("output", "\(d.output.rawValue) is not a qf_output_mode")
        }
        return try MatMul(m: d.m == 0 ? nil : Int(d.m), k: Int(d.k), n: n, aType: try type(d.a_type, "a_type"),
                          bType: try type(d.b_type, "b_type"), aQuant: .perTensor(scale: d.a_scale, zeroPoint: d.a_zero_point),
                          bQuant: bQuant, output: output)
    }
}
