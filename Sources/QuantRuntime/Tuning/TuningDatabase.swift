import Foundation
import GRDB
import QuantOps

/// The persistent store of tuning results: SQLite (through GRDB) in WAL mode, so that concurrent
/// tuners — threads or processes — serialize their writes instead of corrupting the file.
///
/// Opening is serialized across processes by an `flock` on `<path>.lock` (see `OpeningLock`; the
/// kernel drops it when a process dies). It never fails on a bad file: a file that is not a
/// database, is truncated, or was written by another schema version is moved aside
/// (`<path>.corrupt-<n>` / `<path>.v<version>-<n>`), a fresh database is created, and the reason
/// is in `warnings`.
public final class TuningDatabase: Sendable {
    /// The schema this build reads and writes (`PRAGMA user_version`).
    public static let schemaVersion = 1

    public let path: String
    /// What happened to an unusable file found at `path`.
    public let warnings: [String]
    private let pool: DatabasePool

    /// `$QFORGE_TUNING_DB`, else `$XDG_CACHE_HOME/quantforge/tuning.sqlite`, else `~/.cache/quantforge/tuning.sqlite`.
    public static var defaultPath: String {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["QFORGE_TUNING_DB"], !path.isEmpty { return path }
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache")
        return (cache as NSString).appendingPathComponent("quantforge/tuning.sqlite")
    }

    public init(path: String = TuningDatabase.defaultPath) throws(QuantError) {
        self.path = path
        var warnings: [String] = []
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let openingLock = try OpeningLock(databasePath: path)
        defer { openingLock?.release() }
        do {
            pool = try Self.open(path)
        } catch let problem as ProblemWithFile {
            let aside = Self.moveAside(path, suffix: problem.suffix)
            warnings.append("\(problem.reason); moved it to \(aside) and started a new database")
            do { pool = try Self.open(path) } catch {
                throw .tuningDatabase(path: path, reason: "cannot create a new database: \(error)")
            }
        } catch {
            throw .tuningDatabase(path: path, reason: "\(error)")
        }
        self.warnings = warnings
    }

    private struct ProblemWithFile: Error {
        let reason: String
        let suffix: String
    }

    private static func open(_ path: String) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try pool.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
        } catch let error as DatabaseError where [.SQLITE_NOTADB, .SQLITE_CORRUPT].contains(error.resultCode) {
            throw ProblemWithFile(reason: "\(path) is not a readable SQLite database (\(error.resultCode))", suffix: "corrupt")
        }
        let version = try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
        if version != 0 && version != schemaVersion {
            try? pool.close()
            throw ProblemWithFile(reason: "\(path) has schema version \(version), this build uses \(schemaVersion)", suffix: "v\(version)")
        }
        let integrity = try pool.read { db in try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "" }
        if integrity != "ok" {
            try? pool.close()
            throw ProblemWithFile(reason: "\(path) failed its integrity check (\(integrity))", suffix: "corrupt")
        }
        try pool.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS record (
                    operation TEXT NOT NULL, m INTEGER NOT NULL, k INTEGER NOT NULL, n INTEGER NOT NULL,
                    cpu TEXT NOT NULL, features TEXT NOT NULL, llvm_major INTEGER NOT NULL, generator TEXT NOT NULL,
                    threads INTEGER NOT NULL,
                    best TEXT NOT NULL, best_us REAL NOT NULL, runner_up TEXT, runner_up_us REAL, default_us REAL,
                    trials INTEGER NOT NULL,
                    PRIMARY KEY (operation, m, k, n, cpu, features, llvm_major, generator, threads));
                CREATE TABLE IF NOT EXISTS measurement (
                    operation TEXT NOT NULL, m INTEGER NOT NULL, k INTEGER NOT NULL, n INTEGER NOT NULL,
                    cpu TEXT NOT NULL, features TEXT NOT NULL, llvm_major INTEGER NOT NULL, generator TEXT NOT NULL,
                    threads INTEGER NOT NULL, schedule TEXT NOT NULL,
                    us REAL,          -- NULL: the candidate was invalid
                    note TEXT,        -- why it was invalid
                    PRIMARY KEY (operation, m, k, n, cpu, features, llvm_major, generator, threads, schedule));
                PRAGMA user_version = \(schemaVersion);
                """)
        }
        return pool
    }

    private static func moveAside(_ path: String, suffix: String) -> String {
        var index = 1
        while FileManager.default.fileExists(atPath: "\(path).\(suffix)-\(index)") { index += 1 }
        let target = "\(path).\(suffix)-\(index)"
        try? FileManager.default.moveItem(atPath: path, toPath: target)
        for extra in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + extra) }
        return target
    }

    // MARK: Records

    private static let keyColumns = "operation, m, k, n, cpu, features, llvm_major, generator, threads"
    private static let keyMatch = "operation = ? AND m = ? AND k = ? AND n = ? AND cpu = ? AND features = ? AND llvm_major = ? AND generator = ? AND threads = ?"

    private static func arguments(_ key: TuningKey) -> StatementArguments {
        [key.operation, key.m, key.k, key.n, key.cpu, key.features, key.llvmMajor, key.generator, key.threads]
    }

    private static func key(_ row: Row) -> TuningKey {
        TuningKey(operation: row["operation"], m: row["m"], k: row["k"], n: row["n"], cpu: row["cpu"], features: row["features"],
                  llvmMajor: row["llvm_major"], generator: row["generator"], threads: row["threads"])
    }

    private static func record(_ row: Row) -> TuningRecord {
        TuningRecord(key: key(row), best: row["best"], bestMicroseconds: row["best_us"], runnerUp: row["runner_up"],
                     runnerUpMicroseconds: row["runner_up_us"], defaultMicroseconds: row["default_us"], trials: row["trials"])
    }

    private func perform<T>(_ what: String, _ body: () throws -> T) throws(QuantError) -> T {
        do { return try body() } catch { throw .tuningDatabase(path: path, reason: "\(what): \(error)") }
    }

    /// Stores `record`, merged with what the database already has for its key (nothing is lost:
    /// the two fastest distinct schedules are kept). The read and the write are one transaction.
    public func save(_ record: TuningRecord) throws(QuantError) {
        try perform("save") {
            try pool.write { db in
                var merged = record
                if let row = try Row.fetchOne(db, sql: "SELECT * FROM record WHERE \(Self.keyMatch)", arguments: Self.arguments(record.key)) {
                    merged = Self.record(row).merged(with: record)
                }
                try db.execute(sql: """
                    INSERT OR REPLACE INTO record (\(Self.keyColumns), best, best_us, runner_up, runner_up_us, default_us, trials)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: Self.arguments(merged.key) + [merged.best, merged.bestMicroseconds, merged.runnerUp,
                                                                   merged.runnerUpMicroseconds, merged.defaultMicroseconds, merged.trials])
            }
        }
    }

    /// The record for exactly `key`.
    public func lookup(_ key: TuningKey) throws(QuantError) -> TuningRecord? {
        try perform("lookup") {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM record WHERE \(Self.keyMatch)", arguments: Self.arguments(key)).map(Self.record)
            }
        }
    }

    /// Every record, ordered by key.
    public func records() throws(QuantError) -> [TuningRecord] {
        try perform("list") {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM record ORDER BY \(Self.keyColumns)").map(Self.record)
            }
        }
    }

    // MARK: Measurements (what makes a tuning run resumable)

    /// Remembers a candidate's time (nil: invalid, with `note` saying why). Keeps the faster time
    /// when the schedule was measured before.
    public func saveMeasurement(_ key: TuningKey, schedule: String, microseconds: Double?, note: String? = nil) throws(QuantError) {
        try perform("save measurement") {
            try pool.write { db in
                let previous = try Row.fetchOne(db, sql: "SELECT us FROM measurement WHERE \(Self.keyMatch) AND schedule = ?",
                                                arguments: Self.arguments(key) + [schedule])
                var time = microseconds
                if let previous, let old: Double = previous["us"], let new = microseconds { time = min(old, new) }
                try db.execute(sql: "INSERT OR REPLACE INTO measurement (\(Self.keyColumns), schedule, us, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               arguments: Self.arguments(key) + [schedule, time, note])
            }
        }
    }

    /// Every candidate measured for `key`: schedule → time (nil: invalid).
    public func measurements(_ key: TuningKey) throws(QuantError) -> [String: Double?] {
        try perform("read measurements") {
            try pool.read { db in
                var result: [String: Double?] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT schedule, us FROM measurement WHERE \(Self.keyMatch)",
                                            arguments: Self.arguments(key)) {
                    let time: Double? = row["us"]
                    result[row["schedule"]] = time
                }
                return result
            }
        }
    }

    // MARK: Export / import

    /// Everything in the database as JSON (records and measurements).
    public func export() throws(QuantError) -> Data {
        let measurements: [ExportedMeasurement] = try perform("export") {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM measurement ORDER BY \(Self.keyColumns), schedule").map { row in
                    ExportedMeasurement(key: Self.key(row), schedule: row["schedule"], microseconds: row["us"], note: row["note"])
                }
            }
        }
        let document = ExportedDatabase(schemaVersion: Self.schemaVersion, records: try records(), measurements: measurements)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try perform("encode") { try encoder.encode(document) }
    }

    /// Merges an `export()` document into this database; returns how many records it held.
    @discardableResult
    public func importMerging(_ data: Data) throws(QuantError) -> Int {
        let document: ExportedDatabase
        do { document = try JSONDecoder().decode(ExportedDatabase.self, from: data) } catch {
            throw .tuningDatabase(path: path, reason: "import: not a QuantForge tuning export (\(error))")
        }
        if document.schemaVersion != Self.schemaVersion {
            throw .tuningDatabase(path: path, reason: "import: export has schema version \(document.schemaVersion), this build uses \(Self.schemaVersion)")
        }
        for record in document.records { try save(record) }
        for measurement in document.measurements {
            try saveMeasurement(measurement.key, schedule: measurement.schedule, microseconds: measurement.microseconds, note: measurement.note)
        }
        return document.records.count
    }

    struct ExportedMeasurement: Codable {
        var key: TuningKey
        var schedule: String
        var microseconds: Double?
        var note: String?
    }

    struct ExportedDatabase: Codable {
        var schemaVersion: Int
        var records: [TuningRecord]
        var measurements: [ExportedMeasurement]
    }
}
