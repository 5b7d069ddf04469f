import QuantForge
import Testing

/// The f32 linear kernel (the MiniLM f32 baseline's matmuls): bit-exact against the reference's
/// operation order (from the bias, one fma per k) on every ISA here, shapes with tails in rows,
/// inputs and outputs (panels cut short), with and without bias, one and several threads.
struct F32LinearTests {
    static let isas = isasUnderTest

    @Test(arguments: isas)
    func randomShapesAreBitExact(_ isa: ISA) throws {
        var random = TestRandom(seed: 31 &+ UInt64(isa.rawValue.count))
        for threads in [1, 2] {
            let engine = try Engine(isa: isa, threads: threads)
            for trial in 0..<8 {
                let k = random.int(1...200), n = [1, 7, 16, 33, 64, 65, 130, random.int(1...300)][trial]
                let rows = random.int(1...23), bias = trial % 3 != 0
                let op = try F32Linear(inputs: k, outputs: n, hasBias: bias)
                let kernel = try engine.compile(op)
                let w = (0..<(k * n)).map { _ in random.float(-1...1) }
                let b = bias ? (0..<n).map { _ in random.float(-2...2) } : nil
                let x = (0..<(rows * k)).map { _ in random.float(-3...3) }
                let y = try kernel.run(x, weights: try kernel.packWeights(w, bias: b))
                let expected = ReferenceOperators.f32Linear(op, x: x, weights: w, bias: b, rows: rows)
                #expect(y.map(\.bitPattern) == expected.map(\.bitPattern), "\(isa) \(threads) threads: \(rows)×\(k)×\(n) bias \(bias)")
            }
        }
    }

    @Test func badInputIsRefused() throws {
        let kernel = try Engine().compile(try F32Linear(inputs: 8, outputs: 4, hasBias: true))
        #expect(throws: QuantError.self) { try kernel.packWeights([Float](repeating: 0, count: 31), bias: [0, 0, 0, 0]) }
        #expect(throws: QuantError.self) { try kernel.packWeights([Float](repeating: 0, count: 32), bias: nil) }
        #expect(throws: QuantError.self) { try kernel.packWeights([Float](repeating: 0, count: 32), bias: [0]) }
        let weights = try kernel.packWeights([Float](repeating: 1, count: 32), bias: [1, 2, 3, 4])
        #expect(throws: QuantError.self) { try kernel.run([Float](repeating: 1, count: 9), weights: weights) }
        #expect(try kernel.run([Float](repeating: 1, count: 8), weights: weights) == [9, 10, 11, 12])
        #expect(throws: QuantError.self) { try F32Linear(inputs: 0, outputs: 4, hasBias: false) }
    }
}
