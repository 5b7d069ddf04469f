import Foundation
import QuantForge
import Testing

/// The kernel cache (bounded, evicting, freeing code) and the dispatcher for varying M.
struct DispatchTests {
    @Test func evictionIsBoundedAndFreesMachineCode() throws {
        let compiler = try KernelCompiler.shared()
        let cache = KernelCache(capacityBytes: 1)  // room for one kernel: each new one evicts the last
        let freedBefore = compiler.statistics.freed
        var random = TestRandom(seed: 31)
        let held = try MatMul(m: nil, k: 40 + 0, n: 21, aType: .s8, bType: .u8)
        let heldKernel = try cache.kernel(held, try DefaultSchedule.forMatMul(held, isa: .portable)) { () throws(QuantError) in
            try compiler.compileMatMul(held, schedule: try DefaultSchedule.forMatMul(held, isa: .portable))
        }
        for n in [23, 25, 27] {
            let op = try MatMul(m: nil, k: 40, n: n, aType: .s8, bType: .u8)
            let schedule = try DefaultSchedule.forMatMul(op, isa: .portable)
            _ = try cache.kernel(op, schedule) { () throws(QuantError) in try compiler.compileMatMul(op, schedule: schedule) }
        }
        let statistics = cache.statistics
        #expect(statistics.evictions == 3 && statistics.entries == 1 && statistics.misses == 4)
        // The evicted kernels nobody holds were freed; the one still held keeps working.
        #expect(compiler.statistics.freed >= freedBefore + 2)
        let a = random.bytes(5 * 40), b = random.bytes(40 * 21)
        var c = [UInt8](repeating: 0, count: 5 * 21 * 4)
        let weights = try b.withUnsafeBytes { try heldKernel.packWeights($0) }
        try a.withUnsafeBytes { aBytes in
            try c.withUnsafeMutableBytes { try heldKernel.run(a: aBytes, weights: weights, c: $0, m: 5) }
        }
        #expect(c == ReferenceMatMul.run(held, a: a, b: b, m: 5))
    }

    @Test func compilingTheSameOpAgainHitsTheCache() throws {
        let engine = try Engine(isa: isasUnderTest.last!)
        let op = try MatMul(m: nil, k: 33, n: 65)
        let first = try engine.compile(op), second = try engine.compile(op)
        #expect(first.compiled === second.compiled)
        #expect(engine.kernelCache.statistics.hits == 1 && engine.kernelCache.statistics.misses == 1)
    }

    /// Every operator's kernel goes through the engine's cache, not only matmuls.
    @Test func operatorKernelsHitTheCacheToo() throws {
        let engine = try Engine(isa: isasUnderTest.last!)
        let op = try DynamicQuantizeLinear(rows: 3, columns: 40, perRow: true)
        let first = try engine.compile(op), second = try engine.compile(op)
        #expect(first.compiled === second.compiled)
        #expect(engine.kernelCache.statistics.hits == 1 && engine.kernelCache.statistics.misses == 1)
        // The dynamic linear's parameter kernel is the same kernel, cached once more under its own key.
        _ = try engine.compileDynamicLinear(try MatMul(m: nil, k: 40, n: 16, aType: .f32, output: .dequantized(Dequantization()),
                                                       aQuantMode: .perRowAtRunTime))
        #expect(engine.kernelCache.statistics.entries == 3)
    }

    @Test func varyingMIsExactWithoutNewCompiles() throws {
        for isa in isasUnderTest {
            var random = TestRandom(seed: 17)
            let engine = try Engine(isa: isa)
            let op = try randomMatMul(&random, m: nil, k: 70, n: 50, mode: .requantized, perChannel: true, aType: .u8, bType: .s8)
            let b = random.bytes(70 * 50)
            let dispatcher = try b.withUnsafeBytes { try MatMulDispatcher(engine: engine, op: op, b: $0) }
            let ms = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 100]
            func runAll() throws {
                for m in ms {
                    let a = random.bytes(m * 70)
                    var c = [UInt8](repeating: 0, count: m * 50)
                    try a.withUnsafeBytes { aBytes in try c.withUnsafeMutableBytes { try dispatcher.run(a: aBytes, c: $0, m: m) } }
                    #expect(c == ReferenceMatMul.run(op, a: a, b: b, m: m), "\(isa) M=\(m)")
                }
            }
            try runAll()
            let misses = engine.kernelCache.statistics.misses
            try runAll()
            #expect(engine.kernelCache.statistics.misses == misses, "\(isa): a repeated M compiled again")
            #expect(misses <= 8)  // one per bucket at most: 1, 2, 4, 8, 16, 32, 64, 128
        }
    }

    @Test func bucketsUseTunedSchedules() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-dispatch-\(UUID().uuidString).sqlite").path
        let database = try TuningDatabase(path: path)
        let isa = isasUnderTest.last!
        let engine = try Engine(isa: isa, database: database)
        let op = try OperatorPreset.u8s8s32.matMul(m: nil, k: 64, n: 48)
        let tuned = MatMulSchedule(isa: isa, rowsPerTile: 2, vectorsPerRow: 1, kUnroll: 2, rowBlock: 4, panelBlock: 1, loopOrder: .rowsOuter)
        let key = TuningKey(op: try op.with(m: 16), m: 16, threads: 1, generator: generatorVersion)
        try database.save(TuningRecord(key: key, best: tuned.description, bestMicroseconds: 1, trials: 1))
        let dispatcher = try [UInt8](repeating: 3, count: 64 * 48).withUnsafeBytes { try MatMulDispatcher(engine: engine, op: op, b: $0) }
        #expect(try dispatcher.kernel(forRows: 13).schedule == tuned)   // bucket of 16
        #expect(try dispatcher.kernel(forRows: 16).schedule == tuned)
        #expect(try dispatcher.kernel(forRows: 40).schedule != tuned)   // bucket of 64: untuned, default
        #expect(throws: QuantError.self) { try dispatcher.run(a: UnsafeRawBufferPointer(start: nil, count: 0), c: UnsafeMutableRawBufferPointer(start: nil, count: 0), m: 0) }
    }
}
