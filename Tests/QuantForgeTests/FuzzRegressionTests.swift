import Foundation
import QuantForge
import Testing

/// Cases the fuzzer found, kept as regression tests.
struct FuzzRegressionTests {
    /// A grouped convolution whose first group's weight zero points are 0 and the others' are not:
    /// its default schedule was sized for the first group (no row sums) and did not fit the others.
    @Test func groupedConvolutionWhoseGroupsNeedDifferentRegisters() throws {
        let groups = 2, oc = 128
        let zeroPoints: [Int32] = Array(repeating: 0, count: 64) + (0..<64).map { Int32($0 % 7) * 30 - 90 + ($0 % 7 == 3 ? 1 : 0) }
        let conv = try Conv2D(inChannels: groups * 8, height: 6, width: 7, outChannels: oc, kernel: (3, 3), pads: [1, 1, 1, 1], groups: groups,
                              xQuant: .perTensor(scale: 0.05, zeroPoint: 128),
                              wQuant: .perChannel(scales: Array(repeating: 0.01, count: oc), zeroPoints: zeroPoints),
                              output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.5, zeroPoint: 128))))
        var random = TestRandom(seed: 2026)
        let x = random.bytes(conv.inputElements), w = random.bytes(conv.weightElements)
        let expected = ReferenceOperators.conv(conv, x: x, w: w)
        for isa in isasUnderTest {
            let kernel = try Engine(isa: isa).compile(conv)
            #expect(try kernel.run(x: x, weights: kernel.packWeights(w)) == expected, "\(isa)")
        }
    }

    /// The dynamic linear with a residual in its epilogue chain read a null residual pointer.
    @Test func dynamicLinearWithAResidualChain() throws {
        let op = try MatMul(m: nil, k: 19, n: 10, aType: .f32, bType: .s8, bQuant: .perTensor(scale: 0.01),
                            output: .chain(EpilogueChain([.residualAdd(type: .u8, quant: .perTensor(scale: 0.1, zeroPoint: 3))], output: .dequantize)),
                            aQuantMode: .perTensorAtRunTime)
        var random = TestRandom(seed: 2027)
        let a = (0..<(4 * 19)).map { _ in random.float(-2...2) }, b = random.bytes(19 * 10), residual = random.bytes(4 * 10)
        for isa in isasUnderTest {
            let kernel = try Engine(isa: isa).compileDynamicLinear(op)
            let weights = try kernel.packWeights(b)
            #expect(throws: QuantError.self) { try kernel.run(a: a, weights: weights, m: 4) }  // the residual is required
            #expect(try kernel.run(a: a, weights: weights, m: 4, residual: residual) == ReferenceOperators.dynamicLinear(op, a: a, b: b, m: 4, residual: residual))
        }
    }

    /// libFuzzer (the spec target): a kernel spec with a negative N trapped building the preset's
    /// per-column scales before the dimensions were checked.
    @Test func aSpecWithANegativeDimensionIsATypedError() {
        let spec = #"{"kernels": [{"name": "bad", "preset": "u8s8u8_requant", "m": 1, "k": 384, "n": -9174}]}"#
        #expect(throws: QuantError.self) { try KernelSpec.parse(Data(spec.utf8)) }
        for preset in OperatorPreset.allCases {
            #expect(throws: QuantError.self) { try preset.matMul(m: 1, k: 8, n: -1) }
        }
    }
}
