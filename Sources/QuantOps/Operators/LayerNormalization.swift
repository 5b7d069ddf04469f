/// LayerNormalization over the last axis of f32 rows, with the residual add fused (BERT's
/// `LayerNorm(x + residual)`, ONNX Runtime's SkipLayerNormalization): per row of `columns` values
/// `v = x (+ r)`, `y = (v - mean) · rstd · γ + β` with `rstd = 1 / √(var + ε)`.
///
/// The sums are defined operation by operation, so every kernel is bit-exact with
/// `ReferenceOperators.layerNorm` whatever its vector width: `lanes` (16) partial sums, value i
/// into partial i mod 16 in order (a last, partial group as if padded with zeros); the partials
/// folded by halves (8, 4, 2, 1). `mean = Σv / n`, the same
/// for `Σ(v - mean)²` (one multiply, one add: no fused multiply-add), `var = Σ / n`; each output
/// `((v - mean) · rstd) · γ + β`, two multiplies and an add. γ and β are given per call.
///
/// The output is f32, or quantized (the QuantizeLinear that follows a LayerNorm in a static int8
/// graph, fused): `sat(RNE(y / scale) + zero_point)` of each f32 output as u8 or s8.
public struct LayerNormalization: Sendable, Hashable, Codable {
    /// What a LayerNorm writes.
    public enum Output: Sendable, Hashable, Codable {
        case f32
        /// u8 or s8 with QuantizeLinear's per-tensor scale (finite, > 0) and zero point.
        case quantized(type: ElementType, scale: Float, zeroPoint: Int32)
    }

    public let columns: Int
    public let epsilon: Float
    /// The rows are `x + residual` (the residual given per call).
    public let hasResidual: Bool
    public let output: Output

    /// Partial sums per row (a vector of 16 f32: one zmm, two ymm, four NEON registers).
    public static let lanes = 16

    public init(columns: Int, epsilon: Float = 1e-5, hasResidual: Bool = false, output: Output = .f32) throws(QuantError) {
        try MatMul.checkDimension("columns", columns)
        guard epsilon.isFinite, epsilon >= 0 else { throw .invalidArgument(field: "epsilon", reason: "\(epsilon) must be a finite number ≥ 0") }
        if case let .quantized(type, scale, zeroPoint) = output {
            guard type == .u8 || type == .s8 else { throw .unsupportedElementType(field: "output", type: type, allowed: [.u8, .s8]) }
            try QuantParams.perTensor(scale: scale, zeroPoint: zeroPoint).validate(field: "output", type: type, channels: 1, perTensorOnly: true)
        }
        self.columns = columns
        self.epsilon = epsilon
        self.hasResidual = hasResidual
        self.output = output
    }

    /// Bytes of one output value (4 for f32, 1 quantized).
    public var outputElementBytes: Int { if case .quantized = output { 1 } else { 4 } }
}

extension LayerNormalization {
    /// Decoding validates, as the initializer does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(columns: try c.decode(Int.self, forKey: .columns), epsilon: try c.decode(Float.self, forKey: .epsilon),
                      hasResidual: try c.decode(Bool.self, forKey: .hasResidual),
                      output: try c.decodeIfPresent(Output.self, forKey: .output) ?? .f32)
    }
}
