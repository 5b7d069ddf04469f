import Foundation
import QuantForge
import QuantForgeTooling
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

    /// AMX without usable AVX-512 (a hypervisor hiding it, or the OS not saving ZMM state) is not
    /// usable: the AMX kernels' epilogues and the engine's other operators are AVX-512 VNNI code.
    @Test func amxWithoutAVX512IsUnavailableWithAReason() throws {
        let amxOnly = HostCPU(describing: .x86_64, features: [.avx2, .fma, .avxvnni, .amxTile, .amxInt8], xcr0: 0x7 | (3 << 17),
                              amxPermission: .granted)
        #expect(!amxOnly.supports(.amx))
        #expect(amxOnly.unavailabilityReason(.amx)?.contains("AVX-512") == true, "\(amxOnly.unavailabilityReason(.amx) ?? "")")
        let noZMMState = HostCPU(describing: .x86_64, features: Self.deniedAMX.features, xcr0: 0x7 | (3 << 17), amxPermission: .granted)
        #expect(noZMMState.unavailabilityReason(.amx)?.contains("ZMM") == true, "\(noZMMState.unavailabilityReason(.amx) ?? "")")
        let full = HostCPU(describing: .x86_64, features: Self.deniedAMX.features, xcr0: 0xE7 | (3 << 17), amxPermission: .granted)
        #expect(full.supports(.amx))
        #expect(Engine.bestISA(on: amxOnly) == .avxvnni)
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
        #expect(cache.refusal?.contains("/proc/quantforge-kernel-cache") == true)
        try checkKernel(op, isa: .portable, a: Array(repeating: 9, count: 5 * 77), b: Array(repeating: 7, count: 77 * 13), m: 5)
    }
}

/// JIT-linked code reaches only the few process functions generated code needs (memcpy, libm
/// helpers): an object that calls anything else — `system` here — does not link.
struct JITSymbolTests {
    static func object(calling function: String, in directory: URL) throws -> [UInt8] {
        let source = directory.appendingPathComponent("\(function).c"), object = directory.appendingPathComponent("\(function).o")
        try Data("""
            #include <string.h>
            extern int system(const char *);
            int qf_k_calls_\(function)(char *out, const char *in) {
                \(function == "system" ? "return system(in);" : "memcpy(out, in, 7); return 0;")
            }
            """.utf8).write(to: source)
        let result = try CToolchain.run("/usr/bin/env", ["cc", "-O1", "-fno-pic", "-mcmodel=large", "-fno-builtin", "-c", source.path, "-o", object.path])
        try #require(result.status == 0, "\(result.stderr)")
        return Array(try Data(contentsOf: object))
    }

    @Test func onlyTheFunctionsGeneratedCodeNeedsResolve() throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("qforge-jit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let jit = try KernelCompiler().jit
        _ = try jit.add(object: try Self.object(calling: "memcpy", in: directory), name: "memcpy")
        #expect(throws: Never.self) { _ = try jit.lookup("qf_k_calls_memcpy") }
        // Refused before linking (LLVM 17 and newer would otherwise resolve it from the process).
        #expect { _ = try jit.add(object: try Self.object(calling: "system", in: directory), name: "system") } throws: {
            "\($0)".contains("system")
        }
        #expect(throws: (any Error).self) { _ = try jit.lookup("qf_k_calls_system") }
    }
}

/// The on-disk kernel cache when its files are damaged, planted or exposed: the kernel is compiled
/// again, the bad entry is deleted and replaced, and the reason is kept; nothing but an intact entry
/// this user's QuantForge wrote reaches the JIT as machine code, and nothing is ever fatal.
struct DamagedKernelCacheTests {
    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        case flippedByte, truncated, empty, foreignFile, wellFormedEntryOfAnInvalidObject
        /// An object built by another program (gcc -fPIC: relocations LLVM 14's JIT linker aborts
        /// on) in a well-formed entry of the old format, with its unkeyed checksum: finding S2.
        case plantedObjectWithTheOldHeader
        /// The same object in an entry of the current format whose authentication code was made
        /// with another key (anyone can compute a plain hash; nobody else has the key): S1.
        case plantedEntryWithAnotherKey
        case symbolicLinkToAnEntry, groupWritableEntry, entryOwnedByAnotherUser
        var testDescription: String { rawValue }
        /// What the cache says about the entry it deleted.
        var reason: String {
            switch self {
            case .flippedByte, .plantedEntryWithAnotherKey: "authentication code does not match"
            case .truncated: "truncated or padded"
            case .empty, .foreignFile: "not a QuantForge kernel object entry"
            case .plantedObjectWithTheOldHeader: "format version 1"
            case .wellFormedEntryOfAnInvalidObject: "not an ELF file"
            case .symbolicLinkToAnEntry: "symbolic link"
            case .groupWritableEntry: "writable by other users"
            case .entryOwnedByAnotherUser: "owned by uid"
            }
        }
    }

    /// An x86-64 object compiled by gcc with -fPIC (calls through the PLT and data through the GOT).
    static func foreignObject(in directory: URL) throws -> [UInt8] {
        let source = directory.appendingPathComponent("planted.c"), object = directory.appendingPathComponent("planted.o")
        try Data("extern int puts(const char *); int qf_k_planted(void) { return puts(\"planted\"); }\n".utf8).write(to: source)
        let result = try CToolchain.run("/usr/bin/env", ["cc", "-fPIC", "-O1", "-c", source.path, "-o", object.path])
        try #require(result.status == 0, "\(result.stderr)")
        return Array(try Data(contentsOf: object))
    }

    @Test(arguments: Damage.allCases)
    func aDamagedEntryIsRecompiledAndReplaced(_ damage: Damage) throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("qforge-kcache-\(UUID().uuidString)")
        let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("qforge-kcache-scratch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(at: directory)
            try? FileManager.default.removeItem(at: scratch)
        }
        // Its own JIT, so that no other test's live kernel is shared and every compile reaches the cache.
        let compiler = try KernelCompiler()
        let cache = KernelObjectCache(directory: directory)
        #expect(cache.refusal == nil)
        compiler.objectCache = cache
        let op = try MatMul(m: 3, k: 37, n: 19, aQuant: .perTensor(scale: 0.25, zeroPoint: 3),
                            output: .requantized(.init(type: .u8, output: .perTensor(scale: 4, zeroPoint: 11))))
        let schedule = try DefaultSchedule.forMatMul(op, isa: .portable)
        try runAndCompare(compiler.compileMatMul(op, schedule: schedule), op)  // compiled, stored, then freed
        var info = stat()
        #expect(stat(directory.path, &info) == 0 && info.st_mode & 0o777 == 0o700, "the cache directory is private")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".qfko") }
        try #require(files.count == 1)
        let file = directory.appendingPathComponent(files[0])
        var bytes = Array(try Data(contentsOf: file))
        #expect(stat(file.path, &info) == 0 && info.st_mode & 0o777 == 0o600, "entries are private")
        let keyLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let key = String(decoding: bytes[20..<(20 + keyLength)], as: UTF8.self)
        #expect(key.contains("passes ") && key.contains("llvm ") && key.contains("generator ") && key.contains("ir-sha256 "))
        switch damage {
        case .flippedByte: bytes[bytes.count / 2] ^= 0x10
        case .truncated: bytes.removeLast(bytes.count / 3)
        case .empty: bytes = []
        case .foreignFile: bytes = Array("not an object".utf8)
        case .wellFormedEntryOfAnInvalidObject:
            cache.store(key, Array(repeating: 0x7f, count: 600))
            bytes = Array(try Data(contentsOf: file))
        case .plantedObjectWithTheOldHeader:
            let object = try Self.foreignObject(in: scratch)
            var hash = StableHash()
            object.withUnsafeBufferPointer { hash.combine(bytes: $0) }
            bytes = Array("QFKO".utf8)
            withUnsafeBytes(of: UInt32(1).littleEndian) { bytes += $0 }
            withUnsafeBytes(of: UInt64(object.count).littleEndian) { bytes += $0 }
            withUnsafeBytes(of: hash.value.littleEndian) { bytes += $0 }
            bytes += object
        case .plantedEntryWithAnotherKey:
            let stranger = KernelObjectCache(directory: scratch.appendingPathComponent("stranger"))
            stranger.store(key, try Self.foreignObject(in: scratch))
            bytes = Array(try Data(contentsOf: stranger.file(key)))
        case .symbolicLinkToAnEntry:
            let elsewhere = scratch.appendingPathComponent("entry")
            try Data(bytes).write(to: elsewhere)
            try FileManager.default.removeItem(at: file)
            try FileManager.default.createSymbolicLink(at: file, withDestinationURL: elsewhere)
        case .groupWritableEntry, .entryOwnedByAnotherUser:
            break
        }
        if damage != .symbolicLinkToAnEntry { try Data(bytes).write(to: file) }
        if damage == .groupWritableEntry { chmod(file.path, 0o664) }
        if damage == .entryOwnedByAnotherUser {
            try #require(geteuid() == 0, "changing a file's owner needs root (as CI runs)")
            #expect(chown(file.path, 65534, 65534) == 0)
        }

        try runAndCompare(compiler.compileMatMul(op, schedule: schedule), op)
        #expect(compiler.statistics.codegens == 2 && compiler.statistics.diskHits == 0)
        #expect(cache.lastDiscard?.contains("discarded \(file.path)") == true, "\(cache.lastDiscard ?? "nothing discarded")")
        #expect(cache.lastDiscard?.contains(damage.reason) == true, "\(cache.lastDiscard ?? "nothing discarded")")
        #expect(cache.lastError == nil)
        // The entry was written again, and the next compile takes it from the disk.
        try runAndCompare(compiler.compileMatMul(op, schedule: schedule), op)
        #expect(compiler.statistics.codegens == 2 && compiler.statistics.diskHits == 1)
    }

    /// A cache directory others can write (or that another user owns) is refused: a warning,
    /// nothing read from it or written to it, kernels compiled as without a cache.
    @Test(arguments: ["world-writable", "group-writable", "another owner", "under a world-writable parent"])
    func anUnsafeCacheDirectoryIsRefused(_ how: String) throws {
        let base = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("qforge-kcache-unsafe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        var directory = base
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        switch how {
        case "world-writable": chmod(base.path, 0o777)
        case "group-writable": chmod(base.path, 0o770)
        case "another owner":
            try #require(geteuid() == 0, "changing a directory's owner needs root (as CI runs)")
            chown(base.path, 65534, 65534)
        default:
            chmod(base.path, 0o777)
            directory = base.appendingPathComponent("cache")
        }
        let cache = KernelObjectCache(directory: directory)
        #expect(cache.refusal != nil)
        let compiler = try KernelCompiler()
        compiler.objectCache = cache
        let op = try MatMul(m: 2, k: 29, n: 11)
        _ = try compiler.compileMatMul(op, schedule: DefaultSchedule.forMatMul(op, isa: .portable))
        let contents = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(contents.isEmpty, "wrote \(contents) into a refused cache")
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
