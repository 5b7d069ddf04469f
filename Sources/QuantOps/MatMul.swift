/// What a quantized matmul writes.
public enum MatMulOutput: Sendable, Hashable, Codable {
    /// `Y = (A - a_zp) · (B - b_zp)` in int32 (ONNX MatMulInteger).
    case int32
    /// Requantized to u8/s8 (ONNX QLinearMatMul), with an optional int32 bias added to the
    /// accumulator and an activation clamped in the quantized domain.
    case requantized(Requantization)
    /// Dequantized to f32: `acc * (a_scale * b_scale[n]) + bias[n]`, then the activation.
    case dequantized(Dequantization)
    /// A chain of real-domain steps fused into the store: `acc * (a_scale * b_scale[n])`, then
    /// each step in order (bias, per-channel scale, activation, residual add), then requantize or
    /// dequantize.
    case chain(EpilogueChain)

    /// The element type of the output tensor.
    public var elementType: ElementType {
        switch self {
        case .int32: .s32
        case let .requantized(r): r.type
        case .dequantized: .f32
        case let .chain(chain): chain.output.elementType
        }
    }
}

/// Where A's quantization parameters come from.
public enum AQuantMode: String, Sendable, Hashable, Codable {
    /// Fixed when the kernel is built (`MatMul.aQuant`).
    case constant
    /// One scale and zero point per call (dynamic quantization), passed to the kernel at run time.
    case perTensorAtRunTime
    /// One scale and zero point per row of A (per-token dynamic quantization), at run time.
    case perRowAtRunTime

    public var isRunTime: Bool { self != .constant }
}

/// Parameters of the requantizing epilogue.
public struct Requantization: Sendable, Hashable, Codable {
    /// u8 or s8.
    public var type: ElementType
    /// The output's per-tensor scale and zero point.
    public var output: QuantParams
    /// Optional int32 bias per output column, added to the accumulator (QLinearConv's `B`).
    public var bias: [Int32]?
    public var activation: Activation

    public init(type: ElementType, output: QuantParams, bias: [Int32]? = nil, activation: Activation = .none) {
        self.type = type
        self.output = output
        self.bias = bias
        self.activation = activation
    }
}

/// Parameters of the dequantizing epilogue.
public struct Dequantization: Sendable, Hashable, Codable {
    /// Optional f32 bias per output column.
    public var bias: [Float]?
    public var activation: Activation

    public init(bias: [Float]? = nil, activation: Activation = .none) {
        self.bias = bias
        self.activation = activation
    }
}

/// A quantized matrix multiplication `C[M,N] = A[M,K] · B[K,N]` with constant weights B.
///
/// N and K are fixed (they describe the weights); M is fixed or, when `m` is nil, given per call.
/// Every inconsistency is rejected by the initializer with a `QuantError` naming the field.
public struct MatMul: Sendable, Hashable, Codable {
    /// Rows of A and C, or nil when M varies per call.
    public let m: Int?
    public let k: Int
    public let n: Int
    /// Element type of A (activations): u8 or s8; or f32 for a dynamic quantized linear (A's
    /// parameters at run time), which the kernel quantizes to u8 while it packs A.
    public let aType: ElementType
    /// Element type of B (weights): u8 or s8.
    public let bType: ElementType
    /// A's quantization: per-tensor.
    public let aQuant: QuantParams
    /// B's quantization: per-tensor or per output column (N entries).
    public let bQuant: QuantParams
    public let output: MatMulOutput
    /// Where A's scale and zero point come from (constant, or per call / per row at run time).
    public let aQuantMode: AQuantMode

    /// The largest dimension accepted (keeps every byte offset well inside Int64 and int32 sums
    /// meaningful).
    public static let maxDimension = 1 << 24

    public init(m: Int?, k: Int, n: Int, aType: ElementType = .u8, bType: ElementType = .s8,
                aQuant: QuantParams = .perTensor(scale: 1), bQuant: QuantParams = .perTensor(scale: 1),
                output: MatMulOutput = .int32, aQuantMode: AQuantMode = .constant) throws(QuantError) {
        self.m = m
        self.k = k
        self.n = n
        self.aType = aType
        self.bType = bType
        self.aQuant = aQuant
        self.bQuant = bQuant
        self.output = output
        self.aQuantMode = aQuantMode
        try validate()
    }

    private func validate() throws(QuantError) {
        if let m { try Self.checkDimension("M", m) }
        try Self.checkDimension("K", k)
        try Self.checkDimension("N", n)
        if k * n > 1 << 34 { throw .invalidShape(field: "B", reason: "K·N = \(k * n) exceeds 2^34 elements") }
        if !bType.isQuantized8Bit { throw .unsupportedElementType(field: "B", type: bType, allowed: [.u8, .s8]) }
        if !aType.isQuantized8Bit && !(aType == .f32 && aQuantMode.isRunTime) {
            throw .unsupportedElementType(field: "A", type: aType, allowed: aQuantMode.isRunTime ? [.u8, .f32] : [.u8, .s8])
        }
        try aQuant.validate(field: "aQuant", type: aType, channels: 1, perTensorOnly: true)
        try bQuant.validate(field: "bQuant", type: bType, channels: n)
        switch output {
        case .int32:
            break
        case let .requantized(r):
            if !r.type.isQuantized8Bit {
                throw .unsupportedElementType(field: "output.type", type: r.type, allowed: [.u8, .s8])
            }
            try r.output.validate(field: "output.quant", type: r.type, channels: 1, perTensorOnly: true)
            if let bias = r.bias, bias.count != n {
                throw .channelCountMismatch(field: "output.bias", expected: n, actual: bias.count)
            }
            try r.activation.validatePiecewiseLinear(field: "output.activation")
        case let .dequantized(d):
            if let bias = d.bias {
                if bias.count != n { throw .channelCountMismatch(field: "output.bias", expected: n, actual: bias.count) }
                if let bad = bias.firstIndex(where: { !$0.isFinite }) {
                    throw .invalidEpilogue(field: "output.bias[\(bad)]", reason: "bias must be finite, got \(bias[bad])")
                }
            }
            try d.activation.validatePiecewiseLinear(field: "output.activation")
        case let .chain(chain):
            try chain.validate(channels: n)
        }
        if aQuantMode.isRunTime {
            if aType == .s8 {
                throw .unsupportedElementType(field: "A (quantized at run time)", type: aType, allowed: [.u8, .f32])
            }
            if aQuant != .perTensor(scale: 1, zeroPoint: 0) {
                throw .invalidEpilogue(field: "aQuant", reason: "must be .perTensor(scale: 1) when A's parameters are given at run time")
            }
            if case .requantized = output {
                throw .invalidEpilogue(field: "output", reason: "requantized output needs a constant a_scale; use .chain with .requantize for run-time A parameters")
            }
        }
    }

    /// The type of A's bytes as the integer kernel sees them: u8 for an f32 A (quantized in the kernel).
    public var quantizedAType: ElementType { aType == .f32 ? .u8 : aType }

    /// The same operator with M fixed to `m` (or dynamic, nil).
    public func with(m: Int?) throws(QuantError) -> MatMul {
        try MatMul(m: m, k: k, n: n, aType: aType, bType: bType, aQuant: aQuant, bQuant: bQuant, output: output,
                   aQuantMode: aQuantMode)
    }

    static func checkDimension(_ name: String, _ value: Int) throws(QuantError) {
        if value < 1 || value > maxDimension {
            throw .invalidShape(field: name, reason: "\(name) = \(value) must be in 1...\(maxDimension)")
        }
    }

    /// M for a call: the fixed M, or the caller's (which must be given when M is dynamic).
    public func resolveM(_ callM: Int?) throws(QuantError) -> Int {
        switch (m, callM) {
        case let (fixed?, nil): return fixed
        case let (fixed?, given?):
            if fixed != given { throw .invalidShape(field: "M", reason: "kernel was built for M = \(fixed), called with M = \(given)") }
            return fixed
        case let (nil, given?):
            try Self.checkDimension("M", given)
            return given
        case (nil, nil):
            throw .invalidShape(field: "M", reason: "M is dynamic for this kernel and must be given per call")
        }
    }

    // MARK: Derived epilogue constants (shared by the reference and the code generators)

    /// The float32 multiplier per column: `a_scale * b_scale[n] / y_scale` when requantizing,
    /// `a_scale * b_scale[n]` when dequantizing (computed once, as ONNX Runtime does).
    public func outputMultiplier(column: Int) -> Float {
        let ab = aQuant.scales[0] * bQuant.scale(column)
        if case let .requantized(r) = output { return ab / r.output.scales[0] }
        return ab
    }

    /// The quantized bounds a requantized output is clamped to: the type's range narrowed by the
    /// activation (quantized with the output's parameters).
    public var requantizedBounds: ClosedRange<Int32>? {
        guard case let .requantized(r) = output, let range = r.type.integerRange else { return nil }
        let scale = r.output.scales[0], zeroPoint = r.output.zeroPoints[0]
        let (lower, upper) = r.activation.realBounds
        let qLower = lower == -.infinity ? range.lowerBound
            : QuantArithmetic.quantize(lower, scale: scale, zeroPoint: zeroPoint, range: range)
        let qUpper = upper == .infinity ? range.upperBound
            : QuantArithmetic.quantize(upper, scale: scale, zeroPoint: zeroPoint, range: range)
        return qLower...max(qLower, qUpper)
    }
}

extension MatMul {
    /// Decoding validates, as the initializer does: a spec file cannot produce an invalid op.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(m: try c.decodeIfPresent(Int.self, forKey: .m), k: try c.decode(Int.self, forKey: .k), n: try c.decode(Int.self, forKey: .n),
                      aType: try c.decode(ElementType.self, forKey: .aType), bType: try c.decode(ElementType.self, forKey: .bType),
                      aQuant: try c.decode(QuantParams.self, forKey: .aQuant), bQuant: try c.decode(QuantParams.self, forKey: .bQuant),
                      output: try c.decode(MatMulOutput.self, forKey: .output),
                      aQuantMode: try c.decodeIfPresent(AQuantMode.self, forKey: .aQuantMode) ?? .constant)
    }
}
