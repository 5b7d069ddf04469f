import QuantForge
import Testing

/// Extreme inputs: constant 0 / 255 / -128 / 127 operands, zero points at the ends of their
/// ranges, scales that saturate every output, and K large enough to stress int32 sums.
struct MatMulExtremeValueTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let aType: ElementType, bType: ElementType
        let aByte: UInt8, bByte: UInt8
        let aZero: Int32, bZero: Int32
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "all zero u8×u8", aType: .u8, bType: .u8, aByte: 0, bByte: 0, aZero: 0, bZero: 0),
        Case(name: "all 255 u8×u8, zero points 0", aType: .u8, bType: .u8, aByte: 255, bByte: 255, aZero: 0, bZero: 0),
        Case(name: "all 255 u8 × 127 s8", aType: .u8, bType: .s8, aByte: 255, bByte: 127, aZero: 0, bZero: 0),
        Case(name: "all -128 s8 × -128 s8", aType: .s8, bType: .s8, aByte: 0x80, bByte: 0x80, aZero: 0, bZero: 0),
        Case(name: "-128 s8 × 127 s8, zero points at the far ends", aType: .s8, bType: .s8, aByte: 0x80, bByte: 127, aZero: 127, bZero: -128),
        Case(name: "0 u8 × 255 u8, zero points 255 and 0", aType: .u8, bType: .u8, aByte: 0, bByte: 255, aZero: 255, bZero: 0),
        Case(name: "255 u8 × -128 s8, zero points 0 and 127", aType: .u8, bType: .s8, aByte: 255, bByte: 0x80, aZero: 0, bZero: 127),
    ]

    @Test(arguments: cases)
    func constantOperandsEveryMode(_ c: Case) throws {
        for (m, k, n) in [(5, 4096, 37), (17, 1, 3), (1, 4099, 65), (33, 131, 129)] {
            let a = [UInt8](repeating: c.aByte, count: m * k)
            let b = [UInt8](repeating: c.bByte, count: k * n)
            let aQuant = QuantParams.perTensor(scale: 0.05, zeroPoint: c.aZero)
            let bQuant = QuantParams.perTensor(scale: 0.05, zeroPoint: c.bZero)
            let outputs: [MatMulOutput] = [
                .int32,
                // Tiny output scale: every non-zero accumulator saturates.
                .requantized(.init(type: .u8, output: .perTensor(scale: 1e-6, zeroPoint: 0))),
                .requantized(.init(type: .s8, output: .perTensor(scale: 1e-6, zeroPoint: 127))),
                .requantized(.init(type: .s8, output: .perTensor(scale: 1e-6, zeroPoint: -128), bias: Array(repeating: Int32.max / 4, count: n))),
                .requantized(.init(type: .u8, output: .perTensor(scale: 3.0e4, zeroPoint: 255), activation: .relu)),
                .dequantized(.init(bias: Array(repeating: -1, count: n), activation: .clamp(min: -3, max: 1e9))),
            ]
            for output in outputs {
                let op = try MatMul(m: nil, k: k, n: n, aType: c.aType, bType: c.bType, aQuant: aQuant, bQuant: bQuant, output: output)
                for isa in isasUnderTest { try checkKernel(op, isa: isa, a: a, b: b, m: m) }
            }
        }
    }

    @Test func saturationReallyHappens() throws {
        let op = try MatMul(m: 2, k: 8, n: 2, aType: .u8, bType: .s8, aQuant: .perTensor(scale: 1),
                            bQuant: .perTensor(scale: 1),
                            output: .requantized(.init(type: .s8, output: .perTensor(scale: 1e-3, zeroPoint: 0))))
        let a: [UInt8] = [255, 255, 255, 255, 255, 255, 255, 255, 1, 1, 1, 1, 1, 1, 1, 1]
        let b = [UInt8](repeating: 0x80, count: 16) + []  // -128 everywhere
        let out = ReferenceMatMul.run(op, a: a, b: b, m: 2).map { Int8(bitPattern: $0) }
        #expect(out == [-128, -128, -128, -128])
        for isa in isasUnderTest { try checkKernel(op, isa: isa, a: a, b: b, m: 2) }
    }
}
