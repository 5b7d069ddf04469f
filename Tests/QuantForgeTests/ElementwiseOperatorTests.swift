import QuantForge
import Testing

/// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, QLinearAdd/Mul and lookup activations:
/// the kernels of every ISA here, bit-exact against the reference on random shapes (tails of
/// every vector width), every axis, blocked parameters, broadcasting and extreme values.
struct ElementwiseOperatorTests {
    static let types: [ElementType] = [.u8, .s8, .u16, .s16]

    static func randomQuantization(_ random: inout TestRandom, shape: [Int], type: ElementType) throws -> AxisQuantization {
        let mode = random.int(0...2)
        let axis: Int? = mode == 0 ? nil : random.int(0...(shape.count - 1))
        let blockSize = mode == 2 ? random.int(1...3) : 0
        let count: Int
        if let axis {
            let channels = shape[axis]
            let blocks = blockSize > 0 ? (channels + blockSize - 1) / blockSize : channels
            count = blockSize > 0 ? shape[..<axis].reduce(1, *) * blocks * shape[(axis + 1)...].reduce(1, *) : blocks
        } else {
            count = 1
        }
        let range = type.integerRange!
        return try AxisQuantization(shape: shape, axis: axis, blockSize: blockSize,
                                    scales: (0..<count).map { _ in random.float(0.001...2) },
                                    zeroPoints: (0..<count).map { _ in Int32(random.int(Int(range.lowerBound)...Int(range.upperBound))) },
                                    type: type)
    }

    static func randomShape(_ random: inout TestRandom) -> [Int] {
        (0..<random.int(1...4)).map { _ in random.int(1...23) }
    }

    /// Values that hit rounding ties, saturation, NaN and infinities.
    static func randomFloats(_ random: inout TestRandom, _ count: Int) -> [Float] {
        (0..<count).map { _ in
            switch random.int(0...9) {
            case 0: Float(random.int(-300...300)) + 0.5
            case 1: [Float.nan, .infinity, -.infinity, 0, -0.0, 1e30, -1e30][random.int(0...6)]
            default: random.float(-400...400)
            }
        }
    }

    @Test(arguments: 0..<8)
    func quantizeAndDequantize(_ seed: Int) throws {
        var random = TestRandom(seed: 900 + UInt64(seed))
        for type in Self.types {
            let shape = Self.randomShape(&random)
            let quantization = try Self.randomQuantization(&random, shape: shape, type: type)
            let x = Self.randomFloats(&random, quantization.count)
            let quantize = QuantizeLinear(quantization), dequantize = DequantizeLinear(quantization)
            let expectedQ = ReferenceOperators.quantize(quantize, x)
            let expectedD = ReferenceOperators.dequantize(dequantize, expectedQ)
            for isa in isasUnderTest {
                let engine = try Engine(isa: isa)
                #expect(try engine.compile(quantize).run(x) == expectedQ, "\(isa) quantize \(shape) \(type) axis \(String(describing: quantization.axis)) block \(quantization.blockSize)")
                let dequantized = try engine.compile(dequantize).run(expectedQ)
                #expect(dequantized.map(\.bitPattern) == expectedD.map(\.bitPattern), "\(isa) dequantize \(shape) \(type)")
            }
        }
    }

    @Test(arguments: [false, true])
    func dynamicQuantization(_ perRow: Bool) throws {
        var random = TestRandom(seed: perRow ? 31 : 32)
        for (rows, columns) in [(1, 1), (1, 37), (3, 16), (7, 100), (2, 513)] {
            let op = try DynamicQuantizeLinear(rows: rows, columns: columns, perRow: perRow)
            var x = (0..<(rows * columns)).map { _ in random.float(-5...5) * (random.bool() ? 1 : 100) }
            if rows == 3 { x = x.map { abs($0) } }  // all positive: zero point 0
            let expected = ReferenceOperators.dynamicQuantize(op, x)
            for isa in isasUnderTest {
                let result = try Engine(isa: isa).compile(op).run(x)
                #expect(result.y == expected.y && result.scales == expected.scales && result.zeroPoints == expected.zeroPoints,
                        "\(isa) \(rows)x\(columns) perRow \(perRow)")
            }
        }
    }

    @Test(arguments: [QLinearBinary.Kind.add, .mul])
    func binaryWithBroadcasting(_ kind: QLinearBinary.Kind) throws {
        var random = TestRandom(seed: kind == .add ? 51 : 52)
        let shapes: [([Int], [Int])] = [([37], [37]), ([5, 19], [19]), ([5, 19], [5, 1]), ([1], [3, 4, 33]), ([2, 1, 17], [3, 1]),
                                        ([4, 6, 7], [4, 6, 7]), ([], [9])]
        for (aShape, bShape) in shapes {
            for type in [ElementType.u8, .s8] {
                let range = type.integerRange!
                func params() -> QuantParams {
                    .perTensor(scale: random.float(0.01...0.2), zeroPoint: Int32(random.int(Int(range.lowerBound)...Int(range.upperBound))))
                }
                let op = try QLinearBinary(kind, type: type, aShape: aShape, bShape: bShape, aQuant: params(), bQuant: params(), yQuant: params())
                let a = random.bytes(aShape.reduce(1, *)), b = random.bytes(bShape.reduce(1, *))
                let expected = ReferenceOperators.binary(op, a: a, b: b)
                for isa in isasUnderTest {
                    #expect(try Engine(isa: isa).compile(op).run(a: a, b: b) == expected, "\(isa) \(kind) \(aShape) \(bShape) \(type)")
                }
            }
        }
        #expect(throws: QuantError.self) {
            try QLinearBinary(kind, type: .u8, aShape: [3, 4], bShape: [5], aQuant: .perTensor(scale: 1), bQuant: .perTensor(scale: 1),
                              yQuant: .perTensor(scale: 1))
        }
    }

    @Test func lookupActivations() throws {
        var random = TestRandom(seed: 61)
        for function in [Activation.relu, .clamp(min: -1, max: 2), .sigmoid, .tanh, .gelu] {
            for (inputType, outputType) in [(ElementType.u8, ElementType.u8), (.s8, .s8), (.u8, .s8)] {
                let op = try QuantizedLookup(function, count: 1000, inputType: inputType, inputQuant: .perTensor(scale: 0.05, zeroPoint: inputType == .u8 ? 128 : 0),
                                             outputType: outputType, outputQuant: .perTensor(scale: 1.0 / 64, zeroPoint: outputType == .u8 ? 64 : -64))
                let x = random.bytes(op.count)
                let expected = ReferenceOperators.lookup(op, x)
                for isa in isasUnderTest {
                    #expect(try Engine(isa: isa).compile(op).run(x) == expected, "\(isa) \(function)")
                }
            }
        }
        // ReLU through the table is exact: every non-negative real maps to itself.
        let relu = try QuantizedLookup(.relu, count: 1, inputType: .u8, inputQuant: .perTensor(scale: 0.1, zeroPoint: 100),
                                       outputType: .u8, outputQuant: .perTensor(scale: 0.1, zeroPoint: 100))
        #expect(relu.table == (0..<256).map { UInt8(max($0, 100)) })
    }

    /// Fake quantization equals DequantizeLinear(QuantizeLinear(x)) bit for bit, and its mask is 1
    /// exactly where the value did not saturate.
    @Test(arguments: 0..<4)
    func fakeQuantizeMatchesQuantizeDequantize(_ seed: Int) throws {
        var random = TestRandom(seed: 950 + UInt64(seed))
        for type in Self.types {
            let shape = Self.randomShape(&random)
            let quantization = try Self.randomQuantization(&random, shape: shape, type: type)
            let x = Self.randomFloats(&random, quantization.count)
            let op = FakeQuantize(quantization)
            let (y, mask) = ReferenceOperators.fakeQuantize(op, x)
            let roundTrip = ReferenceOperators.dequantize(DequantizeLinear(quantization), ReferenceOperators.quantize(QuantizeLinear(quantization), x))
            #expect(y.map(\.bitPattern) == roundTrip.map(\.bitPattern))
            for isa in isasUnderTest {
                let result = try Engine(isa: isa).compile(op).run(x)
                #expect(result.y.map(\.bitPattern) == y.map(\.bitPattern) && result.mask == mask, "\(isa) \(shape) \(type)")
            }
        }
        // The mask by hand: u8, scale 1, zero point 10 keeps -10...245.
        let op = FakeQuantize(try AxisQuantization(shape: [7], scales: [1], zeroPoints: [10], type: .u8))
        let (y, mask) = ReferenceOperators.fakeQuantize(op, [-10.4, -10.6, 245.4, 245.6, .nan, 3.5, 4.5])
        #expect(mask == [1, 0, 1, 0, 0, 1, 1])
        #expect(y.prefix(4) == [-10, -10, 245, 245] && y[5] == 4 && y[6] == 4)
    }

    @Test func biasActivationIsBitExact() throws {
        var random = TestRandom(seed: 970)
        for activation in [Activation.none, .relu, .gelu, .sigmoid, .tanh, .clamp(min: -1, max: 0.5)] {
            for columns in [1, 7, 33, 384] {
                let op = try BiasActivation(columns: columns, bias: random.bool() ? (0..<columns).map { _ in random.float(-1...1) } : nil,
                                            activation: activation)
                let x = (0..<(3 * columns)).map { _ in random.float(-6...6) }
                let expected = x.enumerated().map { op.apply($1, column: $0 % columns) }
                for isa in isasUnderTest {
                    #expect(try Engine(isa: isa).compile(op).run(x).map(\.bitPattern) == expected.map(\.bitPattern), "\(isa) \(activation) \(columns)")
                }
            }
        }
    }

    @Test func badInputsAreRejected() throws {
        #expect(throws: QuantError.self) { try AxisQuantization(shape: [2, 3], axis: 2, scales: [1, 1, 1], type: .u8) }
        #expect(throws: QuantError.self) { try AxisQuantization(shape: [2, 3], axis: 1, scales: [1, 1], type: .u8) }
        #expect(throws: QuantError.self) { try AxisQuantization(shape: [2, 3], scales: [0], type: .u8) }
        #expect(throws: QuantError.self) { try AxisQuantization(shape: [2, 3], scales: [1], zeroPoints: [300], type: .u8) }
        #expect(throws: QuantError.self) { try AxisQuantization(shape: [2, 3], scales: [1], type: .f32) }
        let kernel = try Engine(isa: .portable).compile(QuantizeLinear(try AxisQuantization(shape: [8], scales: [1], type: .u8)))
        #expect(throws: QuantError.self) { try kernel.run([1, 2, 3]) }
        #expect(throws: QuantError.self) { try DynamicQuantizeLinear(rows: 0, columns: 3) }
    }
}
