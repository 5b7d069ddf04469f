import QuantForge
import Testing

/// The ONNX node test cases of QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
/// ConvInteger and QLinearConv (kept as fixtures) through the reference interpreter and the
/// kernels of every ISA here.
struct OnnxOperatorFixtureTests {
    /// The (de)quantization of a fixture: scale and zero-point inputs, axis, block size.
    static func quantization(_ fixture: OnnxFixture, data: OnnxFixture.Tensor, scale: String, zeroPoint: String,
                             type: ElementType) throws -> AxisQuantization {
        let scales = fixture.input(scale)!.floats
        let zeros = fixture.input(zeroPoint)?.ints
        let blockSize = fixture.attribute("block_size")?.first ?? 0
        let axis: Int? = scales.count == 1 && blockSize == 0 ? nil : (fixture.attribute("axis")?.first ?? 1)
        return try AxisQuantization(shape: data.shape.isEmpty ? [1] : data.shape, axis: axis, blockSize: blockSize,
                                    scales: scales, zeroPoints: zeros, type: type)
    }

    @Test func quantizeLinear() throws {
        let fixtures = try OnnxFixture.load(prefix: "test_quantizelinear")
        #expect(fixtures.count >= 5)
        for fixture in fixtures {
            let x = fixture.input("x")!, y = fixture.outputs[0]
            let op = QuantizeLinear(try Self.quantization(fixture, data: x, scale: "y_scale", zeroPoint: "y_zero_point", type: y.elementType))
            #expect(ReferenceOperators.quantize(op, x.floats) == y.rawBytes, "\(fixture.name) reference")
            for isa in isasUnderTest {
                let kernel = try Engine(isa: isa).compile(op)
                #expect(try kernel.run(x.floats) == y.rawBytes, "\(fixture.name) \(isa)")
            }
        }
    }

    @Test func dequantizeLinear() throws {
        let fixtures = try OnnxFixture.load(prefix: "test_dequantizelinear")
        #expect(fixtures.count >= 5)
        for fixture in fixtures {
            let x = fixture.input("x")!, y = fixture.outputs[0]
            let op = DequantizeLinear(try Self.quantization(fixture, data: x, scale: "x_scale", zeroPoint: "x_zero_point", type: x.elementType))
            #expect(ReferenceOperators.dequantize(op, x.rawBytes) == y.floats, "\(fixture.name) reference")
            for isa in isasUnderTest {
                let kernel = try Engine(isa: isa).compile(op)
                #expect(try kernel.run(x.rawBytes) == y.floats, "\(fixture.name) \(isa)")
            }
        }
    }

    @Test func dynamicQuantizeLinear() throws {
        let fixtures = try OnnxFixture.load(prefix: "test_dynamicquantizelinear")
        #expect(fixtures.count >= 3)
        for fixture in fixtures {
            let x = fixture.input("x")!
            let op = try DynamicQuantizeLinear(rows: 1, columns: x.floats.count)
            let expected = (fixture.outputs[0].bytes, fixture.outputs[1].floats, fixture.outputs[2].ints)
            let reference = ReferenceOperators.dynamicQuantize(op, x.floats)
            #expect(reference.y == expected.0 && reference.scales == expected.1 && reference.zeroPoints == expected.2,
                    "\(fixture.name) reference")
            for isa in isasUnderTest {
                let result = try Engine(isa: isa).compile(op).run(x.floats)
                #expect(result.y == expected.0 && result.scales == expected.1 && result.zeroPoints == expected.2, "\(fixture.name) \(isa)")
            }
        }
    }

    /// ConvInteger and QLinearConv cases as `Conv2D` (NCHW, as ONNX defines them).
    static func conv(_ fixture: OnnxFixture, layout: Conv2D.Layout) throws -> (Conv2D, x: [UInt8], w: [UInt8], y: [UInt8]) {
        let x = fixture.input("x")!, w = fixture.input("w")!, y = fixture.outputs[0]
        let pads = fixture.attribute("pads") ?? [0, 0, 0, 0]
        let wZeros = (fixture.input("w_zero_point") ?? fixture.input("w_zero_points"))?.ints ?? [0]
        let wScales = fixture.input("w_scale")?.floats ?? Array(repeating: 1, count: wZeros.count)
        let oc = w.shape[0]
        let wQuant: QuantParams = wZeros.count == 1 && wScales.count == 1
            ? .perTensor(scale: wScales[0], zeroPoint: wZeros[0])
            : .perChannel(scales: wScales.count == 1 ? Array(repeating: wScales[0], count: oc) : wScales, zeroPoints: wZeros)
        let output: MatMulOutput = fixture.op_type == "QLinearConv"
            ? .requantized(.init(type: y.elementType, output: .perTensor(scale: fixture.input("y_scale")!.floats[0],
                                                                        zeroPoint: fixture.input("y_zero_point")!.ints[0])))
            : .int32
        let op = try Conv2D(batch: x.shape[0], inChannels: x.shape[1], height: x.shape[2], width: x.shape[3], outChannels: oc,
                            kernel: (w.shape[2], w.shape[3]), strides: fixture.attribute("strides") ?? [1, 1],
                            pads: [pads[0], pads[1], pads[2], pads[3]], dilations: fixture.attribute("dilations") ?? [1, 1],
                            groups: fixture.attribute("group")?.first ?? 1, layout: layout, xType: x.elementType, wType: w.elementType,
                            xQuant: .perTensor(scale: fixture.input("x_scale")?.floats[0] ?? 1,
                                               zeroPoint: fixture.input("x_zero_point")?.ints[0] ?? 0),
                            wQuant: wQuant, output: output)
        return (op, x.rawBytes, w.rawBytes, y.rawBytes)
    }

    @Test func convolutions() throws {
        let fixtures = try OnnxFixture.load(prefix: "test_convinteger") + OnnxFixture.load(prefix: "test_qlinearconv")
        #expect(fixtures.count >= 3)
        for fixture in fixtures {
            let (op, x, w, y) = try Self.conv(fixture, layout: .nchw)
            #expect(ReferenceOperators.conv(op, x: x, w: w) == y, "\(fixture.name) reference")
            for isa in isasUnderTest {
                let kernel = try Engine(isa: isa).compile(op)
                #expect(try kernel.run(x: x, weights: kernel.packWeights(w)) == y, "\(fixture.name) \(isa)")
            }
        }
    }
}
