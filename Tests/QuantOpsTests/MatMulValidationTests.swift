import QuantOps
import Testing

/// Every inconsistent description is refused when the op is built, with the field named.
struct MatMulValidationTests {
    func expectError(_ expected: QuantError, sourceLocation: SourceLocation = #_sourceLocation,
                     _ build: () throws -> MatMul) {
        do {
            _ = try build()
            Issue.record("expected \(expected), but the op was accepted", sourceLocation: sourceLocation)
        } catch let error as QuantError {
            #expect(error == expected, sourceLocation: sourceLocation)
            #expect(!error.description.isEmpty)
        } catch {
            Issue.record("untyped error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func shapes() {
        expectError(.invalidShape(field: "K", reason: "K = 0 must be in 1...\(MatMul.maxDimension)")) { try MatMul(m: 4, k: 0, n: 4) }
        expectError(.invalidShape(field: "N", reason: "N = -3 must be in 1...\(MatMul.maxDimension)")) { try MatMul(m: 4, k: 4, n: -3) }
        expectError(.invalidShape(field: "M", reason: "M = 0 must be in 1...\(MatMul.maxDimension)")) { try MatMul(m: 0, k: 4, n: 4) }
        expectError(.invalidShape(field: "K", reason: "K = \(MatMul.maxDimension + 1) must be in 1...\(MatMul.maxDimension)")) {
            try MatMul(m: 1, k: MatMul.maxDimension + 1, n: 1)
        }
        expectError(.invalidShape(field: "B", reason: "K·N = \(1 << 24 * 1 << 12) exceeds 2^34 elements")) {
            try MatMul(m: 1, k: 1 << 24, n: 1 << 12)
        }
    }

    @Test func elementTypes() {
        expectError(.unsupportedElementType(field: "A", type: .s32, allowed: [.u8, .s8])) { try MatMul(m: 1, k: 1, n: 1, aType: .s32) }
        expectError(.unsupportedElementType(field: "B", type: .f32, allowed: [.u8, .s8])) { try MatMul(m: 1, k: 1, n: 1, bType: .f32) }
        expectError(.unsupportedElementType(field: "output.type", type: .s32, allowed: [.u8, .s8])) {
            try MatMul(m: 1, k: 1, n: 1, output: .requantized(.init(type: .s32, output: .perTensor(scale: 1))))
        }
    }

    @Test func scales() {
        for bad: Float in [0, -1, .nan, .infinity] {
            let message = QuantError.invalidScale(field: "aQuant.scales", index: 0, value: bad)
            do {
                _ = try MatMul(m: 1, k: 1, n: 1, aQuant: .perTensor(scale: bad))
                Issue.record("accepted scale \(bad)")
            } catch {
                // NaN != NaN, so compare the field and index through the description.
                #expect("\(error)" == message.description)
            }
        }
        expectError(.invalidScale(field: "bQuant.scales", index: 2, value: -0.5)) {
            try MatMul(m: 1, k: 1, n: 3, bQuant: .perChannel(scales: [1, 1, -0.5], zeroPoints: [0]))
        }
        expectError(.invalidScale(field: "output.quant.scales", index: 0, value: 0)) {
            try MatMul(m: 1, k: 1, n: 1, output: .requantized(.init(type: .u8, output: .perTensor(scale: 0))))
        }
    }

    @Test func zeroPoints() {
        expectError(.zeroPointOutOfRange(field: "aQuant.zeroPoints", index: 0, value: 256, type: .u8)) {
            try MatMul(m: 1, k: 1, n: 1, aType: .u8, aQuant: .perTensor(scale: 1, zeroPoint: 256))
        }
        expectError(.zeroPointOutOfRange(field: "aQuant.zeroPoints", index: 0, value: -129, type: .s8)) {
            try MatMul(m: 1, k: 1, n: 1, aType: .s8, aQuant: .perTensor(scale: 1, zeroPoint: -129))
        }
        expectError(.zeroPointOutOfRange(field: "bQuant.zeroPoints", index: 1, value: 128, type: .s8)) {
            try MatMul(m: 1, k: 1, n: 2, bType: .s8, bQuant: .perChannel(scales: [1, 1], zeroPoints: [0, 128]))
        }
        expectError(.zeroPointOutOfRange(field: "output.quant.zeroPoints", index: 0, value: -1, type: .u8)) {
            try MatMul(m: 1, k: 1, n: 1, output: .requantized(.init(type: .u8, output: .perTensor(scale: 1, zeroPoint: -1))))
        }
    }

    @Test func perChannelCounts() {
        expectError(.channelCountMismatch(field: "bQuant.scales", expected: 4, actual: 3)) {
            try MatMul(m: 1, k: 1, n: 4, bQuant: .perChannel(scales: [1, 1, 1], zeroPoints: [0]))
        }
        expectError(.channelCountMismatch(field: "bQuant.zeroPoints", expected: 4, actual: 2)) {
            try MatMul(m: 1, k: 1, n: 4, bQuant: .perChannel(scales: [1, 1, 1, 1], zeroPoints: [0, 0]))
        }
        expectError(.perTensorRequired(field: "aQuant")) {
            try MatMul(m: 1, k: 1, n: 2, aQuant: .perChannel(scales: [1, 1], zeroPoints: [0]))
        }
        expectError(.channelCountMismatch(field: "output.bias", expected: 3, actual: 2)) {
            try MatMul(m: 1, k: 1, n: 3, output: .requantized(.init(type: .u8, output: .perTensor(scale: 1), bias: [1, 2])))
        }
        expectError(.channelCountMismatch(field: "output.bias", expected: 3, actual: 4)) {
            try MatMul(m: 1, k: 1, n: 3, output: .dequantized(.init(bias: [1, 2, 3, 4])))
        }
    }

    @Test func epilogues() {
        expectError(.invalidEpilogue(field: "output.activation", reason: "clamp bounds must be ordered numbers, got [2.0, 1.0]")) {
            try MatMul(m: 1, k: 1, n: 1, output: .dequantized(.init(activation: .clamp(min: 2, max: 1))))
        }
        expectError(.invalidEpilogue(field: "output.bias[1]", reason: "bias must be finite, got inf")) {
            try MatMul(m: 1, k: 1, n: 2, output: .dequantized(.init(bias: [0, .infinity])))
        }
    }

    @Test func callTimeM() throws {
        let fixed = try MatMul(m: 8, k: 4, n: 4)
        #expect(try fixed.resolveM(nil) == 8)
        #expect(throws: QuantError.invalidShape(field: "M", reason: "kernel was built for M = 8, called with M = 9")) { try fixed.resolveM(9) }
        let dynamic = try MatMul(m: nil, k: 4, n: 4)
        #expect(try dynamic.resolveM(3) == 3)
        #expect(throws: QuantError.invalidShape(field: "M", reason: "M is dynamic for this kernel and must be given per call")) {
            try dynamic.resolveM(nil)
        }
        #expect(throws: QuantError.self) { try dynamic.resolveM(0) }
    }
}
