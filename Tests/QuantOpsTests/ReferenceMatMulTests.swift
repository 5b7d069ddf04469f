import QuantOps
import Testing

/// The reference interpreter against values worked out by hand (ONNX semantics).
struct ReferenceMatMulTests {
    @Test func int32WithZeroPoints() throws {
        // (A - 2)·(B - (-1)) with A u8 2×3, B s8 3×2.
        let op = try MatMul(m: 2, k: 3, n: 2, aType: .u8, bType: .s8,
                            aQuant: .perTensor(scale: 1, zeroPoint: 2), bQuant: .perTensor(scale: 1, zeroPoint: -1))
        let a: [UInt8] = [3, 4, 5, 2, 2, 2]
        let b: [UInt8] = [1, 0xFF, 2, 0, 0xFE, 3].map { $0 }  // 1, -1 / 2, 0 / -2, 3
        let out = ReferenceMatMul.run(op, a: a, b: b, m: 2).withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        // Row 0: a-2 = [1,2,3]; b+1 = [[2,0],[3,1],[-1,4]] → [2+6-3, 0+2+12] = [5, 14]. Row 1: zeros.
        #expect(out == [5, 14, 0, 0])
    }

    @Test func requantizeRoundsHalfToEvenAndSaturates() throws {
        // acc = a (K = 1, B = 1); y = RNE(acc · 0.5) + 10.
        let op = try MatMul(m: 6, k: 1, n: 1, aType: .u8, bType: .u8, aQuant: .perTensor(scale: 0.5),
                            bQuant: .perTensor(scale: 1),
                            output: .requantized(.init(type: .u8, output: .perTensor(scale: 1, zeroPoint: 10))))
        let out = ReferenceMatMul.run(op, a: [1, 3, 5, 7, 255, 0], b: [1], m: 6)
        // 0.5→0, 1.5→2, 2.5→2, 3.5→4, 127.5→128, 0 → +10; 255·0.5 = 127.5 → 128 + 10 = 138.
        #expect(out == [10, 12, 12, 14, 138, 10])
        let saturating = try MatMul(m: 2, k: 1, n: 1, aType: .u8, bType: .u8, aQuant: .perTensor(scale: 4),
                                    bQuant: .perTensor(scale: 1),
                                    output: .requantized(.init(type: .s8, output: .perTensor(scale: 1, zeroPoint: 0))))
        #expect(ReferenceMatMul.run(saturating, a: [200, 0], b: [1], m: 2) == [127, 0])
    }

    @Test func activationsClampInTheQuantizedDomain() throws {
        func op(_ activation: Activation) throws -> MatMul {
            try MatMul(m: 3, k: 1, n: 1, aType: .s8, bType: .s8, aQuant: .perTensor(scale: 1),
                       bQuant: .perTensor(scale: 1),
                       output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.5, zeroPoint: 100), activation: activation)))
        }
        let a: [UInt8] = [UInt8(bitPattern: -20), 3, 60]  // y = 2·acc + 100 → 60, 106, 220
        #expect(ReferenceMatMul.run(try op(.none), a: a, b: [1], m: 3) == [60, 106, 220])
        #expect(ReferenceMatMul.run(try op(.relu), a: a, b: [1], m: 3) == [100, 106, 220])
        #expect(ReferenceMatMul.run(try op(.clamp(min: -1, max: 10)), a: a, b: [1], m: 3) == [98, 106, 120])
    }

    @Test func dequantizeWithBias() throws {
        let op = try MatMul(m: 1, k: 2, n: 2, aType: .u8, bType: .s8, aQuant: .perTensor(scale: 0.5),
                            bQuant: .perChannel(scales: [0.25, 2], zeroPoints: [0]),
                            output: .dequantized(.init(bias: [1, -100])))
        let out = ReferenceMatMul.run(op, a: [2, 4], b: [1, 1, 1, 0xFF], m: 1).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        // acc = [6, -2]; y = [6·0.125 + 1, -2·1 - 100].
        #expect(out == [1.75, -102])
    }

    @Test func quantizeHelper() {
        #expect(QuantArithmetic.quantize(2.5, scale: 1, zeroPoint: 0, range: 0...255) == 2)
        #expect(QuantArithmetic.quantize(-3.5, scale: 1, zeroPoint: 0, range: -128...127) == -4)
        #expect(QuantArithmetic.quantize(1e30, scale: 1, zeroPoint: 3, range: 0...255) == 255)
        #expect(QuantArithmetic.quantize(.nan, scale: 1, zeroPoint: 3, range: 0...255) == 3)
    }
}
