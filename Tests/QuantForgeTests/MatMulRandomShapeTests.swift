import QuantForge
import Testing

/// Every output mode × per-tensor/per-channel × u8/s8 A × u8/s8 B, on random shapes with tails
/// (M, N, K in 1...300, one K up to 4096), random strides and random quantization parameters,
/// on every instruction set of this machine — bit-exact against the reference interpreter.
struct MatMulRandomShapeTests {
    struct Combination: CustomTestStringConvertible, Sendable {
        let mode: OutputKind
        let perChannel: Bool
        let aType: ElementType
        let bType: ElementType
        var testDescription: String { "\(mode.rawValue) \(perChannel ? "per-channel" : "per-tensor") A \(aType) B \(bType)" }
    }

    static let combinations: [Combination] = OutputKind.allCases.flatMap { mode in
        [false, true].flatMap { perChannel in
            [ElementType.u8, .s8].flatMap { aType in
                [ElementType.u8, .s8].map { Combination(mode: mode, perChannel: perChannel, aType: aType, bType: $0) }
            }
        }
    }

    @Test(arguments: combinations)
    func bitExactOnRandomShapes(_ combination: Combination) throws {
        var random = TestRandom(seed: UInt64(Self.combinations.firstIndex { $0.testDescription == combination.testDescription }!) * 7919)
        var shapes = (0..<3).map { _ in (m: random.int(1...300), k: random.int(1...300), n: random.int(1...300)) }
        shapes.append((m: random.int(1...40), k: random.int(1000...4096), n: random.int(1...70)))
        for (index, shape) in shapes.enumerated() {
            let dynamicM = index % 2 == 0
            let op = try randomMatMul(&random, m: dynamicM ? nil : shape.m, k: shape.k, n: shape.n, mode: combination.mode,
                                      perChannel: combination.perChannel, aType: combination.aType, bType: combination.bType,
                                      zeroBZeroPoint: index == 1)
            let lda = shape.k + (random.bool() ? random.int(1...9) : 0)
            let ldc = shape.n + (random.bool() ? random.int(1...9) : 0)
            let a = random.bytes((shape.m - 1) * lda + shape.k)
            let b = random.bytes(shape.k * shape.n)
            let expected = ReferenceMatMul.run(op, a: a, lda: lda, b: b, m: shape.m)
            for isa in isasUnderTest {
                try checkKernel(op, isa: isa, a: a, lda: lda, b: b, m: shape.m, ldc: ldc, expected: expected)
            }
        }
    }
}
