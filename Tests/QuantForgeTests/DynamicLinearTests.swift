import QuantForge
import Testing

/// The dynamic quantized linear (f32 in, per-tensor or per-row DynamicQuantizeLinear of A fused
/// into the matmul's packing, f32 or requantized out) bit-exact against the reference on every ISA
/// here, with M varying per call, tails, extreme inputs and several schedules.
struct DynamicLinearTests {
    static func op(k: Int, n: Int, mode: AQuantMode, output: MatMulOutput, random: inout TestRandom) throws -> MatMul {
        try MatMul(m: nil, k: k, n: n, aType: .f32, bType: .s8,
                   bQuant: .perChannel(scales: (0..<n).map { _ in random.float(0.001...0.01) }, zeroPoints: [0]),
                   output: output, aQuantMode: mode)
    }

    @Test(arguments: [AQuantMode.perTensorAtRunTime, .perRowAtRunTime])
    func bitExactOnEveryISA(_ mode: AQuantMode) throws {
        var random = TestRandom(seed: mode == .perRowAtRunTime ? 501 : 502)
        let outputs: [MatMulOutput] = [
            .dequantized(.init(bias: nil, activation: .none)),
            .chain(EpilogueChain([.bias([0.25]), .activation(.gelu)], output: .dequantize)),
            .chain(EpilogueChain([.activation(.relu)], output: .requantize(type: .u8, quant: .perTensor(scale: 0.1, zeroPoint: 0)))),
        ]
        for output in outputs {
            for (k, n) in [(1, 1), (13, 17), (64, 48), (300, 33)] {
                let op = try Self.op(k: k, n: n, mode: mode, output: output, random: &random)
                let b = random.bytes(k * n)
                for isa in isasUnderTest {
                    let kernel = try Engine(isa: isa).compileDynamicLinear(op)
                    let weights = try kernel.packWeights(b)
                    for m in [1, 5, 23] {  // one compiled kernel, M per call
                        var a = (0..<(m * k)).map { _ in random.float(-3...3) }
                        if m == 5 { a = a.map { abs($0) } }           // all positive: zero point 0
                        if m == 23 { a[0] = 1e6; a[1] = -0.0 }         // one outlier dominates the scale
                        let expected = ReferenceOperators.dynamicLinear(op, a: a, b: b, m: m)
                        #expect(try kernel.run(a: a, weights: weights, m: m) == expected, "\(isa) \(mode) \(output) \(m)x\(k)x\(n)")
                    }
                }
            }
        }
    }

    @Test func schedulesAndRejections() throws {
        var random = TestRandom(seed: 503)
        let op = try Self.op(k: 200, n: 40, mode: .perTensorAtRunTime, output: .dequantized(.init()), random: &random)
        let b = random.bytes(200 * 40), a = (0..<(19 * 200)).map { _ in random.float(-1...1) }
        let expected = ReferenceOperators.dynamicLinear(op, a: a, b: b, m: 19)
        for isa in isasUnderTest {
            let engine = try Engine(isa: isa)
            var schedule = try engine.defaultSchedule(for: op)
            schedule.rowBlock = schedule.rowsPerTile
            schedule.loopOrder = .rowsOuter
            let kernel = try engine.compileDynamicLinear(op, schedule: schedule)
            #expect(try kernel.run(a: a, weights: kernel.packWeights(b), m: 19) == expected, "\(isa) \(schedule)")
        }
        // A quantized operator is not a dynamic linear; f32 A needs run-time parameters.
        #expect(throws: QuantError.self) { try Engine(isa: .portable).compileDynamicLinear(try MatMul(m: 1, k: 4, n: 4)) }
        #expect(throws: QuantError.self) { try MatMul(m: 1, k: 4, n: 4, aType: .f32) }
        // Too small an A buffer.
        let kernel = try Engine(isa: .portable).compileDynamicLinear(op)
        #expect(throws: QuantError.self) { try kernel.run(a: [1, 2, 3], weights: kernel.packWeights(b), m: 2) }
    }
}
