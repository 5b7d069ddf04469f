import CQuantForgeAPI
import QuantForge

/// `qf_matmul_desc` → `MatMul`, refusing bad enums and null arrays by field name.
public enum MatMulDescription {
    public static func matMul(_ d: qf_matmul_desc) throws(QuantError) -> MatMul {
        guard d.n > 0, d.n <= Int64(MatMul.maxDimension) else {
            throw .invalidShape(field: "N", reason: "N = \(d.n) must be in 1...\(MatMul.maxDimension)")
        }
        let n = Int(d.n)
        let bQuant = try CDescription.weightQuant(channels: d.b_channels, outputs: d.n, scales: d.b_scales, zeroPoints: d.b_zero_points, "b")
        let output = try CDescription.output(.init(mode: d.output, type: d.output_type, yScale: d.y_scale, yZeroPoint: d.y_zero_point,
                                                   bias: d.bias, activation: d.activation, clampMin: d.clamp_min, clampMax: d.clamp_max,
                                                   steps: d.steps, stepCount: d.step_count), channels: n)
        let mode: AQuantMode
        switch d.a_quantization.rawValue {
        case 0: mode = .constant
        case 1: mode = .perTensorAtRunTime
        case 2: mode = .perRowAtRunTime
        default: throw CDescription.bad("a_quantization", "\(d.a_quantization.rawValue) is not a qf_a_quantization")
        }
        return try MatMul(m: d.m == 0 ? nil : Int(d.m), k: Int(d.k), n: n, aType: try CDescription.type(d.a_type, "a_type"),
                          bType: try CDescription.type(d.b_type, "b_type"),
                          aQuant: mode == .constant ? .perTensor(scale: d.a_scale, zeroPoint: d.a_zero_point) : .perTensor(scale: 1),
                          bQuant: bQuant, output: output, aQuantMode: mode)
    }
}
