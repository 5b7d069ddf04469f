import QuantForge
import Testing

/// One kernel compiled with a dynamic M serves every M, bit-exact, and a sub-range of rows and
/// panels (how a thread pool splits the work) computes exactly its part.
struct DynamicMTests {
    @Test func oneKernelEveryM() throws {
        var random = TestRandom(seed: 42)
        for isa in isasUnderTest {
            let op = try randomMatMul(&random, m: nil, k: 77, n: 45, mode: .requantized, perChannel: true, aType: .s8, bType: .s8)
            let kernel = try Engine(isa: isa).compile(op)
            let b = random.bytes(77 * 45)
            let weights = try kernel.packWeights(b)
            for m in [1, 2, 3, 5, 8, 13, 31, 64, 100] {
                let a = random.bytes(m * 77)
                #expect(try kernel.run(a: a, weights: weights, m: m) == ReferenceMatMul.run(op, a: a, b: b, m: m), "\(isa) M=\(m)")
            }
        }
    }

    @Test func subRangesComputeTheirPart() throws {
        var random = TestRandom(seed: 7)
        let op = try MatMul(m: nil, k: 50, n: 100, aType: .u8, bType: .s8)
        for isa in isasUnderTest {
            let kernel = try Engine(isa: isa).compile(op)
            let b = random.bytes(50 * 100), a = random.bytes(20 * 50)
            let weights = try kernel.packWeights(b)
            let expected = ReferenceMatMul.run(op, a: a, b: b, m: 20)
            var c = [UInt8](repeating: 0, count: 20 * 100 * 4)
            let panels = kernel.layout.panels
            a.withUnsafeBytes { aBuffer in
                c.withUnsafeMutableBytes { cBuffer in
                    for rows in [0..<7, 7..<20] {
                        for panelRange in [0..<(panels / 2), (panels / 2)..<panels] {
                            kernel.compiled.runUnchecked(a: aBuffer.baseAddress!, lda: 50, weights: weights.bytes, c: cBuffer.baseAddress!,
                                                ldc: 100, rows: rows, panels: panelRange)
                        }
                    }
                }
            }
            #expect(c == expected, "\(isa)")
        }
    }
}
