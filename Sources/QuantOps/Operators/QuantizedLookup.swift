/// A unary function on a quantized u8/s8 tensor through a 256-entry table built from the
/// quantization parameters: `table[x] = quantize_y(f(dequantize_x(x)))`. ReLU and clamp are
/// exact this way; sigmoid, tanh and GELU use `RealFunctions`.
public struct QuantizedLookup: Sendable, Hashable, Codable {
    public let function: Activation
    public let inputType: ElementType
    public let inputQuant: QuantParams
    public let outputType: ElementType
    public let outputQuant: QuantParams
    public let count: Int

    public init(_ function: Activation, count: Int, inputType: ElementType, inputQuant: QuantParams,
                outputType: ElementType, outputQuant: QuantParams) throws(QuantError) {
        try function.validate(field: "function")
        if count < 1 || count > 1 << 28 { throw .invalidShape(field: "X", reason: "\(count) elements must be in 1...2^28") }
        for (field, type) in [("X", inputType), ("Y", outputType)] where !type.isQuantized8Bit {
            throw .unsupportedElementType(field: field, type: type, allowed: [.u8, .s8])
        }
        try inputQuant.validate(field: "x", type: inputType, channels: 1, perTensorOnly: true)
        try outputQuant.validate(field: "y", type: outputType, channels: 1, perTensorOnly: true)
        self.function = function
        self.count = count
        self.inputType = inputType
        self.inputQuant = inputQuant
        self.outputType = outputType
        self.outputQuant = outputQuant
    }

    /// The output byte for each input byte (indexed by the input's bit pattern).
    public var table: [UInt8] {
        (0..<256).map { byte in
            let x = inputType == .s8 ? Int32(Int8(bitPattern: UInt8(byte))) : Int32(byte)
            let real = Float(x - inputQuant.zeroPoints[0]) * inputQuant.scales[0]
            let y = QuantArithmetic.quantize(function.apply(real), scale: outputQuant.scales[0],
                                             zeroPoint: outputQuant.zeroPoints[0], range: outputType.integerRange!)
            return UInt8(truncatingIfNeeded: y)
        }
    }
}

extension QuantizedLookup {
    /// Decoding validates, as the initializer does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(try c.decode(Activation.self, forKey: .function), count: try c.decode(Int.self, forKey: .count),
                      inputType: try c.decode(ElementType.self, forKey: .inputType), inputQuant: try c.decode(QuantParams.self, forKey: .inputQuant),
                      outputType: try c.decode(ElementType.self, forKey: .outputType), outputQuant: try c.decode(QuantParams.self, forKey: .outputQuant))
    }
}
