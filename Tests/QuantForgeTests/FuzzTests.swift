import Foundation
import QuantForge
import QuantForgeTooling
import Testing

/// A seeded slice of the differential fuzzer (every operator kind, every ISA here), its minimizer
/// and its replayable spec files.
struct FuzzTests {
    @Test func aSeededSliceFindsNoMismatch() {
        let fuzzer = DifferentialFuzzer(seed: 20261127, isas: isasUnderTest, jobs: 2, inputsPerKernel: 4)
        let summary = fuzzer.run(kernels: 160)
        for (fuzzCase, outcome) in summary.failures {
            let json = (try? JSONEncoder().encode(fuzzCase)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
            Issue.record("\(fuzzCase.op.name) on \(fuzzCase.isa): \(outcome); replay: \(json)")
        }
        #expect(summary.kernels == 160 && summary.cases >= 160 * 4)
        #expect(summary.combinations.count >= 25, "\(summary.combinations.count) combinations")
    }

    /// The fuzzer's AArch64 sample: here every kernel is built for AArch64 and run under qemu.
    @Test func anAArch64SliceUnderQemuFindsNoMismatch() throws {
        try #require(AArch64Emulator.unavailableReason == nil, "\(AArch64Emulator.unavailableReason ?? "")")
        let fuzzer = DifferentialFuzzer(seed: 20261128, isas: [.portable], jobs: 2, inputsPerKernel: 2, aarch64Every: 1)
        let summary = fuzzer.run(kernels: 24)
        for (fuzzCase, outcome) in summary.failures {
            let json = (try? JSONEncoder().encode(fuzzCase)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
            Issue.record("\(fuzzCase.op.name) on \(fuzzCase.isa): \(outcome); replay: \(json)")
        }
        #expect(summary.aarch64Kernels == 24 && summary.cases == 24 * 2)
        #expect(summary.combinations.allSatisfy { $0.contains("| neondot |") })
        #expect(summary.combinations.count >= 6, "\(summary.combinations.sorted())")
    }

    /// MatMulNBits cases through the fuzzer's own runners: every ISA here, and NEON under qemu
    /// (packer, A quantization and linear kernel built for AArch64), a case's JSON round trip.
    @Test func nbitsCasesReplayOnEveryISAAndUnderQemu() throws {
        let ops = [try NBitsLinear(inputs: 77, outputs: 40, bits: 4, blockSize: 16, zeroPoints: .perBlock, compute: .int8, hasBias: true,
                                   activation: .gelu),
                   try NBitsLinear(inputs: 64, outputs: 33, bits: 8, blockSize: 32, compute: .f32)]
        for (index, op) in ops.enumerated() {
            for isa in isasUnderTest {
                let fuzzCase = FuzzCase(op: .nbitsLinear(op), isa: isa, schedule: nil, inputSeed: UInt64(5 + index))
                #expect(DifferentialFuzzer(seed: 1, isas: [isa]).replay(fuzzCase, inputs: 3) == .match, "\(op) on \(isa)")
            }
            let decoded = try JSONDecoder().decode(FuzzCase.self, from: try JSONEncoder().encode(FuzzCase(op: .nbitsLinear(op), isa: .portable,
                                                                                                         schedule: nil, inputSeed: 1)))
            guard case let .nbitsLinear(back) = decoded.op else { Issue.record("not an nbits case"); continue }
            #expect(back == op)
            #expect(FuzzMinimizer.candidates(decoded).count >= 2)
        }
        try #require(AArch64Emulator.unavailableReason == nil, "\(AArch64Emulator.unavailableReason ?? "")")
        for op in ops {
            let emulated = FuzzCase(op: .nbitsLinear(op), isa: AArch64Emulator.isa, schedule: nil, inputSeed: 11)
            #expect(DifferentialFuzzer(seed: 3, isas: [.portable]).replay(emulated, inputs: 2) == .match, "\(op) under qemu")
        }
    }

    /// The transformer operators through the fuzzer's runners: LayerNorm (f32 and quantized), softmax,
    /// int8 and fused f32 attention on every ISA here and under qemu, several input seeds each (rows, lengths
    /// and masks drawn from them), a case's JSON round trip; and the generator draws them.
    @Test func transformerCasesReplayOnEveryISAAndUnderQemu() throws {
        let ops: [FuzzCase.Operator] = [
            .layerNorm(try LayerNormalization(columns: 45, hasResidual: true)),
            .layerNorm(try LayerNormalization(columns: 384, output: .quantized(type: .s8, scale: 0.02, zeroPoint: -5))),
            .softmax(try Softmax(scale: 0.125)),
            .attention(try QuantizedAttention(heads: 3, headSize: 20, scale: 0.2)),
            .f32Attention(try F32Attention(heads: 3, headSize: 20, scale: 0.2)),
        ]
        for op in ops {
            for isa in isasUnderTest {
                let fuzzCase = FuzzCase(op: op, isa: isa, schedule: nil, inputSeed: 21)
                #expect(DifferentialFuzzer(seed: 1, isas: [isa]).replay(fuzzCase, inputs: 6) == .match, "\(op.name) on \(isa)")
            }
            let decoded = try JSONDecoder().decode(FuzzCase.self, from: try JSONEncoder().encode(FuzzCase(op: op, isa: .portable,
                                                                                                         schedule: nil, inputSeed: 1)))
            #expect(decoded.op.name == op.name)
        }
        var generator = FuzzGenerator(seed: 5, isas: [.portable])
        var drawn = Set<String>()
        for _ in 0..<400 { drawn.insert(generator.next().op.name) }
        #expect(drawn.isSuperset(of: ["layer norm", "softmax", "int8 attention", "f32 attention"]))
        try #require(AArch64Emulator.unavailableReason == nil, "\(AArch64Emulator.unavailableReason ?? "")")
        for op in ops {
            let emulated = FuzzCase(op: op, isa: AArch64Emulator.isa, schedule: nil, inputSeed: 13)
            #expect(DifferentialFuzzer(seed: 3, isas: [.portable]).replay(emulated, inputs: 3) == .match, "\(op.name) under qemu")
        }
    }

    @Test func theMinimizerShrinksWhileTheFailureHolds() throws {
        let op = try MatMul(m: nil, k: 300, n: 50, bQuant: .perChannel(scales: Array(repeating: 0.01, count: 50), zeroPoints: [0]),
                            output: .dequantized(.init(bias: Array(repeating: 0.5, count: 50))))
        let start = FuzzCase(op: .matmul(op, m: 40), isa: .portable, schedule: nil, inputSeed: 9)
        // A stand-in failure: any matmul with K > 37 and N > 5 "fails".
        let minimized = FuzzMinimizer.minimize(start) { c in
            if case let .matmul(op, _) = c.op { return op.k > 37 && op.n > 5 }
            return false
        }
        guard case let .matmul(small, m) = minimized.op else { Issue.record("not a matmul"); return }
        #expect(small.k == 38 && small.n == 6 && m == 1, "\(small.k) \(small.n) \(m)")
        #expect(small.bQuant.scales.count == 6)  // per-channel parameters follow N
    }

    @Test func specFilesRoundTripAndAreValidated() throws {
        let conv = try Conv2D(inChannels: 3, height: 5, width: 5, outChannels: 4, kernel: (3, 3), pads: [1, 1, 1, 1])
        let fuzzCase = FuzzCase(op: .convolution(conv), isa: .portable, schedule: nil, inputSeed: 42)
        let data = try JSONEncoder().encode(fuzzCase)
        let decoded = try JSONDecoder().decode(FuzzCase.self, from: data)
        guard case let .convolution(back) = decoded.op else { Issue.record("not a convolution"); return }
        #expect(back == conv && decoded.inputSeed == 42)
        #expect(DifferentialFuzzer(seed: 1, isas: [.portable]).replay(decoded, inputs: 3) == .match)
        // A hand-edited file with an impossible geometry is refused, not run.
        let tampered = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"groups\":1", with: "\"groups\":2")
        #expect(throws: (any Error).self) { try JSONDecoder().decode(FuzzCase.self, from: Data(tampered.utf8)) }
    }
}
