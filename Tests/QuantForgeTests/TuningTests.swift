import Foundation
import QuantForge
import QuantForgeTooling
import Testing

/// The autotuner, the tuning database and dispatch of tuned schedules.
struct TuningTests {
    static func temporaryDatabasePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("qforge-tuning-\(UUID().uuidString).sqlite").path
    }

    @Test func aSmallBudgetFindsAValidScheduleAndRecordsIt() throws {
        let database = try TuningDatabase(path: Self.temporaryDatabasePath())
        let op = try OperatorPreset.u8s8u8_requant.matMul(m: 24, k: 96, n: 80)
        let tuner = Autotuner(database: database, isas: isasUnderTest)
        var reports = 0
        let result = try tuner.tune(op, budget: .trials(8)) { _ in reports += 1 }
        #expect(result.trials >= 8 && reports > 0)
        #expect(result.bestMicroseconds > 0 && result.bestMicroseconds <= result.defaultMicroseconds * 1.5)
        let record = try #require(try database.lookup(result.key))
        #expect(record.best == result.best.description)
        // The winner really computes the operator.
        var random = TestRandom(seed: 8)
        let a = random.bytes(24 * 96), b = random.bytes(96 * 80)
        try checkKernel(op, isa: result.best.isa, a: a, b: b, m: 24, schedule: result.best)
    }

    @Test func aBrokenCandidateIsNeverChosen() throws {
        let database = try TuningDatabase(path: Self.temporaryDatabasePath())
        let op = try OperatorPreset.u8s8s32.matMul(m: 16, k: 64, n: 64)
        // Every schedule with kUnroll 1 "computes" nothing: the fastest candidate there is, and wrong.
        let tuner = Autotuner(database: database, isas: [.portable, isasUnderTest.last!]) { op, schedule, b, pool in
            if schedule.kUnroll == 1 { return Autotuner.Candidate { _, _, _ in } }
            return try Autotuner.compileCandidate(op, schedule, b, pool)
        }
        let result = try tuner.tune(op, budget: .trials(60))
        #expect(result.best.kUnroll != 1)
        #expect(result.runnerUp.map { $0.kUnroll != 1 } ?? true)
        let invalid = try database.measurements(result.key).filter { $0.value == nil }
        #expect(!invalid.isEmpty && invalid.keys.allSatisfy { $0.contains("ku1") })
    }

    @Test func aStoppedRunResumesWithoutMeasuringTwice() throws {
        let path = Self.temporaryDatabasePath()
        let op = try OperatorPreset.s8s8s32.matMul(m: 8, k: 40, n: 32)
        let first = try Autotuner(database: try TuningDatabase(path: path), isas: isasUnderTest).tune(op, budget: .trials(5))
        let second = try Autotuner(database: try TuningDatabase(path: path), isas: isasUnderTest).tune(op, budget: .trials(10))
        #expect(second.resumedMeasurements >= first.trials)
        #expect(try TuningDatabase(path: path).measurements(first.key).count >= first.trials + second.trials)
    }

    func record(_ m: Int, best: String, _ time: Double, runnerUp: String? = nil, _ runnerUpTime: Double? = nil) -> TuningRecord {
        let key = TuningKey(operation: "matmul test", m: m, k: 64, n: 64, cpu: "cpu", features: "f", llvmMajor: 14,
                            generator: generatorVersion, threads: 1)
        return TuningRecord(key: key, best: best, bestMicroseconds: time, runnerUp: runnerUp, runnerUpMicroseconds: runnerUpTime,
                            defaultMicroseconds: 10, trials: 3)
    }

    @Test func recordsMergeWithoutLosingAnything() throws {
        let database = try TuningDatabase(path: Self.temporaryDatabasePath())
        try database.save(record(4, best: "avx2 mr2 nv2", 5, runnerUp: "avx2 mr1 nv2", 6))
        try database.save(record(4, best: "avx512vnni mr4 nv4", 3))
        let merged = try #require(try database.lookup(record(4, best: "", 0).key))
        #expect(merged.best == "avx512vnni mr4 nv4" && merged.bestMicroseconds == 3)
        #expect(merged.runnerUp == "avx2 mr2 nv2" && merged.runnerUpMicroseconds == 5)
        #expect(merged.trials == 6)
    }

    @Test func exportImportRoundTrips() throws {
        let source = try TuningDatabase(path: Self.temporaryDatabasePath())
        for m in 1...5 { try source.save(record(m, best: "avx2 mr\(m) nv2", Double(m), runnerUp: "portable mr1 nv1", 50)) }
        try source.saveMeasurement(record(1, best: "", 0).key, schedule: "avx2 mr9 nv1", microseconds: nil, note: "broken")
        let target = try TuningDatabase(path: Self.temporaryDatabasePath())
        #expect(try target.importMerging(try source.export()) == 5)
        #expect(try target.records() == source.records())
        #expect(try target.measurements(record(1, best: "", 0).key) == source.measurements(record(1, best: "", 0).key))
        #expect(throws: QuantError.self) { try target.importMerging(Data("not json".utf8)) }
    }

    /// A damaged database of QuantForge's own (cut in half, as a crash during a copy would leave
    /// it) is set aside byte for byte, with the reason and the new name in `warnings`, and a new
    /// database takes its place. (Files that are not QuantForge's are refused: DataSafetyTests.)
    @Test func aDamagedDatabaseOfOursIsSetAsideWithEveryByte() throws {
        let path = Self.temporaryDatabasePath()
        let database = try TuningDatabase(path: path)
        for m in 1...60 { try database.save(record(m, best: "avx2 mr1 nv2", Double(m))) }
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        let damaged = whole.prefix(whole.count / 2)
        try damaged.write(to: URL(fileURLWithPath: path))
        #expect(throws: QuantError.self) { try TuningDatabase(path: path, access: .readOnly) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == damaged, "a read-only open changed the file")
        let reopened = try TuningDatabase(path: path)
        #expect(reopened.warnings.count == 1 && reopened.warnings[0].contains("moved it (and its journal files) to \(path).corrupt-1"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path + ".corrupt-1")) == damaged)
        try reopened.save(record(2, best: "avx2 mr2 nv2", 2))
        #expect(try reopened.lookup(record(2, best: "", 0).key) != nil)
    }

    /// A database written before QuantForge marked its files (schema 1, no application_id, WAL
    /// mode) is still read — read-only without creating any file — and marked on the first write.
    @Test func aDatabaseFromBeforeTheMarkIsStillOurs() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-legacy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("tuning.sqlite").path
        _ = try TuningDatabase(path: path).save(record(5, best: "avx2 mr1 nv2", 3))
        let unmark = try CToolchain.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3,sys
            c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA application_id = 0'); c.commit()
            c.execute('PRAGMA journal_mode = WAL'); c.close()
            """, path])
        try #require(unmark.status == 0, "\(unmark.stderr)")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let reader = try TuningDatabase(path: path, access: .readOnly)
        #expect(try reader.records().count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["tuning.sqlite"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        let writer = try TuningDatabase(path: path)
        try writer.save(record(6, best: "avx2 mr1 nv2", 3))
        #expect(try TuningDatabase(path: path, access: .readOnly).records().count == 2)
    }

    /// An import is checked whole before anything is written: records no tuner could have made
    /// (m = -5, k = 0, an empty schedule, a negative time, trials = Int64.max, shapes whose
    /// product overflows) are refused, and the database is unchanged.
    @Test(arguments: [
        #"{"m": -5}"#, #"{"k": 0}"#, #"{"best": ""}"#, #"{"bestMicroseconds": -1}"#, #"{"trials": 9223372036854775807}"#,
        #"{"m": 3000000, "k": 3000000, "n": 3000000}"#, #"{"best": "avx512vnni mr200000000000000 nv4"}"#,
    ])
    func anImportOfImpossibleRecordsIsRefusedWhole(_ change: String) throws {
        let database = try TuningDatabase(path: Self.temporaryDatabasePath())
        let good = record(7, best: "avx2 mr1 nv2", 2)
        var fields = try JSONSerialization.jsonObject(with: JSONEncoder().encode(good)) as! [String: Any]
        var keyFields = fields["key"] as! [String: Any]
        for (name, value) in try JSONSerialization.jsonObject(with: Data(change.utf8)) as! [String: Any] {
            if ["m", "k", "n"].contains(name) { keyFields[name] = value } else { fields[name] = value }
        }
        fields["key"] = keyFields
        let document: [String: Any] = ["schemaVersion": 1, "records": [try JSONSerialization.jsonObject(with: JSONEncoder().encode(good)), fields],
                                       "measurements": []]
        #expect(throws: QuantError.self) { try database.importMerging(try JSONSerialization.data(withJSONObject: document)) }
        #expect(try database.records().isEmpty)
    }

    /// A database of ours edited by hand (or crafted) so that a column holds another type: listing,
    /// exporting and reading measurements are errors naming the column, not a stopped process.
    @Test func aValueOfTheWrongTypeIsAnErrorNotACrash() throws {
        let path = Self.temporaryDatabasePath()
        let database = try TuningDatabase(path: path)
        try database.save(record(3, best: "avx2 mr1 nv2", 2))
        try database.saveMeasurement(record(3, best: "", 0).key, schedule: "avx2 mr1 nv2", microseconds: 2)
        let edit = try CToolchain.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3,sys
            c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE record SET m = 'abc'"); c.execute("UPDATE measurement SET us = 'fast'"); c.commit()
            """, path])
        try #require(edit.status == 0, "\(edit.stderr)")
        let reopened = try TuningDatabase(path: path, access: .readOnly)
        #expect { try reopened.records() } throws: { "\($0)".contains("column m") }
        #expect { try reopened.export() } throws: { "\($0)".contains("column") }
        #expect { try reopened.measurements(self.record(3, best: "", 0).key) } throws: { "\($0)".contains("column us") }
    }

    /// A record whose schedule overflows when read (written into the file by hand, past the import
    /// checks) is ignored by the engine — the default schedule is used — instead of trapping in
    /// `bench --db` or `qf_kernel_compile`.
    @Test func anOverflowingTunedScheduleIsIgnoredNotATrap() throws {
        let database = try TuningDatabase(path: Self.temporaryDatabasePath())
        let isa = isasUnderTest.last!
        let op = try OperatorPreset.u8s8s32.matMul(m: 12, k: 48, n: 40)
        let key = TuningKey(op: op, m: 12, threads: 1, generator: generatorVersion)
        try database.save(TuningRecord(key: key, best: "\(isa) mr200000000000000 nv4", bestMicroseconds: 1, trials: 1))
        #expect(try Engine(isa: isa, database: database).compile(op).scheduleSource == .defaultHeuristic)
    }

    /// Merging records whose trial counts add up past Int.max saturates instead of trapping.
    @Test func mergingHugeTrialCountsSaturates() {
        var a = record(1, best: "avx2 mr1 nv2", 1), b = record(1, best: "avx2 mr2 nv2", 2)
        a.trials = .max
        b.trials = .max
        #expect(a.merged(with: b).trials == TuningRecord.trialLimit)
    }

    @Test func concurrentWritersDoNotCorruptIt() async throws {
        let path = Self.temporaryDatabasePath()
        _ = try TuningDatabase(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    let database = try TuningDatabase(path: path)  // its own connections, as another process would have
                    for m in 0..<25 {
                        try database.save(self.record(writer * 100 + m, best: "avx2 mr1 nv2", Double(m + 1)))
                        try database.saveMeasurement(self.record(m, best: "", 0).key, schedule: "w\(writer)", microseconds: Double(writer))
                    }
                }
            }
            try await group.waitForAll()
        }
        let database = try TuningDatabase(path: path)
        #expect(database.warnings.isEmpty)
        #expect(try database.records().count == 100)
        #expect(try database.measurements(record(3, best: "", 0).key).count == 4)
    }

    /// Several openers creating the same new file at once: only one of them may switch it to WAL
    /// (SQLite's busy timeout does not cover that switch), and none of them may fail because of it.
    @Test func simultaneousFirstOpensOfANewFileAllSucceed() async throws {
        for _ in 0..<12 {
            let path = Self.temporaryDatabasePath()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for opener in 0..<6 {
                    group.addTask {
                        let database = try TuningDatabase(path: path)
                        try database.save(self.record(opener, best: "avx2 mr1 nv2", 1))
                    }
                }
                try await group.waitForAll()
            }
            let database = try TuningDatabase(path: path)
            #expect(database.warnings.isEmpty)
            #expect(try database.records().count == 6)
        }
    }

    /// Two `qforge autotune` processes tuning into the same file at the same time.
    @Test func concurrentTuningProcessesShareOneDatabase() throws {
        let qforge = CAPITests.buildDirectory.appendingPathComponent("qforge").path
        try #require(FileManager.default.isExecutableFile(atPath: qforge), "\(qforge) is built with the tests")
        let path = Self.temporaryDatabasePath()
        let processes = [(4, 32, 16), (8, 24, 40)].map { m, k, n -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: qforge)
            process.arguments = ["autotune", "--op", "u8s8s32", "--m", "\(m)", "--k", "\(k)", "--n", "\(n)", "--budget", "6",
                                 "--db", path, "--isa", "portable"]
            process.standardOutput = FileHandle.nullDevice
            return process
        }
        for process in processes { try process.run() }
        for process in processes {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        let database = try TuningDatabase(path: path)
        #expect(database.warnings.isEmpty)
        #expect(Set(try database.records().map { [$0.key.m, $0.key.k, $0.key.n] }) == [[4, 32, 16], [8, 24, 40]])
    }

    @Test func dispatchUsesTheTunedScheduleWhenThereIsOne() throws {
        let database = try TuningDatabase(path: Self.temporaryDatabasePath())
        let isa = isasUnderTest.last!
        let engine = try Engine(isa: isa, database: database)
        let op = try OperatorPreset.u8s8s32.matMul(m: 12, k: 48, n: 40)
        let untuned = try engine.compile(op)
        #expect(untuned.scheduleSource == .defaultHeuristic)
        let tuned = MatMulSchedule(isa: isa, rowsPerTile: 3, vectorsPerRow: 1, kUnroll: 2, rowBlock: 6, panelBlock: 2, loopOrder: .rowsOuter)
        #expect(tuned != untuned.schedule)
        let key = TuningKey(op: op, m: 12, threads: 1, generator: generatorVersion)
        try database.save(TuningRecord(key: key, best: tuned.description, bestMicroseconds: 1, trials: 1))
        let kernel = try engine.compile(op)
        #expect(kernel.scheduleSource == .tuned && kernel.schedule == tuned)
        // A record for another shape, thread count or forced ISA is not used.
        #expect(try engine.compile(try OperatorPreset.u8s8s32.matMul(m: 13, k: 48, n: 40)).scheduleSource == .defaultHeuristic)
        #expect(try Engine(isa: .portable, database: database).compile(op).scheduleSource == .defaultHeuristic)
        var random = TestRandom(seed: 4)
        let a = random.bytes(12 * 48), b = random.bytes(48 * 40)
        #expect(try kernel.run(a: a, weights: kernel.packWeights(b), m: 12) == ReferenceMatMul.run(op, a: a, b: b, m: 12))
    }
}
