import Foundation
import GRDB
import QuantFiles
import QuantOps
import QuantSchedule
#if canImport(Glibc)
import Glibc
#endif

/// The persistent store of tuning results: SQLite (through GRDB), marked as QuantForge's by its
/// `application_id` and schema version, so that no other file is ever taken for it.
///
/// What it never does to a file it did not create (see ARCHITECTURE.md, "Files and trust"): rename,
/// truncate, rewrite or delete it. A path holding anything but a QuantForge tuning database of this
/// schema — text, another program's SQLite database, a newer schema — is a `tuningDatabase` error
/// naming the file, which is left byte-identical. A new database is built under a temporary name and
/// published with `link`, so it appears complete or not at all and never replaces a file that
/// appeared meanwhile. `.readOnly` access (listing, exporting, lookups) creates nothing — no file,
/// directory or journal — and works on a database the user cannot write. Only a damaged database of
/// its own is set aside, with its journal files, byte for byte (`<path>.corrupt-<n>`), and a fresh
/// one started; `warnings` says where.
///
/// Writers take SQLite's write lock at the start of each transaction (IMMEDIATE), so concurrent
/// tuners — threads or processes — wait for each other instead of failing or corrupting the file.
public final class TuningDatabase: Sendable {
    /// The schema this build reads and writes (`PRAGMA user_version`).
    public static let schemaVersion = 1
    /// `PRAGMA application_id` of every QuantForge tuning database ("QFTD").
    public static let applicationID: Int32 = 0x5146_5444

    /// What a caller will do with the database.
    public enum Access: Sendable {
        /// Reads only: nothing is created or changed; a missing file is an error.
        case readOnly
        /// Reads and writes; a missing file is created (its directory must exist, except the
        /// default location's, which is created with mode 0700).
        case readWrite
    }

    public let path: String
    public let access: Access
    /// What happened to a damaged database of QuantForge's found at `path`.
    public let warnings: [String]
    private let queue: DatabaseQueue

    /// `$XDG_CACHE_HOME/quantforge/tuning.sqlite`, else `~/.cache/quantforge/tuning.sqlite`.
    public static var standardLocation: String {
        let environment = ProcessInfo.processInfo.environment
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.cache"
        return (cache.hasSuffix("/") ? cache : cache + "/") + "quantforge/tuning.sqlite"
    }

    /// `$QFORGE_TUNING_DB` when set, else `standardLocation`.
    public static var defaultPath: String {
        if let path = ProcessInfo.processInfo.environment["QFORGE_TUNING_DB"], !path.isEmpty { return path }
        return standardLocation
    }

    public init(path: String = TuningDatabase.defaultPath, access: Access = .readWrite) throws(QuantError) {
        self.path = path
        self.access = access
        var warnings: [String] = []
        func fail(_ reason: String) -> QuantError { .tuningDatabase(path: path, reason: reason) }
        var opened: DatabaseQueue? = nil
        // A new file may appear between looking and creating (another process): look again then.
        for _ in 0..<3 where opened == nil {
            switch Self.inspect(path) {
            case .missing:
                guard access == .readWrite else { throw fail("no such file (a read-only command creates nothing)") }
                if path == Self.standardLocation { try FileTrust.createPrivateDirectory(FileTrust.parent(of: path)) }
                if try Self.create(path) { opened = try Self.openCreated(path, access: access) }
            case let .foreign(reason):
                throw fail("\(reason); it is left as it is")
            case let .quantForge(header):
                switch try Self.open(path, access: access, header: header) {
                case let .success(queue):
                    opened = queue
                case let .failure(problem):
                    guard access == .readWrite else { throw fail("\(problem.reason) (read-only: left as it is)") }
                    // nil: another process set it aside first; look again.
                    guard let aside = try Self.setAside(path) else { continue }
                    warnings.append("\(path): \(problem.reason); moved it (and its journal files) to \(aside) and started a new database")
                    if try Self.create(path) { opened = try Self.openCreated(path, access: access) }
                }
            }
        }
        guard let opened else { throw fail("another process kept replacing the file while it was being opened") }
        queue = opened
        self.warnings = warnings
    }

    private enum Inspection {
        case missing
        case foreign(String)
        /// Marked as QuantForge's.
        case quantForge(Header)
    }

    /// What the header of a QuantForge database says.
    private struct Header {
        /// Written before the mark existed (schema 1, no application_id): recognised by its tables
        /// once opened.
        var legacy = false
        /// In WAL mode (QuantForge 0.4 wrote such files).
        var writeAheadLogged = false
    }

    private struct DamagedDatabase: Error { let reason: String }

    /// A database `create` just made.
    private static func openCreated(_ path: String, access: Access) throws(QuantError) -> DatabaseQueue {
        switch try open(path, access: access, header: Header()) {
        case let .success(queue): return queue
        case let .failure(problem): throw .tuningDatabase(path: path, reason: "the database just created is \(problem.reason)")
        }
    }

    /// `open`, with every failure but damage as a `tuningDatabase` error.
    private static func open(_ path: String, access: Access, header: Header) throws(QuantError) -> Result<DatabaseQueue, DamagedDatabase> {
        do {
            return .success(try openQueue(path, access: access, header: header))
        } catch let problem as DamagedDatabase {
            return .failure(problem)
        } catch let error as QuantError {
            throw error
        } catch {
            throw .tuningDatabase(path: path, reason: "\(error)")
        }
    }

    /// What is at `path`, judged from the file type and SQLite's 100-byte header alone (no SQLite
    /// connection, so nothing is created or changed).
    private static func inspect(_ path: String) -> Inspection {
        var info = stat()
        guard stat(path, &info) == 0 else { return errno == ENOENT ? .missing : .foreign("cannot inspect it: \(FileTrust.lastErrorMessage)") }
        guard FileTrust.isRegularFile(info) else { return .foreign("not a regular file") }
        let descriptor = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return .foreign("cannot read it: \(FileTrust.lastErrorMessage)") }
        defer { close(descriptor) }
        var header = [UInt8](repeating: 0, count: 100)
        let count = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 100, 0) }
        guard count == 100, header[0..<16].elementsEqual(Array("SQLite format 3\0".utf8)) else {
            return .foreign(count == 0 ? "an empty file, not a QuantForge tuning database" : "not a QuantForge tuning database (not SQLite)")
        }
        func word(_ offset: Int) -> Int32 {
            Int32(bitPattern: header[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
        let application = word(68), version = Int(word(60))
        let writeAheadLogged = header[18] == 2 && header[19] == 2  // file format read/write versions
        if application == applicationID {
            if version == schemaVersion { return .quantForge(Header(writeAheadLogged: writeAheadLogged)) }
            return .foreign(version > schemaVersion
                ? "written by a newer QuantForge (schema \(version); this build reads \(schemaVersion))"
                : "a QuantForge tuning database of schema \(version); this build reads \(schemaVersion)")
        }
        if application == 0 && version == schemaVersion { return .quantForge(Header(legacy: true, writeAheadLogged: writeAheadLogged)) }
        return .foreign("a SQLite database of another program (application_id \(application), user_version \(version))")
    }

    private static let tables = """
        CREATE TABLE record (
            operation TEXT NOT NULL, m INTEGER NOT NULL, k INTEGER NOT NULL, n INTEGER NOT NULL,
            cpu TEXT NOT NULL, features TEXT NOT NULL, llvm_major INTEGER NOT NULL, generator TEXT NOT NULL,
            threads INTEGER NOT NULL,
            best TEXT NOT NULL, best_us REAL NOT NULL, runner_up TEXT, runner_up_us REAL, default_us REAL,
            trials INTEGER NOT NULL,
            PRIMARY KEY (operation, m, k, n, cpu, features, llvm_major, generator, threads));
        CREATE TABLE measurement (
            operation TEXT NOT NULL, m INTEGER NOT NULL, k INTEGER NOT NULL, n INTEGER NOT NULL,
            cpu TEXT NOT NULL, features TEXT NOT NULL, llvm_major INTEGER NOT NULL, generator TEXT NOT NULL,
            threads INTEGER NOT NULL, schedule TEXT NOT NULL,
            us REAL,          -- NULL: the candidate was invalid
            note TEXT,        -- why it was invalid
            PRIMARY KEY (operation, m, k, n, cpu, features, llvm_major, generator, threads, schedule));
        """

    /// The columns of each table, to recognise a database written before the application_id mark.
    private static let columns = [
        "measurement": ["operation", "m", "k", "n", "cpu", "features", "llvm_major", "generator", "threads", "schedule", "us", "note"],
        "record": ["operation", "m", "k", "n", "cpu", "features", "llvm_major", "generator", "threads", "best", "best_us",
                   "runner_up", "runner_up_us", "default_us", "trials"],
    ]

    /// Builds a new database under a temporary name in the same directory and links it to `path`.
    /// Returns false when a file appeared at `path` meanwhile (the new one is then deleted).
    private static func create(_ path: String) throws(QuantError) -> Bool {
        let directory = FileTrust.parent(of: path)
        var info = stat()
        guard stat(directory, &info) == 0, FileTrust.isDirectory(info) else {
            throw .tuningDatabase(path: path, reason: "the directory \(directory) does not exist (it is not created for a path you give)")
        }
        let temporary = "\(directory)/.\(FileTrust.lastComponent(of: path)).qforge-new-\(UInt64.random(in: 0...UInt64.max) & 0xffff_ffff_ffff)"
        do {
            let builder = try DatabaseQueue(path: temporary)
            try builder.write { db in
                try db.execute(sql: tables + "PRAGMA application_id = \(applicationID); PRAGMA user_version = \(schemaVersion);")
            }
            try builder.close()
        } catch {
            for suffix in ["", "-journal"] { unlink(temporary + suffix) }
            throw .tuningDatabase(path: path, reason: "cannot create a database in \(directory): \(error)")
        }
        defer { unlink(temporary) }
        if link(temporary, path) == 0 { return true }
        if errno == EEXIST { return false }
        throw .tuningDatabase(path: path, reason: "cannot create: \(FileTrust.lastErrorMessage)")
    }

    /// Opens a file `inspect` called QuantForge's and checks it again through SQLite (the header can
    /// lag behind a write-ahead log). Throws `DamagedDatabase` for one that fails its integrity check.
    private static func openQueue(_ path: String, access: Access, header: Header) throws -> DatabaseQueue {
        let legacy = header.legacy
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.readonly = access == .readOnly
        // A database left in WAL mode (written by QuantForge 0.4) with no -wal file is opened
        // immutable when reading, so that SQLite creates no -wal or -shm beside it.
        var location = path
        if access == .readOnly && header.writeAheadLogged && FileTrust.status(path + "-wal") == nil {
            location = "file:" + (path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path) + "?immutable=1"
        }
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: location, configuration: configuration)
        } catch let error as DatabaseError where [.SQLITE_NOTADB, .SQLITE_CORRUPT].contains(error.resultCode) {
            throw DamagedDatabase(reason: "damaged (\(error.resultCode))")
        }
        do {
            let (application, version, integrity, layout) = try queue.read { db in
                let application = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                let integrity = try String.fetchOne(db, sql: "PRAGMA quick_check") ?? ""
                var layout: [String: [String]] = [:]
                for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") {
                    layout[table] = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table.quotedDatabaseIdentifier))").map { $0["name"] }
                }
                return (application, version, integrity, layout)
            }
            // A legacy file may already be marked in its write-ahead log (the header lags behind).
            if legacy ? (![0, applicationID].contains(application) || layout != columns) : application != applicationID {
                try? queue.close()
                throw QuantError.tuningDatabase(path: path, reason: "not a QuantForge tuning database (its tables or application_id differ); it is left as it is")
            }
            if version != schemaVersion {
                try? queue.close()
                throw QuantError.tuningDatabase(path: path, reason: "schema version \(version); this build reads \(schemaVersion); it is left as it is")
            }
            if integrity != "ok" { throw DamagedDatabase(reason: "failed its integrity check (\(integrity.prefix(200)))") }
            if legacy && access == .readWrite {
                try queue.write { db in try db.execute(sql: "PRAGMA application_id = \(applicationID)") }
            }
        } catch let error as DatabaseError where [.SQLITE_NOTADB, .SQLITE_CORRUPT].contains(error.resultCode) {
            try? queue.close()
            throw DamagedDatabase(reason: "damaged (\(error.resultCode))")
        } catch let problem as DamagedDatabase {
            try? queue.close()
            throw problem
        }
        return queue
    }

    /// Moves a damaged database of QuantForge's and its journal files to `<path>.corrupt-<n>`
    /// (never over an existing file: `link`, then `unlink`). Returns the new name, or nil when the
    /// file is gone already (another process set it aside).
    private static func setAside(_ path: String) throws(QuantError) -> String? {
        for index in 1...10_000 {
            let target = "\(path).corrupt-\(index)"
            let taken = ["", "-wal", "-shm", "-journal"].contains { FileTrust.status(target + $0) != nil }
            if taken { continue }
            guard link(path, target) == 0 else {
                if errno == EEXIST { continue }
                if errno == ENOENT { return nil }
                throw .tuningDatabase(path: path, reason: "damaged, and it cannot be set aside: \(FileTrust.lastErrorMessage)")
            }
            for suffix in ["-wal", "-shm", "-journal"] where FileTrust.status(path + suffix) != nil {
                if link(path + suffix, target + suffix) != 0 {
                    throw .tuningDatabase(path: path, reason: "damaged, and \(path + suffix) cannot be set aside: \(FileTrust.lastErrorMessage)")
                }
            }
            for suffix in ["-wal", "-shm", "-journal", ""] { unlink(path + suffix) }
            return target
        }
        throw .tuningDatabase(path: path, reason: "damaged, and 10000 files named \(path).corrupt-N already exist")
    }

    // MARK: Records

    private static let keyColumns = "operation, m, k, n, cpu, features, llvm_major, generator, threads"
    private static let keyMatch = "operation = ? AND m = ? AND k = ? AND n = ? AND cpu = ? AND features = ? AND llvm_major = ? AND generator = ? AND threads = ?"

    private static func arguments(_ key: TuningKey) -> StatementArguments {
        [key.operation, key.m, key.k, key.n, key.cpu, key.features, key.llvmMajor, key.generator, key.threads]
    }

    /// A row's value of `column` as `T`; a value of another type (a file edited by hand, or
    /// crafted) is an error, where GRDB's subscript would stop the process.
    private static func value<T: DatabaseValueConvertible>(_ row: Row, _ column: String) throws -> T {
        let stored: DatabaseValue = row[column] ?? .null
        guard let converted = T.fromDatabaseValue(stored) else {
            throw QuantError.invalidArgument(field: "column \(column)", reason: "holds \(stored), not a \(T.self)")
        }
        return converted
    }

    private static func optional<T: DatabaseValueConvertible>(_ row: Row, _ column: String) throws -> T? {
        let stored: DatabaseValue = row[column] ?? .null
        return stored.isNull ? nil : try value(row, column) as T
    }

    private static func key(_ row: Row) throws -> TuningKey {
        TuningKey(operation: try value(row, "operation"), m: try value(row, "m"), k: try value(row, "k"), n: try value(row, "n"),
                  cpu: try value(row, "cpu"), features: try value(row, "features"), llvmMajor: try value(row, "llvm_major"),
                  generator: try value(row, "generator"), threads: try value(row, "threads"))
    }

    private static func record(_ row: Row) throws -> TuningRecord {
        TuningRecord(key: try key(row), best: try value(row, "best"), bestMicroseconds: try value(row, "best_us"),
                     runnerUp: try optional(row, "runner_up"), runnerUpMicroseconds: try optional(row, "runner_up_us"),
                     defaultMicroseconds: try optional(row, "default_us"), trials: try value(row, "trials"))
    }

    private func requireWritable() throws(QuantError) {
        guard access == .readWrite else { throw .tuningDatabase(path: path, reason: "opened read-only") }
    }

    private func perform<T>(_ what: String, _ body: () throws -> T) throws(QuantError) -> T {
        do { return try body() } catch { throw .tuningDatabase(path: path, reason: "\(what): \(error)") }
    }

    /// Stores `record`, merged with what the database already has for its key (nothing is lost:
    /// the two fastest distinct schedules are kept). The read and the write are one transaction.
    public func save(_ record: TuningRecord) throws(QuantError) {
        try requireWritable()
        try perform("save") {
            try queue.write { db in
                var merged = record
                if let row = try Row.fetchOne(db, sql: "SELECT * FROM record WHERE \(Self.keyMatch)", arguments: Self.arguments(record.key)) {
                    merged = try Self.record(row).merged(with: record)
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
            try queue.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM record WHERE \(Self.keyMatch)", arguments: Self.arguments(key)).map(Self.record)
            }
        }
    }

    /// Every record, ordered by key.
    public func records() throws(QuantError) -> [TuningRecord] {
        try perform("list") {
            try queue.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM record ORDER BY \(Self.keyColumns)").map(Self.record)
            }
        }
    }

    // MARK: Measurements (what makes a tuning run resumable)

    /// Remembers a candidate's time (nil: invalid, with `note` saying why). Keeps the faster time
    /// when the schedule was measured before.
    public func saveMeasurement(_ key: TuningKey, schedule: String, microseconds: Double?, note: String? = nil) throws(QuantError) {
        try requireWritable()
        try perform("save measurement") {
            try queue.write { db in
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
            try queue.read { db in
                var result: [String: Double?] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT schedule, us FROM measurement WHERE \(Self.keyMatch)",
                                            arguments: Self.arguments(key)) {
                    let time: Double? = try Self.optional(row, "us")
                    result[try Self.value(row, "schedule") as String] = time
                }
                return result
            }
        }
    }

    // MARK: Export / import

    /// Everything in the database as JSON (records and measurements).
    public func export() throws(QuantError) -> Data {
        let measurements: [ExportedMeasurement] = try perform("export") {
            try queue.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM measurement ORDER BY \(Self.keyColumns), schedule").map { row in
                    ExportedMeasurement(key: try Self.key(row), schedule: try Self.value(row, "schedule"), microseconds: try Self.optional(row, "us"),
                                        note: try Self.optional(row, "note"))
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
        // Everything is checked before anything is written: an import applies whole or not at all.
        do throws(QuantError) {
            for record in document.records { try record.validate() }
            for measurement in document.measurements {
                try measurement.key.validate()
                _ = try MatMulSchedule(parsing: measurement.schedule)
                if let time = measurement.microseconds, !(time.isFinite && time > 0) {
                    throw .invalidArgument(field: "measurement \(measurement.key) \(measurement.schedule)", reason: "\(time) is not a finite time > 0")
                }
            }
        } catch {
            throw .tuningDatabase(path: path, reason: "import: \(error)")
        }
        for record in document.records { try save(record) }
        for measurement in document.measurements {
            try saveMeasurement(measurement.key, schedule: measurement.schedule, microseconds: measurement.microseconds, note: measurement.note)
        }
        return document.records.count
    }

    /// Whether `data` is an `export()` document (so that `db export --out` may replace it).
    public static func isExport(_ data: Data) -> Bool {
        (try? JSONDecoder().decode(ExportedDatabase.self, from: data)) != nil
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
