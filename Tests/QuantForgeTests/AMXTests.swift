import Foundation
import QuantCodegen
import QuantForge
import Testing

/// AMX without AMX hardware: with `QFORGE_AMX_EMULATION=1` (CI's emulated run) or on an AMX CPU,
/// the tile microkernels are bit-exact on tails in every dimension, all four signedness pairs,
/// every output mode and a small schedule space; everywhere, the AOT objects hold the real tile
/// instructions, and the self-check catches injected faults.
struct AMXTests {
    static let amxRuns = HostCPU.current.supports(.amx)
    /// The host can emulate AMX (for the subprocess tests that switch the emulation on).
    static let canEmulate = HostCPU(describing: .x86_64, features: HostCPU.current.features, xcr0: HostCPU.current.xcr0,
                                    amxPermission: .granted, amxEmulation: true).supports(.amx)

    struct Pair: CustomTestStringConvertible, Sendable {
        let aType: ElementType
        let bType: ElementType
        var testDescription: String { "A \(aType) B \(bType)" }
    }

    static let pairs = [ElementType.u8, .s8].flatMap { a in [ElementType.u8, .s8].map { Pair(aType: a, bType: $0) } }

    @Test(.enabled(if: amxRuns), arguments: pairs)
    func tailsInEveryDimensionAreBitExact(_ pair: Pair) throws {
        var random = TestRandom(seed: 1700 &+ UInt64(pair.testDescription.utf8.count) &* 31 &+ (pair.aType == .s8 ? 7 : 0))
        let ms = [1, 3, 15, 16, 17, 31, 32, 33, 47, 50, 70], ks = [1, 4, 63, 64, 65, 128, 130, 201], ns = [1, 15, 16, 17, 33, 48]
        for trial in 0..<14 {
            let m = ms[trial % ms.count], k = ks[(trial * 3) % ks.count], n = ns[(trial * 5) % ns.count]
            let mode = OutputKind.allCases[trial % 3]
            let op = try randomMatMul(&random, m: trial % 2 == 0 ? nil : m, k: k, n: n, mode: mode, perChannel: trial % 4 < 2,
                                      aType: pair.aType, bType: pair.bType, zeroBZeroPoint: trial % 5 == 0)
            let lda = k + (trial % 3 == 1 ? 5 : 0), ldc = n + (trial % 3 == 2 ? 3 : 0)
            var a = random.bytes((m - 1) * lda + k), b = random.bytes(k * n)
            if trial % 7 == 3 { a = a.map { _ in pair.aType == .u8 ? 255 : 0x80 }; b = b.map { _ in 0x80 } }  // the extremes
            let expected = ReferenceMatMul.run(op, a: a, lda: lda, b: b, m: m)
            try checkKernel(op, isa: .amx, a: a, lda: lda, b: b, m: m, ldc: ldc, expected: expected)
        }
    }

    /// Every schedule of a small tile space: MR of a partial tile or 1–3 row tiles, 1–3 column
    /// tiles, K unrolls, row and panel blocks, both loop orders; with and without row sums.
    @Test(.enabled(if: amxRuns), arguments: [false, true])
    func everyScheduleOfASmallTileSpaceIsExact(_ rowSums: Bool) throws {
        var random = TestRandom(seed: rowSums ? 91 : 92)
        let op = try randomMatMul(&random, m: nil, k: 130, n: 40, mode: .requantized, perChannel: true, aType: .u8,
                                  bType: rowSums ? .u8 : .s8, zeroBZeroPoint: !rowSums)
        let space = ScheduleSpace(rowsPerTile: [5, 16, 32, 48], vectorsPerRow: [1, 2, 3], kUnrolls: [1, 2], rowBlockTiles: [1, 2],
                                  panelBlocks: [1, 1 << 20])
        let schedules = try space.schedules(for: op, isa: .amx)
        #expect(schedules.count >= (rowSums ? 24 : 40), "\(schedules.count) schedules")
        let m = 53
        let a = random.bytes(m * op.k), b = random.bytes(op.k * op.n)
        let expected = ReferenceMatMul.run(op, a: a, b: b, m: m)
        for schedule in schedules {
            try checkKernel(op, isa: .amx, a: a, b: b, m: m, schedule: schedule, expected: expected)
        }
    }

    /// The tuner measures tiles against vectors per shape: emulated tiles (~20× slower than VNNI
    /// here) lose, and an engine whose ISA is AMX compiles the tuned VNNI schedule for that shape.
    @Test(.enabled(if: amxRuns && HostCPU.current.amxEmulation))
    func theTunerChoosesPerShapeAndTheEngineKeepsTheChoice() throws {
        let database = try TuningDatabase(path: TuningTests.temporaryDatabasePath())
        let op = try OperatorPreset.u8s8s32.matMul(m: 32, k: 256, n: 256)
        let result = try Autotuner(database: database, isas: [.amx, .avx512vnni]).tune(op, budget: .trials(4))
        #expect(result.defaultSchedule.isa == .amx)
        #expect(result.best.isa == .avx512vnni, "\(result.best) \(result.bestMicroseconds) µs, default \(result.defaultMicroseconds) µs")
        let engine = try Engine(database: database)
        #expect(engine.isa == .amx)
        let kernel = try engine.compile(op)
        #expect(kernel.schedule == result.best && kernel.scheduleSource == .tuned)
    }

    @Test(.enabled(if: amxRuns))
    func selfCheckPassesAndCatchesInjectedFaults() {
        #expect(AMXSelfCheck.run() == nil)
        #expect(AMXSelfCheck.run(fault: .mismatch)?.contains("differs from the reference") == true)
        #expect(AMXSelfCheck.run(fault: .sigill)?.contains("SIGILL") == true)
    }

    /// The engine's reaction, in a fresh process each: a passing check keeps AMX, an injected
    /// mismatch or SIGILL and a denied permission fall back to AVX-512 VNNI with the reason.
    @Test(.enabled(if: canEmulate))
    func faultsFallBackToVNNIWithTheirReason() throws {
        let cases: [(environment: [String: String], expected: String, reason: String?)] = [
            ([:], "default isa: amx", nil),
            (["QFORGE_AMX_FAULT": "mismatch"], "default isa: avx512vnni", "output differs from the reference"),
            (["QFORGE_AMX_FAULT": "sigill"], "default isa: avx512vnni", "raised SIGILL"),
            (["QFORGE_DENY_AMX": "1"], "default isa: avx512vnni", "AMX permission denied"),
        ]
        for (environment, expected, reason) in cases {
            let run = try DataSafetyTests.qforge(["info"], environment: environment.merging(["QFORGE_AMX_EMULATION": "1"]) { a, _ in a })
            #expect(run.status == 0, "\(environment): \(run.output)")
            #expect(run.stdout.contains(expected), "\(environment): \(run.output)")
            if let reason {
                #expect(run.stdout.contains("fallback: amx not used") && run.output.contains(reason), "\(environment): \(run.output)")
                #expect(run.stderr.components(separatedBy: "amx not used").count == 2, "one logged reason: \(run.stderr)")
            }
        }
        // A forced AMX that fails its self-check is an error, not a silent fallback.
        let forced = try DataSafetyTests.qforge(["bench", "--isa", "amx", "--shapes", "16x64x16"],
                                                environment: ["QFORGE_AMX_EMULATION": "1", "QFORGE_AMX_FAULT": "mismatch"])
        #expect(forced.status != 0 && forced.output.contains("self-check"), "\(forced.output)")
    }

    /// AOT objects for an AMX target hold the tile instructions, one `tdpb*d` per signedness pair,
    /// the palette (16 rows × 64 bytes per tile), and no emulation; an emulated target's object the
    /// reverse.
    @Test func aotObjectsDisassembleToTileInstructions() throws {
        let amxTarget = CodegenTarget(triple: "x86_64-unknown-linux-gnu", cpu: "sapphirerapids",
                                      features: "+avx512f,+avx512bw,+avx512dq,+avx512vnni,+amx-tile,+amx-int8")
        let emulated = CodegenTarget(triple: "x86_64-unknown-linux-gnu", cpu: "x86-64-v4", features: "+avx512f,+avx512bw,+avx512dq,+avx512vnni",
                                     emulatesAMX: true)
        for (pair, mnemonic) in zip(Self.pairs, ["tdpbuud", "tdpbusd", "tdpbsud", "tdpbssd"]) {
            let op = try MatMul(m: nil, k: 200, n: 40, aType: pair.aType, bType: pair.bType,
                                bQuant: .perTensor(scale: 1, zeroPoint: pair.bType == .u8 ? 128 : 0),
                                output: .requantized(.init(type: .u8, output: .perTensor(scale: 50, zeroPoint: 3))))
            let schedule = try DefaultSchedule.forMatMul(op, isa: .amx)
            let request = AOTRequest(symbol: "amx_kernel", op: op, schedule: schedule)
            let real = try AOTCompiler.compileLibrary([request], target: amxTarget)
            let listing = try disassemble(real.object)
            for instruction in ["ldtilecfg", "sttilecfg", "tilezero", "tileloadd", mnemonic, "tilestored"] {
                #expect(listing.contains("\t\(instruction)"), "\(pair.testDescription): no \(instruction)")
            }
            // Row sums (u8 B, zero point 128) use the tile of ones with an unsigned B operand.
            if pair.bType == .u8 { #expect(listing.contains(pair.aType == .u8 ? "\ttdpbuud" : "\ttdpbsud")) }
            // The block's tiles (C, A, B, row sums, ones) are tmm0 up to the schedule's tile count.
            let tiles = schedule.tilePressure(rowSums: pair.bType == .u8, tileRows: 16)
            #expect(listing.contains("%tmm\(tiles - 1)") && !listing.contains("%tmm\(tiles)"), "\(schedule): \(tiles) tiles")
            #expect(!listing.contains("qf.amx.emulated"), "the real object calls no emulation")
            #expect(real.object.firstRange(of: AMXPalette.bytes) != nil, "the palette is in the object")
            let fake = try AOTCompiler.compileLibrary([request], target: emulated)
            let fakeListing = try disassemble(fake.object)
            #expect(!fakeListing.contains("%tmm") && !fakeListing.contains("\tldtilecfg") && !fakeListing.contains("\tsttilecfg"))
            #expect(fakeListing.contains("vpmulld") || fakeListing.contains("vpmaddwd") || fakeListing.contains("vpdpbusd"))
        }
        // Without emulation, a target without AMX cannot take an AMX kernel.
        let op = try MatMul(m: nil, k: 64, n: 16)
        let plain = CodegenTarget(triple: "x86_64-unknown-linux-gnu", cpu: "x86-64-v4", features: "+avx512f,+avx512bw,+avx512dq,+avx512vnni")
        #expect(throws: QuantError.self) {
            try AOTCompiler.compileLibrary([AOTRequest(symbol: "k", op: op, schedule: try DefaultSchedule.forMatMul(op, isa: .amx))], target: plain)
        }
    }

    /// An AMX kernel's epilogue runs on AVX-512 like the VNNI kernel's: GELU's coefficient table
    /// is a `vpermi2ps` and its clamp a `vrangeps`, not a per-lane loop (the epilogue once took
    /// the portable forms for the `amx` ISA: six times the code, a table lookup per lane).
    @Test func amxEpiloguesUseTheAVX512Forms() throws {
        let op = try MatMul(m: nil, k: 256, n: 64, bQuant: .perTensor(scale: 0.01),
                            output: .chain(EpilogueChain([.bias([0.5]), .activation(.gelu)],
                                                         output: .requantize(type: .u8, quant: .perTensor(scale: 0.05, zeroPoint: 3)))))
        let target = CodegenTarget(triple: "x86_64-unknown-linux-gnu", cpu: "sapphirerapids",
                                   features: "+avx512f,+avx512bw,+avx512dq,+avx512vnni,+amx-tile,+amx-int8")
        for isa in [ISA.amx, .avx512vnni] {
            let request = AOTRequest(symbol: "gelu_kernel", op: op, schedule: try DefaultSchedule.forMatMul(op, isa: isa))
            let listing = try disassemble(try AOTCompiler.compileLibrary([request], target: target).object)
            #expect(listing.contains("\tvpermi2ps") && listing.contains("\tvrangeps"), "\(isa): the epilogue's GELU is not the AVX-512 form")
            #expect(isa != .amx || listing.contains("\ttdpbusd"))
        }
    }

    /// `qforge amx-checker` links one static program; its emulated variant passes here, and the
    /// real one runs where AMX is (elsewhere it says why not, exit 2).
    @Test(.enabled(if: canEmulate))
    func standaloneCheckerBuildsAndItsEmulatedVariantPasses() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-amx-checker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: directory) }
        for emulated in [true, false] {
            let out = directory.appendingPathComponent(emulated ? "emulated" : "real")
            let build = try DataSafetyTests.qforge(["amx-checker", "--out", out.path, "--shapes", "19x83x37,50x200x40,128x768x768"]
                                                   + (emulated ? ["--emulated"] : []))
            try #require(build.status == 0, "\(build.output)")
            let program = out.appendingPathComponent("amx_checker").path
            #expect(FileManager.default.isExecutableFile(atPath: program))
            for file in ["amx_checker.c", "amx_checker_kernels.o", "amx_checker_peak.o"] {
                #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path))
            }
            let run = try CToolchain.run(program, ["--check-only"], environment: ["LC_ALL": "C"])
            if emulated || HostCPU(describing: .x86_64, features: HostCPU.current.features, xcr0: HostCPU.current.xcr0,
                                   amxPermission: .granted).supports(.amx) {
                #expect(run.status == 0 && run.stdout.contains("all shapes bit-exact") && !run.stdout.contains("MISMATCH"), "\(run.stdout)")
                #expect(run.stdout.components(separatedBy: "bit-exact").count == 5, "\(run.stdout)")
            } else {
                #expect(run.status == 2 && run.stdout.contains("AMX unusable here"), "\(run.stdout)")
            }
        }
        let timed = try CToolchain.run(directory.appendingPathComponent("emulated/amx_checker").path, ["--rounds", "1"])
        #expect(timed.status == 0 && timed.stdout.contains("AMX peak now") && timed.stdout.contains("AMX/VNNI"), "\(timed.stdout)")
    }

    private func disassemble(_ object: [UInt8]) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-amx-\(UUID().uuidString).o")
        try Data(object).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try CToolchain.run("/usr/bin/objdump", ["-d", "--no-show-raw-insn", file.path])
        try #require(outcome.status == 0, "objdump: \(outcome.stderr)")
        return outcome.stdout
    }
}
