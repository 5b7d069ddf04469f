import QuantForge
import Testing

/// Several threads split the output (by panels or by rows) and still produce the reference's bytes.
struct ThreadedMatMulTests {
    @Test func threadedRunsAreBitExact() throws {
        var random = TestRandom(seed: 3)
        for isa in isasUnderTest {
            let engine = try Engine(isa: isa, threads: 2)
            for (m, k, n) in [(128, 200, 300), (300, 64, 40), (1, 1000, 700), (9, 77, 129)] {
                let op = try randomMatMul(&random, m: nil, k: k, n: n, mode: .requantized, perChannel: true, aType: .u8, bType: .s8)
                let kernel = try engine.compile(op)
                let a = random.bytes(m * k), b = random.bytes(k * n)
                let weights = try kernel.packWeights(b)
                #expect(try kernel.run(a: a, weights: weights, m: m) == ReferenceMatMul.run(op, a: a, b: b, m: m), "\(isa) \(m)x\(k)x\(n)")
            }
        }
        #expect(throws: QuantError.self) { _ = try Engine(threads: 0) }
    }
}
