import Foundation
import QuantForge
import Testing

/// MatMulNBits-style weight-only linears: every kernel bit-exact against
/// `ReferenceOperators.nbitsLinear` on every ISA here — random shapes with tails in K (K not a
/// multiple of the block), N (panels cut short) and M (leftover rows, row blocks), every block
/// size, 4 and 8 bits, both zero-point forms, both compute modes, bias and activations, one and
/// two threads, and extreme activations.
struct NBitsLinearTests {
    static let isas = isasUnderTest

    struct Case {
        let op: NBitsLinear
        let rows: Int
        let b: [UInt8]
        let scales: [Float]
        let zeroPoints: [UInt8]?
        let bias: [Float]?
        let a: [Float]
    }

    static func randomCase(_ random: inout TestRandom, op: NBitsLinear, rows: Int, aRange: ClosedRange<Float> = -3...3) -> Case {
        let b = random.bytes(op.quantizedWeightBytes)
        let scales = (0..<op.scaleCount).map { _ in random.float(1e-3...2e-2) }
        let zp = op.zeroPoints == .perBlock ? random.bytes(op.zeroPointBytes) : nil
        let bias = op.hasBias ? (0..<op.outputs).map { _ in random.float(-1...1) } : nil
        let a = (0..<(rows * op.inputs)).map { _ in random.float(aRange) }
        return Case(op: op, rows: rows, b: b, scales: scales, zeroPoints: zp, bias: bias, a: a)
    }

    static func check(_ c: Case, engine: Engine, _ label: String) throws {
        let kernel = try engine.compile(c.op)
        let weights = try kernel.packWeights(b: c.b, scales: c.scales, zeroPoints: c.zeroPoints, bias: c.bias)
        // Packed = the model's bytes (+ the bias, + < 64 bytes of zero-point alignment per panel)
        // when N fills the panels; columns padded to the panel width otherwise.
        let paddedColumns = kernel.layout.panels * kernel.layout.panelWidth
        let perColumn = c.op.modelBytes / c.op.outputs
        #expect(weights.byteCount <= (c.op.modelBytes + (c.op.hasBias ? 4 * c.op.outputs : 0)) + (paddedColumns - c.op.outputs) * (perColumn + 4)
                    + 63 * kernel.layout.panels, "\(label): packed \(weights.byteCount) bytes for a model of \(c.op.modelBytes)")
        let y = try kernel.run(c.a, weights: weights)
        let expected = ReferenceOperators.nbitsLinear(c.op, a: c.a, rows: c.rows, b: c.b, scales: c.scales, zeroPoints: c.zeroPoints,
                                                      bias: c.bias)
        let mismatches = zip(y, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern && !($0.element.0.isNaN && $0.element.1.isNaN) }
        #expect(mismatches.isEmpty, "\(label): \(mismatches.count) of \(y.count) differ, first \(mismatches.first.map { "#\($0.offset): \($0.element.0) vs \($0.element.1)" } ?? "")")
    }

    @Test(arguments: isas)
    func randomShapesAreBitExact(_ isa: ISA) throws {
        var random = TestRandom(seed: 181 &+ UInt64(isa.rawValue.count))
        let activations: [Activation] = [.none, .relu, .gelu, .clamp(min: -0.5, max: 0.5)]
        for threads in [1, 2] {
            let engine = try Engine(isa: isa, threads: threads)
            for trial in 0..<16 {
                let bits = NBitsLinear.bitWidths[trial % 2]
                let block = NBitsLinear.blockSizes[trial % 5]
                let k = [block, 3 * block, random.int(1...300), 2 * block + random.int(1...block - 1)][trial % 4]
                let n = [1, 7, 16, 33, 64, 65, random.int(1...130), 96][trial % 8]
                let rows = [1, 2, 5, 9, random.int(1...20), 131][trial % 6]
                let op = try NBitsLinear(inputs: k, outputs: n, bits: bits, blockSize: block,
                                         zeroPoints: NBitsLinear.ZeroPoints.allCases[(trial / 2) % 2],
                                         compute: NBitsLinear.Compute.allCases[(trial / 4) % 2], hasBias: trial % 3 == 0,
                                         activation: activations[trial % activations.count])
                try Self.check(Self.randomCase(&random, op: op, rows: rows), engine: engine,
                               "\(isa) \(threads)t \(rows)×\(k)×\(n) \(bits)-bit b\(block) \(op.zeroPoints) \(op.compute)")
            }
        }
    }

    /// Large, tiny, zero and mixed-magnitude activations: per-block scales of 0, 127/amax rounding
    /// at half-way points, blocks of one value.
    @Test(arguments: isas)
    func extremeActivationsAreBitExact(_ isa: ISA) throws {
        var random = TestRandom(seed: 77)
        let engine = try Engine(isa: isa, threads: 1)
        for compute in NBitsLinear.Compute.allCases {
            let op = try NBitsLinear(inputs: 70, outputs: 40, bits: 4, blockSize: 16, zeroPoints: .perBlock, compute: compute)
            var c = Self.randomCase(&random, op: op, rows: 3)
            var a = c.a
            for i in 0..<16 { a[i] = 0 }                       // an all-zero block: scale 0
            a[16] = 3e37; a[17] = -3e37; a[18] = 1e-30           // huge next to tiny
            for i in 32..<48 { a[i] = Float(i - 40) * 0.5 }      // half-way points of 127/amax
            a[64] = -1e-38                                       // a block of K's tail with a subnormal-ish value
            for i in 70..<140 { a[i] = random.bool() ? 1e20 : -1e20 }
            c = Case(op: op, rows: 3, b: c.b, scales: c.scales, zeroPoints: c.zeroPoints, bias: nil, a: a)
            try Self.check(c, engine: engine, "\(isa) extreme \(compute)")
        }
    }

    /// GEMV rows (M = 1, and the row left over after 2-row tiles) run against several panels at a
    /// time (two or three) and then the rest one by one: every panel count from 1 to 9, int8
    /// compute, 4 and 8 bits, both zero-point forms.
    @Test(arguments: isas)
    func gemvRowsOverEveryPanelCount(_ isa: ISA) throws {
        var random = TestRandom(seed: 505)
        let engine = try Engine(isa: isa, threads: 1)
        for bits in NBitsLinear.bitWidths {
            for n in [8, 16, 40, 48, 65, 80, 100, 112, 130] {
                let op = try NBitsLinear(inputs: 2 * 32 + 5, outputs: n, bits: bits, blockSize: 32,
                                         zeroPoints: n % 2 == 0 ? .midpoint : .perBlock, hasBias: n % 3 == 0)
                for rows in [1, 3] {
                    try Self.check(Self.randomCase(&random, op: op, rows: rows), engine: engine, "\(isa) \(rows)×\(op.inputs)×\(n) \(bits)-bit")
                }
            }
        }
    }

    /// The largest integer sums a block can hold: every weight 15 (or 0) against A quantized to
    /// ±127 throughout, blocks of 32 to 256 (AVX2 sums 32 k of `vpmaddubsw` pairs in i16 before
    /// widening: 8 pairs of 2·15·127 = 30480 per lane; one step more would wrap), a GEMV row and
    /// a tile of rows, both zero-point forms.
    @Test(arguments: isas)
    func largestBlockSumsAreExact(_ isa: ISA) throws {
        var random = TestRandom(seed: 303)
        let engine = try Engine(isa: isa, threads: 1)
        for block in [32, 64, 256] {
            for zeroPoints in [NBitsLinear.ZeroPoints.midpoint, .perBlock] {
                for rows in [1, 3] {
                    let op = try NBitsLinear(inputs: 2 * block + 8, outputs: 40, bits: 4, blockSize: block, zeroPoints: zeroPoints)
                    let c = Self.randomCase(&random, op: op, rows: rows)
                    for (weight, activation) in [(UInt8(0xFF), Float(-1)), (0xFF, 1), (0x00, -1)] {
                        let extreme = Case(op: op, rows: rows, b: Array(repeating: weight, count: c.b.count), scales: c.scales,
                                           zeroPoints: c.zeroPoints.map { Array(repeating: 0, count: $0.count) }, bias: nil,
                                           a: Array(repeating: activation, count: c.a.count))
                        try Self.check(extreme, engine: engine, "\(isa) b\(block) \(zeroPoints) \(rows) rows, weights \(weight), a \(activation)")
                    }
                }
            }
        }
    }

    @Test func referenceMatchesTheDequantizedDefinition() throws {
        // The int8 mode against a plain float sum over dequantized weights and quantized A (close,
        // not exact: the float sums are ordered differently); the f32 mode against double sums.
        var random = TestRandom(seed: 5)
        for bits in NBitsLinear.bitWidths {
            let op = try NBitsLinear(inputs: 100, outputs: 9, bits: bits, blockSize: 32, zeroPoints: .perBlock)
            let c = Self.randomCase(&random, op: op, rows: 2)
            let y = ReferenceOperators.nbitsLinear(op, a: c.a, rows: 2, b: c.b, scales: c.scales, zeroPoints: c.zeroPoints, bias: nil)
            let f32 = try NBitsLinear(inputs: 100, outputs: 9, bits: bits, blockSize: 32, zeroPoints: .perBlock, compute: .f32)
            let y32 = ReferenceOperators.nbitsLinear(f32, a: c.a, rows: 2, b: c.b, scales: c.scales, zeroPoints: c.zeroPoints, bias: nil)
            c.b.withUnsafeBufferPointer { b in
                c.zeroPoints!.withUnsafeBufferPointer { zp in
                    for m in 0..<2 {
                        for n in 0..<9 {
                            var exact = 0.0
                            for k in 0..<100 {
                                let w = Double(op.quantizedWeight(b, n: n, k: k) - op.zeroPoint(zp, n: n, block: k / 32)) * Double(c.scales[n * 4 + k / 32])
                                exact += Double(c.a[m * 100 + k]) * w
                            }
                            #expect(abs(Double(y32[m * 9 + n]) - exact) <= 1e-5 * max(1, abs(exact)))
                            // int8 A: each block's rounding error is at most amax/254 per value.
                            #expect(abs(Double(y[m * 9 + n]) - exact) <= 0.05 * max(1, abs(exact)), "\(bits)-bit \(y[m * 9 + n]) vs \(exact)")
                        }
                    }
                }
            }
        }
        // MLAS's A quantization: 127/amax, round half to even, padded with zeros.
        let row = ReferenceOperators.quantizeRowPerBlock([0.5, -1.27, 1.27, 0.005, 0.015, 0.025], blockSize: 16)
        #expect(row.values.prefix(6) == [50, -127, 127, 0, 2, 2] && row.values.count == 16)
        #expect(row.scales == [Float(1.27) / 127] && row.sums == [54])
        #expect(NBitsLinear.scales(fromHalf: [0x3C00, 0xC000, 0x0001, 0x7BFF]) == [1, -2, Float(sign: .plus, exponent: -24, significand: 1), 65504])
    }

    @Test func badInputIsRefused() throws {
        #expect(throws: QuantError.self) { try NBitsLinear(inputs: 64, outputs: 8, bits: 3) }
        #expect(throws: QuantError.self) { try NBitsLinear(inputs: 64, outputs: 8, blockSize: 48) }
        #expect(throws: QuantError.self) { try NBitsLinear(inputs: 0, outputs: 8) }
        let op = try NBitsLinear(inputs: 64, outputs: 8, zeroPoints: .perBlock, hasBias: true)
        let kernel = try Engine(threads: 1).compile(op)
        let b = [UInt8](repeating: 0x88, count: op.quantizedWeightBytes), scales = [Float](repeating: 0.01, count: op.scaleCount)
        let zp = [UInt8](repeating: 0x88, count: op.zeroPointBytes), bias = [Float](repeating: 1, count: 8)
        #expect(throws: QuantError.self) { try kernel.packWeights(b: Array(b.dropLast()), scales: scales, zeroPoints: zp, bias: bias) }
        #expect(throws: QuantError.self) { try kernel.packWeights(b: b, scales: Array(scales.dropLast()), zeroPoints: zp, bias: bias) }
        #expect(throws: QuantError.self) { try kernel.packWeights(b: b, scales: scales, zeroPoints: nil, bias: bias) }
        #expect(throws: QuantError.self) { try kernel.packWeights(b: b, scales: scales, zeroPoints: zp + [0], bias: bias) }
        #expect(throws: QuantError.self) { try kernel.packWeights(b: b, scales: scales, zeroPoints: zp, bias: nil) }
        #expect(throws: QuantError.self) { try kernel.packWeights(b: b, scales: [Float](repeating: .nan, count: op.scaleCount), zeroPoints: zp, bias: bias) }
        let weights = try kernel.packWeights(b: b, scales: scales, zeroPoints: zp, bias: bias)
        #expect(throws: QuantError.self) { try kernel.run([Float](repeating: 1, count: 65), weights: weights) }
        // Weights packed for another shape are refused.
        let other = try Engine(threads: 1).compile(try NBitsLinear(inputs: 64, outputs: 16))
        let otherWeights = try other.packWeights(b: [UInt8](repeating: 0, count: 16 * 64 / 2), scales: [Float](repeating: 1, count: 32))
        #expect(throws: QuantError.self) { try kernel.run([Float](repeating: 1, count: 64), weights: otherWeights) }
        // q = zp everywhere: y = bias.
        #expect(try kernel.run([Float](repeating: 1, count: 64), weights: weights) == bias)
    }
}
