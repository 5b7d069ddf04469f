import QuantForge
import Testing

/// Fused epilogue chains (bias, per-channel scale, activations, residual add, requantize or
/// dequantize) and A's run-time quantization parameters, bit-exact against the reference on
/// every ISA here, with tails in M and N.
struct EpilogueChainTests {
    static func run(_ op: MatMul, isa: ISA, a: [UInt8], b: [UInt8], m: Int, residual: [UInt8]?, runTime: RunTimeAQuant?) throws -> [UInt8] {
        let kernel = try Engine(isa: isa).compile(op)
        let weights = try kernel.packWeights(b)
        var c = [UInt8](repeating: 0xA5, count: try op.cSpec(m: m).requiredBytes)
        // The residual's pointer is valid only inside withUnsafeBytes: keep everything inside it.
        try a.withUnsafeBytes { aBytes in
            try c.withUnsafeMutableBytes { cBytes in try (residual ?? []).withUnsafeBytes { residualStorage in
                let residualBytes = residual == nil ? nil : residualStorage
                if let runTime {
                    try runTime.scales.withUnsafeBufferPointer { scales in
                        try runTime.zeroPoints.withUnsafeBufferPointer { points in
                            try kernel.run(a: aBytes, weights: weights, c: cBytes, m: op.m == nil ? m : nil, residual: residualBytes,
                                           aScales: scales, aZeroPoints: points)
                        }
                    }
                } else {
                    try kernel.run(a: aBytes, weights: weights, c: cBytes, m: op.m == nil ? m : nil, residual: residualBytes)
                }
            } }
        }
        return c
    }

    static let chains: [EpilogueChain] = [
        EpilogueChain([.bias([0.5]), .activation(.gelu)], output: .requantize(type: .u8, quant: .perTensor(scale: 0.02, zeroPoint: 10))),
        EpilogueChain([.scale([1.5]), .activation(.sigmoid), .residualAdd(type: .s8, quant: .perTensor(scale: 0.01, zeroPoint: -3))],
                      output: .requantize(type: .s8, quant: .perTensor(scale: 0.01, zeroPoint: 0))),
        EpilogueChain([.residualAdd(type: .u8, quant: .perTensor(scale: 0.05, zeroPoint: 128)), .activation(.relu)], output: .dequantize),
        EpilogueChain([.activation(.tanh), .activation(.clamp(min: -0.5, max: 0.75))], output: .dequantize),
        // GELU last before requantizing (1 / y_scale folded into its table): to s8, where GELU's
        // minimum reaches below the type's range, and to u8 with y_zp = 0, so both clamps stay.
        EpilogueChain([.activation(.gelu)], output: .requantize(type: .s8, quant: .perTensor(scale: 0.001, zeroPoint: -100))),
        EpilogueChain([.bias([0.1]), .scale([2]), .activation(.gelu)], output: .requantize(type: .u8, quant: .perTensor(scale: 0.05, zeroPoint: 0))),
    ]

    @Test(arguments: 0..<6)
    func chainsAreBitExact(_ chainIndex: Int) throws {
        var random = TestRandom(seed: 4100 + UInt64(chainIndex))
        for (m, k, n) in [(1, 7, 5), (5, 64, 33), (19, 131, 47)] {
            var chain = Self.chains[chainIndex]
            // Per-channel variants of the bias and scale steps.
            chain.steps = chain.steps.map { step in
                switch step {
                case .bias: .bias((0..<n).map { _ in random.float(-1...1) })
                case .scale: random.bool() ? .scale((0..<n).map { _ in random.float(0.5...2) }) : step
                default: step
                }
            }
            let op = try MatMul(m: nil, k: k, n: n, aType: random.bool() ? .u8 : .s8, bType: .s8,
                                aQuant: .perTensor(scale: 0.02, zeroPoint: Int32(random.int(-10...10)) + 10),
                                bQuant: .perChannel(scales: (0..<n).map { _ in random.float(0.0005...0.002) },
                                                    zeroPoints: (0..<n).map { _ in Int32(random.int(-3...3)) }),
                                output: .chain(chain))
            let a = random.bytes(m * k), b = random.bytes(k * n)
            let residual = chain.residual == nil ? nil : random.bytes(m * n)
            let expected = ReferenceMatMul.run(op, a: a, b: b, m: m, residual: residual)
            for isa in isasUnderTest {
                #expect(try Self.run(op, isa: isa, a: a, b: b, m: m, residual: residual, runTime: nil) == expected,
                        "\(isa) chain \(chainIndex) \(m)x\(k)x\(n)")
            }
        }
    }

    @Test(arguments: [AQuantMode.perTensorAtRunTime, .perRowAtRunTime])
    func runTimeAQuantization(_ mode: AQuantMode) throws {
        var random = TestRandom(seed: mode == .perRowAtRunTime ? 77 : 78)
        let outputs: [MatMulOutput] = [.int32, .dequantized(.init(bias: nil, activation: .relu)),
                                       .chain(EpilogueChain([.activation(.gelu)], output: .requantize(type: .u8, quant: .perTensor(scale: 0.05, zeroPoint: 3))))]
        for output in outputs {
            for (m, k, n) in [(3, 9, 17), (21, 100, 40)] {
                let op = try MatMul(m: nil, k: k, n: n, aType: .u8, bType: .s8,
                                    bQuant: .perChannel(scales: (0..<n).map { _ in random.float(0.001...0.01) }, zeroPoints: [0]),
                                    output: output, aQuantMode: mode)
                let rows = mode == .perRowAtRunTime ? m : 1
                let runTime = RunTimeAQuant(scales: (0..<rows).map { _ in random.float(0.01...0.1) },
                                            zeroPoints: (0..<rows).map { _ in Int32(random.int(0...255)) })
                let a = random.bytes(m * k), b = random.bytes(k * n)
                let expected = ReferenceMatMul.run(op, a: a, b: b, m: m, runTime: runTime)
                for isa in isasUnderTest {
                    #expect(try Self.run(op, isa: isa, a: a, b: b, m: m, residual: nil, runTime: runTime) == expected,
                            "\(isa) \(mode) \(output) \(m)x\(k)x\(n)")
                }
            }
        }
    }

    /// `EpilogueChain.bounds`, which lets kernels leave out NaN checks and clamps, holds for
    /// every value the reference computes: random chains, start values up to the bound.
    @Test func boundsContainEveryValue() {
        var random = TestRandom(seed: 4200)
        let activations: [Activation] = [.none, .relu, .clamp(min: -0.5, max: 2), .gelu, .sigmoid, .tanh]
        for _ in 0..<300 {
            var steps: [EpilogueChain.Step] = []
            for _ in 0..<random.int(1...4) {
                switch random.int(0...3) {
                case 0: steps.append(.bias((0..<3).map { _ in random.float(-50...50) }))
                case 1: steps.append(.scale((0..<3).map { _ in random.float(-4...4) }))
                case 2: steps.append(.activation(activations[random.int(0...(activations.count - 1))]))
                default: steps.append(.residualAdd(type: .u8, quant: .perTensor(scale: random.float(0.001...0.5), zeroPoint: Int32(random.int(0...255)))))
                }
            }
            let chain = EpilogueChain(steps, output: .dequantize)
            let startBound = Double(random.float(0.01...1000))
            let (values, largest) = chain.bounds(startBound: startBound)
            for _ in 0..<200 {
                let start = Float(startBound) * random.float(-1...1), column = random.int(0...2)
                let residual = Int32(random.int(0...255))
                let value = chain.apply(accumulator: start, multiplier: 1, column: column, residual: residual)
                // float32 rounding on top of the exact bounds: a relative 1e-5 is plenty.
                let slack = 1e-5 * max(1, largest)
                #expect(Double(value) >= values.lowerBound - slack && Double(value) <= values.upperBound + slack,
                        "\(chain.steps) start \(start): \(value) outside \(values)")
                for count in 0...steps.count {
                    let partial = chain.apply(accumulator: start, multiplier: 1, column: column, residual: residual, stepCount: count)
                    #expect(abs(Double(partial)) <= largest + slack)
                }
            }
        }
        // No bound from an unbounded start, and none through a product that overflows float32.
        #expect(!EpilogueChain([.activation(.gelu)], output: .dequantize).staysFinite(startBound: .infinity))
        #expect(!EpilogueChain([.scale([1e30])], output: .dequantize).staysFinite(startBound: 1e10))
        #expect(EpilogueChain([.scale([1e3]), .activation(.sigmoid)], output: .dequantize).bounds(startBound: 1e30).values.upperBound <= 1.001)
    }

    @Test func badChainsAndCallsAreRejected() throws {
        #expect(throws: QuantError.self) {
            try MatMul(m: 1, k: 4, n: 4, output: .requantized(.init(type: .u8, output: .perTensor(scale: 1), activation: .gelu)))
        }
        #expect(throws: QuantError.self) {
            try MatMul(m: 1, k: 4, n: 4, output: .chain(EpilogueChain([.bias([1, 2])], output: .dequantize)))
        }
        #expect(throws: QuantError.self) {
            try MatMul(m: 1, k: 4, n: 4, aType: .s8, aQuantMode: .perTensorAtRunTime)
        }
        let op = try MatMul(m: 2, k: 4, n: 4, output: .chain(EpilogueChain(
            [.residualAdd(type: .u8, quant: .perTensor(scale: 1))], output: .dequantize)))
        let kernel = try Engine(isa: .portable).compile(op)
        let weights = try kernel.packWeights([UInt8](repeating: 1, count: 16))
        var c = [Float](repeating: 0, count: 8)
        let a = [UInt8](repeating: 1, count: 8), short = [UInt8](repeating: 1, count: 7)
        #expect(throws: QuantError.self) {  // residual missing
            try a.withUnsafeBytes { a in try c.withUnsafeMutableBytes { try kernel.run(a: a, weights: weights, c: $0) } }
        }
        #expect(throws: QuantError.self) {  // residual too small
            try a.withUnsafeBytes { a in try c.withUnsafeMutableBytes { c in try short.withUnsafeBytes { r in
                try kernel.run(a: a, weights: weights, c: c, residual: r) } } }
        }
    }
}
