/// Elementwise QLinearAdd / QLinearMul (ONNX Runtime's com.microsoft ops) on u8 or s8 tensors with
/// numpy broadcasting. As MLAS computes them, in float32:
/// - add: `y = sat(RNE((a_s / y_s)·(a - a_zp) + (b_s / y_s)·(b - b_zp)) + y_zp)`
/// - mul: `y = sat(RNE(float((a - a_zp)·(b - b_zp))·(a_s·b_s / y_s)) + y_zp)`
/// (the scale ratios computed once).
public struct QLinearBinary: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable { case add, mul }

    public let kind: Kind
    public let type: ElementType
    public let aShape: [Int]
    public let bShape: [Int]
    public let aQuant: QuantParams
    public let bQuant: QuantParams
    public let yQuant: QuantParams
    /// The broadcast output shape.
    public let shape: [Int]

    public init(_ kind: Kind, type: ElementType, aShape: [Int], bShape: [Int], aQuant: QuantParams, bQuant: QuantParams,
                yQuant: QuantParams) throws(QuantError) {
        if !type.isQuantized8Bit { throw .unsupportedElementType(field: "type", type: type, allowed: [.u8, .s8]) }
        try aQuant.validate(field: "a", type: type, channels: 1, perTensorOnly: true)
        try bQuant.validate(field: "b", type: type, channels: 1, perTensorOnly: true)
        try yQuant.validate(field: "y", type: type, channels: 1, perTensorOnly: true)
        for (name, shape) in [("A", aShape), ("B", bShape)] where shape.contains(where: { $0 < 1 }) {
            throw .invalidShape(field: name, reason: "shape \(shape) has an empty dimension")
        }
        let rank = max(aShape.count, bShape.count)
        let a = Array(repeating: 1, count: rank - aShape.count) + aShape
        let b = Array(repeating: 1, count: rank - bShape.count) + bShape
        var shape: [Int] = []
        for (x, y) in zip(a, b) {
            if x != y && x != 1 && y != 1 {
                throw .invalidShape(field: "B", reason: "shapes \(aShape) and \(bShape) do not broadcast")
            }
            shape.append(max(x, y))
        }
        if (CheckedArithmetic.product(shape) ?? .max) > 1 << 28 { throw .invalidShape(field: "Y", reason: "\(shape) exceeds 2^28 elements") }
        self.kind = kind
        self.type = type
        self.aShape = aShape
        self.bShape = bShape
        self.aQuant = aQuant
        self.bQuant = bQuant
        self.yQuant = yQuant
        self.shape = shape
    }

    public var count: Int { shape.reduce(1, *) }

    /// Element strides of an input over the output shape (0 where it broadcasts).
    public func broadcastStrides(_ inputShape: [Int]) -> [Int] {
        let padded = Array(repeating: 1, count: shape.count - inputShape.count) + inputShape
        var strides = [Int](repeating: 0, count: shape.count)
        var step = 1
        for axis in (0..<shape.count).reversed() {
            strides[axis] = padded[axis] == 1 ? 0 : step
            step *= padded[axis]
        }
        return strides
    }

    /// The float32 constants of the formula: (a ratio, b ratio) for add, (product ratio, 0) for mul.
    public var ratios: (Float, Float) {
        let y = yQuant.scales[0]
        switch kind {
        case .add: return (aQuant.scales[0] / y, bQuant.scales[0] / y)
        case .mul: return (aQuant.scales[0] * bQuant.scales[0] / y, 0)
        }
    }

    /// One output value from the two inputs (the definition the kernels reproduce).
    @inline(__always)
    public func combine(_ a: Int32, _ b: Int32) -> Int32 {
        let (ra, rb) = ratios
        let value: Float = switch kind {
        case .add: ra * Float(a - aQuant.zeroPoints[0]) + rb * Float(b - bQuant.zeroPoints[0])
        case .mul: Float((a - aQuant.zeroPoints[0]) * (b - bQuant.zeroPoints[0])) * ra
        }
        return QuantArithmetic.saturatingRound(value, zeroPoint: yQuant.zeroPoints[0], range: type.integerRange!)
    }
}

extension QLinearBinary {
    /// Decoding validates, as the initializer does (the output shape is recomputed).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(try c.decode(Kind.self, forKey: .kind), type: try c.decode(ElementType.self, forKey: .type),
                      aShape: try c.decode([Int].self, forKey: .aShape), bShape: try c.decode([Int].self, forKey: .bShape),
                      aQuant: try c.decode(QuantParams.self, forKey: .aQuant), bQuant: try c.decode(QuantParams.self, forKey: .bQuant),
                      yQuant: try c.decode(QuantParams.self, forKey: .yQuant))
    }
}
