import QuantForge
import Testing

/// Bad calls are refused before any kernel runs: a typed error, never a crash.
struct MatMulRunErrorTests {
    let op: MatMul
    let kernel: MatMulKernel
    let weights: PackedWeights

    init() throws {
        op = try MatMul(m: nil, k: 10, n: 7, aType: .u8, bType: .s8)
        kernel = try Engine(isa: isasUnderTest.first!).compile(op)
        weights = try kernel.packWeights([UInt8](repeating: 1, count: 70))
    }

    func run(a: Int, c: Int, lda: Int? = nil, ldc: Int? = nil, m: Int?, weights: PackedWeights? = nil) throws(QuantError) {
        let aBytes = [UInt8](repeating: 1, count: a)
        var cBytes = [UInt8](repeating: 0, count: c)
        do {
            try aBytes.withUnsafeBytes { aBuffer in
                try cBytes.withUnsafeMutableBytes { cBuffer in
                    try kernel.run(a: aBuffer, aRowStride: lda, weights: weights ?? self.weights, c: cBuffer, cRowStride: ldc, m: m)
                }
            }
        } catch let error as QuantError { throw error } catch { Issue.record("untyped error \(error)") }
    }

    @Test func bufferSizes() throws {
        try run(a: 30, c: 3 * 7 * 4, m: 3)
        #expect(throws: QuantError.bufferTooSmall(field: "A", requiredBytes: 30, actualBytes: 29)) { try run(a: 29, c: 84, m: 3) }
        #expect(throws: QuantError.bufferTooSmall(field: "C", requiredBytes: 84, actualBytes: 83)) { try run(a: 30, c: 83, m: 3) }
        #expect(throws: QuantError.bufferTooSmall(field: "A", requiredBytes: 46, actualBytes: 30)) { try run(a: 30, c: 84, lda: 18, m: 3) }
        #expect(throws: QuantError.bufferTooSmall(field: "B", requiredBytes: 70, actualBytes: 69)) {
            _ = try kernel.packWeights([UInt8](repeating: 0, count: 69))
        }
    }

    @Test func strides() {
        #expect(throws: QuantError.invalidStride(field: "A", stride: 9, minimum: 10)) { try run(a: 100, c: 100, lda: 9, m: 3) }
        #expect(throws: QuantError.invalidStride(field: "C", stride: 6, minimum: 7)) { try run(a: 100, c: 100, ldc: 6, m: 3) }
        #expect(throws: QuantError.invalidStride(field: "B", stride: 6, minimum: 7)) {
            _ = try kernel.packWeights([UInt8](repeating: 0, count: 700), rowStride: 6)
        }
    }

    @Test func missingOrBadM() {
        #expect(throws: QuantError.invalidShape(field: "M", reason: "M is dynamic for this kernel and must be given per call")) {
            try run(a: 100, c: 1000, m: nil)
        }
        #expect(throws: QuantError.self) { try run(a: 100, c: 1000, m: 0) }
        #expect(throws: QuantError.self) { try run(a: 100, c: 1000, m: -4) }
    }

    @Test func weightsPackedForAnotherKernel() throws {
        let other = try Engine(isa: .portable).compile(try MatMul(m: nil, k: 10, n: 7, aType: .u8, bType: .s8,
                                                                  aQuant: .perTensor(scale: 1, zeroPoint: 3)))
        let foreign = try other.packWeights([UInt8](repeating: 1, count: 70))
        #expect(throws: QuantError.self) { try run(a: 30, c: 84, m: 3, weights: foreign) }
    }

    @Test func unsupportedInstructionSets() throws {
        let host = HostCPU.current
        for isa in ISA.allCases where !host.supports(isa) {
            #expect(throws: QuantError.self, "\(isa)") { _ = try Engine(isa: isa) }
        }
        #expect(throws: QuantError.unsupportedISA(requested: "sse9", reason: "unknown name; known: \(ISA.allCases.map(\.rawValue).joined(separator: ", "))")) {
            _ = try ISA.parse("sse9")
        }
    }

    @Test func invalidSchedules() throws {
        let engine = try Engine(isa: .portable)
        #expect(throws: QuantError.invalidSchedule(constraint: "rowsPerTile (MR) = 0 must be in 1...16")) {
            _ = try engine.compile(op, schedule: MatMulSchedule(isa: .portable, rowsPerTile: 0, vectorsPerRow: 1, kUnroll: 1))
        }
        #expect(throws: QuantError.self) {
            _ = try engine.compile(op, schedule: MatMulSchedule(isa: .portable, rowsPerTile: 16, vectorsPerRow: 8, kUnroll: 1))
        }
    }
}
