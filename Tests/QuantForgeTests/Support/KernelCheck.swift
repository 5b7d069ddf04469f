import Foundation
import QuantForge
import Testing

/// The sanitizer the suite runs under (`tools/asan.sh` and `tools/tsan.sh` set QFORGE_SANITIZER), or nil.
let sanitizer: String? = ProcessInfo.processInfo.environment["QFORGE_SANITIZER"]

/// The instruction sets exercised on this machine: every one that runs here and has a
/// microkernel (forced one by one, not just the default).
let isasUnderTest: [ISA] = {
    let host = HostCPU.current
    return ISA.allCases.filter { host.supports($0) && (try? InstructionTable.instruction(for: $0)) != nil }
}()

/// Runs `op` on `isa` (default schedule unless given) and checks C bit-exact against the
/// reference interpreter. A is read from a guarded buffer (no over-read), C is written into a
/// guarded buffer whose gaps between rows (when ldc > N) must stay untouched.
func checkKernel(_ op: MatMul, isa: ISA, a: [UInt8], lda: Int? = nil, b: [UInt8], m: Int, ldc: Int? = nil,
                 schedule: MatMulSchedule? = nil, expected: [UInt8]? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation) throws {
    let lda = lda ?? op.k, ldc = ldc ?? op.n
    let engine = try Engine(isa: isa)
    let kernel = try engine.compile(op, schedule: schedule)
    let weights = try kernel.packWeights(b)
    let aBuffer = GuardedBuffer(Array(a.prefix(try op.aSpec(m: m, lda: lda).requiredBytes)))
    let size = op.output.elementType.byteSize
    let cBuffer = GuardedBuffer(count: try op.cSpec(m: m, ldc: ldc).requiredBytes)
    cBuffer.mutableRaw.initializeMemory(as: UInt8.self, repeating: 0xA5)
    try kernel.run(a: aBuffer.raw, aRowStride: lda, weights: weights, c: cBuffer.mutableRaw, cRowStride: ldc,
                   m: op.m == nil ? m : nil)
    let reference = expected ?? ReferenceMatMul.run(op, a: a, lda: lda, b: b, m: m)
    let written = cBuffer.bytes
    var mismatches = 0
    var first: String? = nil
    for i in 0..<m {
        for byte in 0..<(op.n * size) where written[i * ldc * size + byte] != reference[i * op.n * size + byte] {
            mismatches += 1
            if first == nil { first = "row \(i) column \(byte / size)" }
        }
        if i < m - 1 {
            for byte in (op.n * size)..<(ldc * size) where written[i * ldc * size + byte] != 0xA5 {
                mismatches += 1
                if first == nil { first = "row \(i): wrote into the stride gap at byte \(byte)" }
            }
        }
    }
    #expect(mismatches == 0, "\(isa) \(kernel.schedule) M=\(m) K=\(op.k) N=\(op.n) \(op.output): \(mismatches) mismatches, first at \(first ?? "-")",
            sourceLocation: sourceLocation)
}

/// A random op of the given kind with parameters that make outputs span their range.
func randomMatMul(_ random: inout TestRandom, m: Int?, k: Int, n: Int, mode: OutputKind, perChannel: Bool,
                  aType: ElementType, bType: ElementType, zeroBZeroPoint: Bool = false) throws -> MatMul {
    func zeroPoint(_ type: ElementType) -> Int32 { Int32(random.int(Int(type.integerRange!.lowerBound)...Int(type.integerRange!.upperBound))) }
    let aQuant = QuantParams.perTensor(scale: random.float(0.001...0.1), zeroPoint: zeroPoint(aType))
    let channels = perChannel ? n : 1
    let bScales = (0..<channels).map { _ in random.float(0.001...0.1) }
    let bZeros: [Int32] = (0..<channels).map { _ in zeroBZeroPoint ? 0 : zeroPoint(bType) }
    let bQuant = perChannel ? QuantParams.perChannel(scales: bScales, zeroPoints: bZeros)
        : .perTensor(scale: bScales[0], zeroPoint: bZeros[0])
    let activations: [Activation] = [.none, .relu, .clamp(min: -1.5, max: 2.5)]
    let output: MatMulOutput
    switch mode {
    case .int32:
        output = .int32
    case .requantized:
        let type: ElementType = random.bool() ? .u8 : .s8
        // Spread accumulators over the output range: |acc| ~ 128·128·sqrt(K)/2.
        let spread = aQuant.scales[0] * bScales[0] * 128 * 128 * Float(k).squareRoot() / 200
        let bias: [Int32]? = random.bool() ? (0..<n).map { _ in Int32(random.int(-50_000...50_000)) } : nil
        output = .requantized(.init(type: type, output: .perTensor(scale: max(spread, 1e-6), zeroPoint: zeroPoint(type)),
                                    bias: bias, activation: activations[random.int(0...2)]))
    case .dequantized:
        let bias: [Float]? = random.bool() ? (0..<n).map { _ in random.float(-4...4) } : nil
        output = .dequantized(.init(bias: bias, activation: activations[random.int(0...2)]))
    }
    return try MatMul(m: m, k: k, n: n, aType: aType, bType: bType, aQuant: aQuant, bQuant: bQuant, output: output)
}

enum OutputKind: String, CaseIterable, Sendable { case int32, requantized, dequantized }
