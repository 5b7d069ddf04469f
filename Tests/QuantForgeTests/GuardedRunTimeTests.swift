import Foundation
import QuantForge
import Testing

/// Run-time A parameters and residuals read through guarded buffers: no read or write may pass the
/// end of A, C, the residual, the scales or the zero points.
struct GuardedRunTimeTests {
    @Test(arguments: [AQuantMode.perTensorAtRunTime, .perRowAtRunTime])
    func noAccessPastAnyBuffer(_ mode: AQuantMode) throws {
        var random = TestRandom(seed: 4242)
        let outputs: [MatMulOutput] = [
            .chain(EpilogueChain([.activation(.gelu), .residualAdd(type: .u8, quant: .perTensor(scale: 0.1, zeroPoint: 5))], output: .dequantize)),
            .int32, .dequantized(.init(bias: nil, activation: .relu)),
            .chain(EpilogueChain([.activation(.gelu)], output: .requantize(type: .u8, quant: .perTensor(scale: 0.05, zeroPoint: 3)))),
        ]
        for output in outputs {
        for (m, k, n) in [(3, 9, 17), (21, 100, 40), (1, 1, 1), (9, 33, 65)] {
            let op = try MatMul(m: nil, k: k, n: n, aType: .u8, bType: .s8,
                                bQuant: .perChannel(scales: (0..<n).map { _ in random.float(0.001...0.01) }, zeroPoints: [0]),
                                output: output, aQuantMode: mode)
            let hasResidual = if case let .chain(chain) = output { chain.residual != nil } else { false }
            let rows = mode == .perRowAtRunTime ? m : 1
            let scales = (0..<rows).map { _ in random.float(0.01...0.1) }, points = (0..<rows).map { _ in Int32(random.int(0...255)) }
            let a = random.bytes(m * k), b = random.bytes(k * n), residual = random.bytes(m * n)
            let expected = ReferenceMatMul.run(op, a: a, b: b, m: m, runTime: RunTimeAQuant(scales: scales, zeroPoints: points),
                                               residual: hasResidual ? residual : nil)
            for isa in isasUnderTest {
                let kernel = try Engine(isa: isa).compile(op)
                let weights = try kernel.packWeights(b)
                let aBuffer = GuardedBuffer(a), rBuffer = GuardedBuffer(residual), cBuffer = GuardedBuffer(count: try op.cSpec(m: m).requiredBytes)
                let sBuffer = GuardedBuffer(scales.withUnsafeBytes { Array($0) }), pBuffer = GuardedBuffer(points.withUnsafeBytes { Array($0) })
                try kernel.run(a: aBuffer.raw, weights: weights, c: cBuffer.mutableRaw, m: m, residual: hasResidual ? rBuffer.raw : nil,
                               aScales: UnsafeBufferPointer(start: sBuffer.base.assumingMemoryBound(to: Float.self), count: rows),
                               aZeroPoints: UnsafeBufferPointer(start: pBuffer.base.assumingMemoryBound(to: Int32.self), count: rows))
                #expect(cBuffer.bytes == expected, "\(isa) \(mode) \(m)x\(k)x\(n)")
            }
        }
        }
    }
}
