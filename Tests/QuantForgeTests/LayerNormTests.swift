import QuantForge
import Testing

/// LayerNormalization (with the residual add fused) as a generated kernel: bit-exact against
/// `ReferenceOperators.layerNorm` on every ISA here — row lengths below, at and past the 16-lane
/// groups, with and without residual, in place, large and tiny values — and the reference close to
/// a float64 LayerNorm (ONNX's definition).
struct LayerNormTests {
    static let isas = isasUnderTest

    @Test(arguments: isas)
    func randomRowsAreBitExact(_ isa: ISA) throws {
        var random = TestRandom(seed: 19 &+ UInt64(isa.rawValue.count))
        let engine = try Engine(isa: isa, threads: 1)
        for (trial, columns) in [1, 7, 16, 17, 33, 384, 385, random.int(1...600)].enumerated() {
            let residual = trial % 2 == 1, rows = random.int(1...5)
            let op = try LayerNormalization(columns: columns, epsilon: trial % 3 == 0 ? 1e-12 : 1e-5, hasResidual: residual)
            let kernel = try engine.compile(op)
            let scale: Float = trial == 5 ? 1e15 : (trial == 6 ? 1e-15 : 3)
            let x = (0..<(rows * columns)).map { _ in random.float(-1...1) * scale + (trial == 4 ? 100 : 0) }
            let r = residual ? (0..<(rows * columns)).map { _ in random.float(-2...2) } : nil
            let gamma = (0..<columns).map { _ in random.float(0.5...1.5) }, beta = (0..<columns).map { _ in random.float(-0.5...0.5) }
            let y = try kernel.run(x, residual: r, gamma: gamma, beta: beta)
            let expected = ReferenceOperators.layerNorm(op, x: x, residual: r, gamma: gamma, beta: beta, rows: rows)
            #expect(y.map(\.bitPattern) == expected.map(\.bitPattern), "\(isa): \(rows)×\(columns) residual \(residual)")
            // In place: y = x.
            var inPlace = x
            try inPlace.withUnsafeMutableBufferPointer { buffer throws(QuantError) in
                try (r ?? []).withUnsafeBufferPointer { rb throws(QuantError) in
                    try gamma.withUnsafeBufferPointer { g throws(QuantError) in
                        try beta.withUnsafeBufferPointer { bt throws(QuantError) in
                            try kernel.run(x: buffer.baseAddress!, residual: r == nil ? nil : rb.baseAddress!, gamma: g.baseAddress!,
                                           beta: bt.baseAddress!, y: buffer.baseAddress!, rows: rows)
                        }
                    }
                }
            }
            #expect(inPlace.map(\.bitPattern) == expected.map(\.bitPattern), "\(isa) in place")
        }
    }

    /// The quantized output (QuantizeLinear fused): u8 and s8, zero points at and inside the range
    /// ends, a scale small enough that most values saturate, NaN inputs (a row of NaN: NaN out,
    /// quantized to the zero point), residual or not; bit-exact with the reference on every ISA.
    @Test(arguments: isas)
    func quantizedOutputIsBitExact(_ isa: ISA) throws {
        var random = TestRandom(seed: 71 &+ UInt64(isa.rawValue.count))
        let engine = try Engine(isa: isa, threads: 1)
        let outputs: [(ElementType, Float, Int32)] = [(.u8, 0.02, 128), (.s8, 0.015, 0), (.u8, 0.001, 0), (.s8, 0.05, -128), (.u8, 0.04, 255)]
        for (trial, columns) in [7, 16, 33, 384, 385].enumerated() {
            let (type, scale, zeroPoint) = outputs[trial]
            let residual = trial % 2 == 0, rows = random.int(2...4)
            let op = try LayerNormalization(columns: columns, hasResidual: residual, output: .quantized(type: type, scale: scale, zeroPoint: zeroPoint))
            let kernel = try engine.compile(op)
            var x = (0..<(rows * columns)).map { _ in random.float(-3...3) }
            if trial == 3 { x[columns + 5] = .nan }  // the second row becomes NaN
            let r = residual ? (0..<(rows * columns)).map { _ in random.float(-1...1) } : nil
            let gamma = (0..<columns).map { _ in random.float(0.5...1.5) }, beta = (0..<columns).map { _ in random.float(-0.5...0.5) }
            let y = try kernel.runQuantized(x, residual: r, gamma: gamma, beta: beta)
            let expected = ReferenceOperators.layerNormQuantized(op, x: x, residual: r, gamma: gamma, beta: beta, rows: rows)
            #expect(y == expected, "\(isa): \(rows)×\(columns) \(type) scale \(scale) zp \(zeroPoint) residual \(residual)")
            #expect(Set(y).count > 2, "the values are not all saturated")
            #expect(throws: QuantError.self) { try kernel.run(x, residual: r, gamma: gamma, beta: beta) }
        }
        #expect(throws: QuantError.self) { try LayerNormalization(columns: 8, output: .quantized(type: .s32, scale: 1, zeroPoint: 0)) }
        #expect(throws: QuantError.self) { try LayerNormalization(columns: 8, output: .quantized(type: .u8, scale: 0, zeroPoint: 0)) }
        #expect(throws: QuantError.self) { try LayerNormalization(columns: 8, output: .quantized(type: .u8, scale: .nan, zeroPoint: 0)) }
        #expect(throws: QuantError.self) { try LayerNormalization(columns: 8, output: .quantized(type: .s8, scale: 1, zeroPoint: 200)) }
    }

    @Test func referenceIsCloseToTheDefinitionAndBadInputIsRefused() throws {
        var random = TestRandom(seed: 3)
        let op = try LayerNormalization(columns: 384, epsilon: 1e-12, hasResidual: true)
        let x = (0..<768).map { _ in random.float(-4...4) }, r = (0..<768).map { _ in random.float(-1...1) }
        let gamma = (0..<384).map { _ in random.float(0.5...1.5) }, beta = (0..<384).map { _ in random.float(-1...1) }
        let y = ReferenceOperators.layerNorm(op, x: x, residual: r, gamma: gamma, beta: beta, rows: 2)
        for row in 0..<2 {
            let v = (0..<384).map { Double(x[row * 384 + $0]) + Double(r[row * 384 + $0]) }
            let mean = v.reduce(0, +) / 384, variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 384
            for c in 0..<384 {
                let exact = (v[c] - mean) / (variance + 1e-12).squareRoot() * Double(gamma[c]) + Double(beta[c])
                #expect(abs(Double(y[row * 384 + c]) - exact) < 1e-5 * max(1, abs(exact)))
            }
        }
        let kernel = try Engine(threads: 1).compile(op)
        #expect(throws: QuantError.self) { try kernel.run(x, residual: nil, gamma: gamma, beta: beta) }
        #expect(throws: QuantError.self) { try kernel.run(x, residual: r, gamma: Array(gamma.dropLast()), beta: beta) }
        #expect(throws: QuantError.self) { try kernel.run(Array(x.dropLast()), residual: r, gamma: gamma, beta: beta) }
        #expect(throws: QuantError.self) { try LayerNormalization(columns: 0) }
        #expect(throws: QuantError.self) { try LayerNormalization(columns: 8, epsilon: -1) }
    }
}
