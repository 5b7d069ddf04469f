import QuantForge
import Testing

/// The ONNX node test cases of MatMulInteger and QLinearMatMul (kept as fixtures), through the
/// reference interpreter and through the kernels of every ISA here. 3-D cases are batches of 2-D
/// matmuls.
struct OnnxMatMulFixtureTests {
    static func type(_ dtype: String) -> ElementType { dtype == "int8" ? .s8 : .u8 }

    /// Splits an [.., M, K] × [.., K, N] case into its 2-D matmuls.
    static func batches(_ a: OnnxFixture.Tensor, _ b: OnnxFixture.Tensor, _ y: OnnxFixture.Tensor)
        -> (m: Int, k: Int, n: Int, [(a: [UInt8], b: [UInt8], y: [UInt8])]) {
        let m = a.shape[a.shape.count - 2], k = a.shape.last!, n = b.shape.last!
        let count = a.shape.dropLast(2).reduce(1, *)
        return (m, k, n, (0..<count).map { i in
            (Array(a.bytes[(i * m * k)..<((i + 1) * m * k)]), Array(b.bytes[(i * k * n)..<((i + 1) * k * n)]),
             Array(y.bytes[(i * m * n)..<((i + 1) * m * n)]))
        })
    }

    @Test func fixturesArePresent() throws {
        #expect(try OnnxFixture.load(prefix: "test_matmulinteger").count >= 1)
        #expect(try OnnxFixture.load(prefix: "test_qlinearmatmul").count >= 8)
    }

    @Test func matMulInteger() throws {
        for fixture in try OnnxFixture.load(prefix: "test_matmulinteger") {
            let a = fixture.inputs[0], b = fixture.inputs[1], y = fixture.outputs[0]
            let aZero = fixture.input("a_zero_point")?.ints[0] ?? 0
            let bZero = fixture.input("b_zero_point")?.ints ?? [0]
            let m = a.shape[0], k = a.shape[1], n = b.shape[1]
            let op = try MatMul(m: m, k: k, n: n, aType: Self.type(a.dtype), bType: Self.type(b.dtype),
                                aQuant: .perTensor(scale: 1, zeroPoint: aZero),
                                bQuant: bZero.count == 1 ? .perTensor(scale: 1, zeroPoint: bZero[0])
                                    : .perChannel(scales: Array(repeating: 1, count: n), zeroPoints: bZero))
            let expected = y.ints.withUnsafeBytes { Array($0) }
            #expect(ReferenceMatMul.run(op, a: a.bytes, b: b.bytes, m: m) == expected, "\(fixture.name) reference")
            for isa in isasUnderTest { try checkKernel(op, isa: isa, a: a.bytes, b: b.bytes, m: m, expected: expected) }
        }
    }

    @Test func qLinearMatMul() throws {
        for fixture in try OnnxFixture.load(prefix: "test_qlinearmatmul") {
            let a = fixture.input("a")!, b = fixture.input("b")!, y = fixture.outputs[0]
            let (m, k, n, parts) = Self.batches(a, b, y)
            let bScales = fixture.input("b_scale")!.floats, bZeros = fixture.input("b_zero_point")!.ints
            let op = try MatMul(
                m: m, k: k, n: n, aType: Self.type(a.dtype), bType: Self.type(b.dtype),
                aQuant: .perTensor(scale: fixture.input("a_scale")!.floats[0], zeroPoint: fixture.input("a_zero_point")!.ints[0]),
                bQuant: bScales.count == 1 ? .perTensor(scale: bScales[0], zeroPoint: bZeros[0])
                    : .perChannel(scales: bScales, zeroPoints: bZeros),
                output: .requantized(.init(type: Self.type(y.dtype),
                                           output: .perTensor(scale: fixture.input("y_scale")!.floats[0],
                                                              zeroPoint: fixture.input("y_zero_point")!.ints[0]))))
            for part in parts {
                #expect(ReferenceMatMul.run(op, a: part.a, b: part.b, m: m) == part.y, "\(fixture.name) reference")
                for isa in isasUnderTest { try checkKernel(op, isa: isa, a: part.a, b: part.b, m: m, expected: part.y) }
            }
        }
    }
}
