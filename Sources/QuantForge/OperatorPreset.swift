/// The operators of `../shared/peers` by name, shared by `qforge bench`, `aot` and `autotune`:
/// `u8s8s32` and `s8s8s32` are MatMulInteger; `u8s8u8_requant` is QLinearMatMul with a_zp = 128,
/// per-column weight scales, b_zp = 0 and y_zp = 128; `u8s8u8_gelu` is the same with the fused
/// epilogue chain bias + GELU + requantize; `f32_dynquant` is the dynamic quantized linear
/// (f32 in and out, A quantized per call, per-column weight scales, f32 bias: ONNX Runtime's
/// DynamicQuantizeMatMul).
public enum OperatorPreset: String, Sendable, CaseIterable {
    case u8s8s32, u8s8u8_requant, s8s8s32, u8s8u8_gelu, f32_dynquant

    /// The preset's matmul for `k`×`n` weights; `m` nil makes M dynamic.
    public func matMul(m: Int?, k: Int, n: Int) throws(QuantError) -> MatMul {
        // Dimensions first: the per-column constants below are built from n (libFuzzer found a
        // spec with n < 0 trapping in the range before any check).
        _ = try MatMul(m: m, k: k, n: n)
        switch self {
        case .u8s8s32:
            return try MatMul(m: m, k: k, n: n, aType: .u8, bType: .s8)
        case .s8s8s32:
            return try MatMul(m: m, k: k, n: n, aType: .s8, bType: .s8)
        case .u8s8u8_requant:
            let scales = (0..<n).map { 0.001 + Float($0 % 7) * 0.0001 }
            return try MatMul(m: m, k: k, n: n, aType: .u8, bType: .s8,
                              aQuant: .perTensor(scale: 0.02, zeroPoint: 128),
                              bQuant: .perChannel(scales: scales, zeroPoints: [0]),
                              output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.5, zeroPoint: 128))))
        case .u8s8u8_gelu:
            let scales = (0..<n).map { 0.001 + Float($0 % 7) * 0.0001 }
            let bias = (0..<n).map { Float($0 % 11) * 0.01 - 0.05 }
            return try MatMul(m: m, k: k, n: n, aType: .u8, bType: .s8,
                              aQuant: .perTensor(scale: 0.02, zeroPoint: 128),
                              bQuant: .perChannel(scales: scales, zeroPoints: [0]),
                              output: .chain(EpilogueChain([.bias(bias), .activation(.gelu)],
                                                           output: .requantize(type: .u8, quant: .perTensor(scale: 0.5, zeroPoint: 128)))))
        case .f32_dynquant:
            let scales = (0..<n).map { 0.001 + Float($0 % 7) * 0.0001 }
            let bias = (0..<n).map { Float($0 % 11) * 0.01 - 0.05 }
            return try MatMul(m: m, k: k, n: n, aType: .f32, bType: .s8,
                              bQuant: .perChannel(scales: scales, zeroPoints: [0]),
                              output: .dequantized(.init(bias: bias)), aQuantMode: .perTensorAtRunTime)
        }
    }
}

/// QuantForge's generator version: part of every tuning record and AOT header.

