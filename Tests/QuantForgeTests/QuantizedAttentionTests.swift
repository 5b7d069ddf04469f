import Foundation
import QuantForge
import Testing

/// Int8 attention (`QuantizedAttention`: Q·Kᵀ and P·V as int8 dot products, softmax between) as
/// generated kernels: bit-exact against `ReferenceOperators.quantizedAttention` on every ISA here —
/// head sizes with and without whole vectors, sequence lengths below and past a vector of keys,
/// masked keys, 1 and 2 threads, a token of zeros, a NaN, huge values — and the reference close to
/// f32 attention.
struct QuantizedAttentionTests {
    static let isas = isasUnderTest

    @Test(arguments: isas)
    func randomSequencesAreBitExact(_ isa: ISA) throws {
        var random = TestRandom(seed: 4100 &+ UInt64(isa.rawValue.count))
        let cases: [(heads: Int, d: Int, length: Int)] = [(1, 4, 1), (2, 8, 3), (3, 12, 17), (12, 32, 23), (2, 64, 40), (4, 32, 16), (1, 20, 9)]
        for (trial, shape) in cases.enumerated() {
            let op = try QuantizedAttention(heads: shape.heads, headSize: shape.d, scale: 1 / Float(shape.d).squareRoot())
            var qkv = (0..<(shape.length * op.inputColumns)).map { _ in random.float(-2...2) }
            if trial == 3 {
                for c in 0..<op.inputColumns { qkv[2 * op.inputColumns + c] = 0 }  // a token of zeros
                qkv[5 * op.inputColumns + 7] = .nan                                  // one NaN in a Q block
                qkv[6 * op.inputColumns + op.outputColumns + 3] = 3e38               // a huge K value
            }
            let valid = [shape.length, max(1, shape.length / 2), 1][trial % 3]
            let expected = ReferenceOperators.quantizedAttention(op, qkv: qkv, length: shape.length, valid: valid)
            for threads in [1, 2] {
                let kernel = try Engine(isa: isa, threads: threads).compile(op)
                let y = try kernel.run(qkv, length: shape.length, valid: valid)
                #expect(y.map(\.bitPattern) == expected.map(\.bitPattern),
                        "\(isa) \(threads) threads: \(shape.heads) heads × \(shape.d), \(shape.length) tokens, \(valid) valid")
            }
        }
    }

    /// The int8 products stay close to f32 attention: per output row, cosine ≥ 0.999 on random
    /// Q, K, V of order 1 (MiniLM's shape: 12 heads × 32, 30 tokens, 24 valid).
    @Test func referenceIsCloseToFloatAttention() throws {
        var random = TestRandom(seed: 4200)
        let op = try QuantizedAttention(heads: 12, headSize: 32, scale: 1 / Float(32).squareRoot())
        let length = 30, valid = 24, d = 32
        let qkv = (0..<(length * op.inputColumns)).map { _ in random.float(-1.5...1.5) }
        let y = ReferenceOperators.quantizedAttention(op, qkv: qkv, length: length, valid: valid)
        expectCloseToExactAttention(y, qkv: qkv, heads: 12, headSize: d, length: length, valid: valid, minimum: 0.999)
    }

    @Test func badInputIsRefused() throws {
        #expect(throws: QuantError.self) { try QuantizedAttention(heads: 0, headSize: 32, scale: 1) }
        #expect(throws: QuantError.self) { try QuantizedAttention(heads: 2, headSize: 30, scale: 1) }
        #expect(throws: QuantError.self) { try QuantizedAttention(heads: 2, headSize: 32, scale: .nan) }
        let kernel = try Engine(threads: 1).compile(try QuantizedAttention(heads: 2, headSize: 8, scale: 0.5))
        let qkv = [Float](repeating: 0.5, count: 4 * 48)
        #expect(throws: QuantError.self) { try kernel.run(qkv, length: 5) }                  // not 5 rows
        #expect(throws: QuantError.self) { try kernel.run(qkv, length: 4, valid: 0) }
        #expect(throws: QuantError.self) { try kernel.run(qkv, length: 4, valid: 5) }
        #expect(try kernel.run(qkv, length: 4, valid: 2).count == 4 * 16)
        // 256 heads × 4096 tokens would need 16 GiB of scores: refused before anything is allocated.
        let wide = try Engine(threads: 1).compile(try QuantizedAttention(heads: 256, headSize: 4, scale: 1))
        let one: [Float] = [0]
        #expect(throws: QuantError.self) {
            try one.withUnsafeBufferPointer { q throws(QuantError) in
                var y: Float = 0
                try wide.run(qkv: q.baseAddress!, length: 4096, valid: 4096, output: &y)
            }
        }
    }
}
