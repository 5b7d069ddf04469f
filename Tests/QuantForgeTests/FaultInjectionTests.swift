import Foundation
import QuantForge
import Testing

/// What happens when things fail underneath: each fault gives a fallback or a typed error, never a
/// crash.
struct FaultInjectionTests {
    /// An AMX CPU (features and OS tile state present) whose permission request failed, as
    /// `QFORGE_DENY_AMX=1` makes it fail.
    static let deniedAMX = HostCPU(describing: .x86_64,
                                   features: [.avx2, .fma, .avxvnni, .avx512f, .avx512bw, .avx512dq, .avx512vl, .avx512vnni, .amxTile, .amxInt8],
                                   xcr0: 0xE7 | (3 << 17), amxPermission: .denied(reason: "QFORGE_DENY_AMX=1 (simulated refusal)"))

    @Test func amxPermissionDeniedFallsBackToVNNIWithAReason() throws {
        let engine = try Engine(host: Self.deniedAMX)
        #expect(engine.isa == .avx512vnni)
        #expect(engine.isaFallbackReasons[.amx]?.contains("permission denied") == true)
        // The fallback engine works (this machine runs AVX-512 VNNI).
        if HostCPU.current.supports(.avx512vnni) {
            let op = try MatMul(m: 3, k: 20, n: 17)
            try checkKernel(op, isa: engine.isa, a: Array(repeating: 3, count: 60), b: Array(repeating: 250, count: 340), m: 3)
        }
        // Asking for AMX there is a typed error naming the cause.
        #expect(throws: QuantError.self) { try Engine(isa: .amx, host: Self.deniedAMX) }
        do { _ = try Engine(isa: .amx, host: Self.deniedAMX) } catch { #expect("\(error)".contains("permission denied")) }
    }

    @Test func anISATheCPULacksIsATypedError() throws {
        let noAVX512 = HostCPU(describing: .x86_64, features: [.avx2, .fma], xcr0: 0x7, amxPermission: .notApplicable)
        #expect(Engine.bestISA(on: noAVX512) == .avx2)
        for isa in [ISA.avx512vnni, .avxvnni, .amx, .neondot, .i8mm] {
            #expect(throws: QuantError.self) { try Engine(isa: isa, host: noAVX512) }
        }
        // On this machine: AArch64 instruction sets are refused before LLVM sees them.
        #expect(throws: QuantError.self) { try Engine(isa: .neondot) }
        #expect(throws: QuantError.self) { try KernelCompiler.shared().compileMatMul(try MatMul(m: 1, k: 8, n: 8),
                                                                                     schedule: DefaultSchedule.forMatMul(try MatMul(m: 1, k: 8, n: 8), isa: .neondot)) }
    }

    @Test func llvmFailingOnACandidateIsRecordedAndTheTunerMovesOn() throws {
        let database = try TuningDatabase(path: TuningTests.temporaryDatabasePath())
        let op = try OperatorPreset.u8s8s32.matMul(m: 8, k: 48, n: 32)
        // Every schedule with kUnroll 4 (the default heuristic's too) fails to compile, as LLVM failing would.
        let tuner = Autotuner(database: database, isas: [.portable]) { op, schedule, b, pool in
            if schedule.kUnroll == 4 { throw QuantError.compilationFailed(stage: "codegen", message: "injected failure") }
            return try Autotuner.compileCandidate(op, schedule, b, pool)
        }
        let result = try tuner.tune(op, budget: .trials(40))
        #expect(result.best.kUnroll != 4 && result.invalid > 0)
        let invalid = try database.measurements(result.key).filter { $0.value == nil }
        #expect(!invalid.isEmpty && invalid.keys.allSatisfy { $0.contains("ku4") })
    }

    @Test func anUnwritableKernelCacheMeansNoDiskCacheNotAFailure() throws {
        let compiler = try KernelCompiler.shared()
        let cache = KernelObjectCache(directory: URL(fileURLWithPath: "/proc/quantforge-kernel-cache"))  // cannot be created, even by root
        let previous = compiler.objectCache
        compiler.objectCache = cache
        defer { compiler.objectCache = previous }
        // A kernel no other test compiles (odd sizes), so that it goes through codegen and the cache.
        let op = try MatMul(m: 5, k: 77, n: 13, aQuant: .perTensor(scale: 0.5, zeroPoint: 77))
        let kernel = try compiler.compileMatMul(op, schedule: DefaultSchedule.forMatMul(op, isa: .portable))
        #expect(kernel.code.bytes > 0)
        #expect(cache.lastError?.contains("/proc/quantforge-kernel-cache") == true)
        try checkKernel(op, isa: .portable, a: Array(repeating: 9, count: 5 * 77), b: Array(repeating: 7, count: 77 * 13), m: 5)
    }
}

/// The on-disk kernel cache when its files are damaged: the kernel is compiled again, the bad entry
/// is replaced, and the reason is kept; a damaged object never reaches the JIT as machine code.
struct DamagedKernelCacheTests {
    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        case flippedByte, truncated, empty, foreignFile, wellFormedEntryOfAnInvalidObject
        var testDescription: String { rawValue }
        /// What the cache says about the entry it deleted.
        var reason: String {
            switch self {
            case .flippedByte: "checksum mismatch"
            case .truncated: "truncated"
            case .empty, .foreignFile: "not a QuantForge kernel object"
            case .wellFormedEntryOfAnInvalidObject: "LLVM could not link it"
            }
        }
    }

    @Test(arguments: Damage.allCases)
    func aDamagedEntryIsRecompiledAndReplaced(_ damage: Damage) throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("qforge-kcache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Its own JIT, so that no other test's live kernel is shared and every compile reaches the cache.
        let compiler = try KernelCompiler()
        let cache = KernelObjectCache(directory: directory)
        compiler.objectCache = cache
        let op = try MatMul(m: 3, k: 37, n: 19, aQuant: .perTensor(scale: 0.25, zeroPoint: 3),
                            output: .requantized(.init(type: .u8, output: .perTensor(scale: 4, zeroPoint: 11))))
        let schedule = try DefaultSchedule.forMatMul(op, isa: .portable)
        try runAndCompare(compiler.compileMatMul(op, schedule: schedule), op)  // compiled, stored, then freed
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".o") }
        try #require(files.count == 1)
        let file = directory.appendingPathComponent(files[0])
        let key = String(files[0].dropLast(2))
        var bytes = Array(try Data(contentsOf: file))
        switch damage {
        case .flippedByte: bytes[bytes.count / 2] ^= 0x10
        case .truncated: bytes.removeLast(bytes.count / 3)
        case .empty: bytes = []
        case .foreignFile: bytes = Array("not an object".utf8)
        case .wellFormedEntryOfAnInvalidObject:
            cache.store(key, Array(repeating: 0x7f, count: 600))
            bytes = Array(try Data(contentsOf: file))
        }
        try Data(bytes).write(to: file)

        try runAndCompare(compiler.compileMatMul(op, schedule: schedule), op)
        #expect(compiler.statistics.codegens == 2 && compiler.statistics.diskHits == 0)
        #expect(cache.lastDiscard?.contains("discarded \(file.path)") == true, "\(cache.lastDiscard ?? "nothing discarded")")
        #expect(cache.lastDiscard?.contains(damage.reason) == true)
        #expect(cache.lastError == nil)
        // The entry was written again, and the next compile takes it from the disk.
        try runAndCompare(compiler.compileMatMul(op, schedule: schedule), op)
        #expect(compiler.statistics.codegens == 2 && compiler.statistics.diskHits == 1)
    }

    private func runAndCompare(_ kernel: CompiledMatMulKernel, _ op: MatMul) throws {
        var random = TestRandom(seed: 41)
        let m = op.m ?? 3
        let a = random.bytes(m * op.k), b = random.bytes(op.k * op.n)
        let weights = try b.withUnsafeBytes { try kernel.packWeights($0) }
        var c = [UInt8](repeating: 0, count: m * op.n)
        try a.withUnsafeBytes { aBuffer in
            try c.withUnsafeMutableBytes { try kernel.run(a: aBuffer, weights: weights, c: $0) }
        }
        #expect(c == ReferenceMatMul.run(op, a: a, lda: op.k, b: b, m: m))
    }
}
