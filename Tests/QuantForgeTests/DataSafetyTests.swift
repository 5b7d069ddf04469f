import Foundation
import QForgeCommands
import QuantForge
import QuantForgeTooling
import Testing

/// The data-safety and hostile-input suite: `qforge` as a careless or hostile user drives it. Every
/// file-taking option meets files QuantForge did not write — text, another program's SQLite
/// database, a newer schema left in WAL mode, a read-only file, a symbolic link, a FIFO, a missing
/// directory — and must refuse with a message and a non-zero exit, leaving bytes, modes, link
/// targets and directory listings as they were; every nonsense number must be refused the same
/// way; nothing may crash (a signal) or hang (each run is bounded by `timeout`).
struct DataSafetyTests {
    static let qforge = CAPITests.buildDirectory.appendingPathComponent("qforge").path

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
        var output: String { stdout + stderr }
    }

    /// Runs qforge under `timeout` (exit 124: it hung) in `directory`.
    static func qforge(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:],
                       seconds: Int = 120) throws -> Run {
        try #require(FileManager.default.isExecutableFile(atPath: qforge), "\(qforge) is built with the tests")
        var arguments = ["\(seconds)", qforge] + arguments
        if let directory { arguments = ["-C", directory.path, "/usr/bin/timeout"] + arguments }
        let outcome = try ExternalProcess.run(directory == nil ? "/usr/bin/timeout" : "/usr/bin/env", arguments, environment: environment)
        return Run(status: outcome.status, stdout: outcome.stdout, stderr: outcome.stderr)
    }

    /// A refusal: a non-zero exit that is neither a signal nor the timeout, with a message.
    static func expectRefused(_ run: Run, mentioning words: [String] = [], _ comment: String) {
        #expect(run.status > 0 && run.status != 124, "\(comment): exit \(run.status)\n\(run.output)")
        #expect(run.status < 128, "\(comment): killed by a signal\n\(run.output)")
        for word in words { #expect(run.output.contains(word), "\(comment): no '\(word)' in\n\(run.output)") }
    }

    /// A scratch folder, and a snapshot of everything in it (names, bytes, modes, link targets).
    final class Scratch {
        let url: URL
        init() throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-safety-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }
        deinit {
            chmod(url.path, 0o755)
            try? FileManager.default.removeItem(at: url)
        }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }

        @discardableResult
        func write(_ name: String, _ text: String, mode: mode_t = 0o644) throws -> String {
            try Data(text.utf8).write(to: url.appendingPathComponent(name))
            chmod(path(name), mode)
            return path(name)
        }

        struct Entry: Equatable, CustomStringConvertible {
            let mode: mode_t
            let content: Data?
            let link: String?
            var description: String { "mode \(String(mode, radix: 8)) \(content?.count ?? -1) bytes\(link.map { " -> \($0)" } ?? "")" }
        }

        func snapshot() throws -> [String: Entry] {
            var result: [String: Entry] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path) {
                var info = stat()
                lstat(path(name), &info)
                let link = try? FileManager.default.destinationOfSymbolicLink(atPath: path(name))
                let regular = info.st_mode & S_IFMT == S_IFREG
                result[name] = Entry(mode: info.st_mode, content: regular ? try Data(contentsOf: url.appendingPathComponent(name)) : nil, link: link)
            }
            return result
        }
    }

    /// A text file, a FIFO and a symbolic link, handed to every option that takes a database: each
    /// is refused, and the folder is exactly as before (no lock file, no `.corrupt` copy, nothing
    /// renamed). Findings D1 and D8.
    @Test func everyDatabaseOptionRefusesFilesThatAreNotADatabase() throws {
        let scratch = try Scratch()
        let notes = try scratch.write("notes.txt", "my notes\n", mode: 0o444)
        try scratch.write("victim.txt", "someone's data\n")
        #expect(mkfifo(scratch.path("fifo"), 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: scratch.path("link.sqlite"), withDestinationPath: scratch.path("victim.txt"))
        // A planted lock-file link: QuantForge creates no lock file, so its target stays as it is.
        try FileManager.default.createSymbolicLink(atPath: scratch.path("notes.txt.lock"), withDestinationPath: scratch.path("victim.txt"))
        let before = try scratch.snapshot()
        for database in [notes, scratch.path("fifo"), scratch.path("link.sqlite")] {
            for command in [["db", "list"], ["db", "show"], ["db", "export"], ["bench", "--shapes", "4x8x8", "--min-time", "0.01"],
                            ["autotune", "--m", "4", "--k", "8", "--n", "8", "--budget", "2", "--isa", "portable"]] {
                let run = try Self.qforge(command + ["--db", database], in: scratch.url)
                Self.expectRefused(run, mentioning: [database], "\(command) --db \(database)")
            }
            let importFile = try scratch.write("import.json", #"{"schemaVersion":1,"records":[],"measurements":[]}"#)
            Self.expectRefused(try Self.qforge(["db", "import", "--db", database, importFile]), "db import --db \(database)")
            try FileManager.default.removeItem(atPath: importFile)
        }
        // The same through the environment variable.
        for database in [notes, scratch.path("fifo"), scratch.path("link.sqlite")] {
            Self.expectRefused(try Self.qforge(["db", "list"], environment: ["QFORGE_TUNING_DB": database]), mentioning: [database],
                               "QFORGE_TUNING_DB=\(database)")
        }
        // Input files (a spec, an import, a replay) that are FIFOs or text: refused, no hang.
        for input in [scratch.path("fifo"), notes] {
            Self.expectRefused(try Self.qforge(["aot", "--spec", input, "--out", scratch.path("never")]), "aot --spec \(input)")
            Self.expectRefused(try Self.qforge(["fuzz", "--replay", input]), "fuzz --replay \(input)")
            Self.expectRefused(try Self.qforge(["db", "import", "--db", scratch.path("never.sqlite"), input]), "db import \(input)")
            try? FileManager.default.removeItem(atPath: scratch.path("never.sqlite"))
        }
        // A bad --budget is refused before the database is even looked at.
        let run = try Self.qforge(["autotune", "--db", notes, "--m", "4", "--k", "8", "--n", "8", "--budget", "soon"])
        Self.expectRefused(run, mentioning: ["--budget"], "bad budget")
        #expect(try scratch.snapshot() == before)
    }

    /// Another program's SQLite database (user_version 0), and a QuantForge database of a newer
    /// schema that a killed process left in WAL mode (its records in the -wal file): refused, and
    /// every byte of all three files kept. Findings D2 and D3.
    @Test func foreignAndNewerDatabasesAreLeftByteIdentical() throws {
        let scratch = try Scratch()
        let make = try CToolchain.run("/usr/bin/env", ["python3", "-c", """
            import os, sqlite3, sys
            folder = sys.argv[1]
            c = sqlite3.connect(os.path.join(folder, 'foreign.sqlite'))
            c.execute('CREATE TABLE notes (text TEXT)'); c.execute("INSERT INTO notes VALUES ('precious')"); c.commit(); c.close()
            c = sqlite3.connect(os.path.join(folder, 'newer.sqlite'))
            c.execute('PRAGMA application_id = \(TuningDatabase.applicationID)'); c.execute('PRAGMA user_version = 2')
            c.execute('PRAGMA journal_mode = WAL'); c.commit()
            c.execute('CREATE TABLE record (x)'); c.execute('INSERT INTO record VALUES (42)'); c.commit()
            os._exit(0)  # killed: the WAL and shared-memory files stay, with the records in them
            """, scratch.url.path])
        try #require(make.status == 0, "\(make.stderr)")
        try #require(FileManager.default.fileExists(atPath: scratch.path("newer.sqlite-wal")))
        let before = try scratch.snapshot()
        for name in ["foreign.sqlite", "newer.sqlite"] {
            for command in [["db", "list"], ["db", "export"], ["bench", "--shapes", "4x8x8", "--min-time", "0.01"],
                            ["autotune", "--m", "4", "--k", "8", "--n", "8", "--budget", "2", "--isa", "portable"]] {
                let run = try Self.qforge(command + ["--db", scratch.path(name)])
                Self.expectRefused(run, mentioning: [name == "newer.sqlite" ? "newer QuantForge" : "another program"], "\(command) \(name)")
            }
        }
        #expect(try scratch.snapshot() == before)
    }

    /// Read-only commands create nothing — no file, directory, lock or journal — and list a
    /// database in a folder they cannot write; a typo'd path is an error, not a new directory tree.
    @Test func readOnlyCommandsCreateNothing() throws {
        let scratch = try Scratch()
        let database = scratch.path("tuning.sqlite")
        let tuned = try Self.qforge(["autotune", "--db", database, "--m", "4", "--k", "16", "--n", "16", "--budget", "3", "--isa", "portable"])
        #expect(tuned.status == 0, "\(tuned.output)")
        chmod(database, 0o444)
        chmod(scratch.url.path, 0o555)
        let before = try scratch.snapshot()
        let listed = try Self.qforge(["db", "list", "--db", database])
        #expect(listed.status == 0 && listed.stdout.contains("1 record(s)"), "\(listed.output)")
        #expect(try Self.qforge(["db", "export", "--db", database]).status == 0)
        #expect(try Self.qforge(["bench", "--db", database, "--shapes", "4x16x16", "--min-time", "0.01", "--isa", "portable"]).status == 0)
        #expect(try scratch.snapshot() == before)
        chmod(scratch.url.path, 0o755)
        let typo = scratch.path("a/b/c/tunning.sqlite")
        Self.expectRefused(try Self.qforge(["db", "list", "--db", typo]), mentioning: ["no such file"], "typo'd read")
        Self.expectRefused(try Self.qforge(["autotune", "--db", typo, "--m", "4", "--k", "8", "--n", "8", "--budget", "2"]),
                           mentioning: ["does not exist"], "typo'd write")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("a")))
    }

    /// `db export --out`, `aot --out`, `minilm --plot` and `fuzz --out` never clobber: an existing
    /// file QuantForge did not write, a symbolic link (its target untouched), a FIFO, the database
    /// itself, a missing directory — each refused before any work; `--force` replaces a link itself,
    /// never its target, and a file keeps its mode. Findings D4–D7.
    @Test func outputsNeverClobberWhatIsNotOurs() throws {
        let scratch = try Scratch()
        let database = scratch.path("tuning.sqlite")
        #expect(try Self.qforge(["db", "import", "--db", database, try scratch.write("empty.json", #"{"schemaVersion":1,"records":[],"measurements":[]}"#)]).status == 0)
        let readOnly = try scratch.write("readonly.json", "{\"mine\": true}\n", mode: 0o444)
        try scratch.write("victim.txt", "someone's data\n")
        try FileManager.default.createSymbolicLink(atPath: scratch.path("link.json"), withDestinationPath: scratch.path("victim.txt"))
        #expect(mkfifo(scratch.path("fifo"), 0o644) == 0)
        try FileManager.default.createDirectory(atPath: scratch.path("aot"), withIntermediateDirectories: false)
        try scratch.write("aot/qf_kernels.h", "/* my own header */\n")
        try scratch.write("plot.svg", "<svg>my drawing</svg>\n")
        let before = try scratch.snapshot()
        let aotBefore = try Data(contentsOf: URL(fileURLWithPath: scratch.path("aot/qf_kernels.h")))
        for out in [readOnly, scratch.path("link.json"), scratch.path("fifo"), database, scratch.path("missing/out.json")] {
            Self.expectRefused(try Self.qforge(["db", "export", "--db", database, "--out", out]), mentioning: ["refusing"], "export to \(out)")
        }
        Self.expectRefused(try Self.qforge(["aot", "--k", "16", "--n", "16", "--out", scratch.path("aot")]), mentioning: ["qf_kernels.h"], "aot over a foreign header")
        Self.expectRefused(try Self.qforge(["aot", "--k", "16", "--n", "16", "--out", scratch.path("missing/aot")]), mentioning: ["does not exist"], "aot into a missing parent")
        Self.expectRefused(try Self.qforge(["minilm", "--plot", scratch.path("plot.svg")]), mentioning: ["plot.svg"], "plot over a drawing")
        Self.expectRefused(try Self.qforge(["minilm", "--plot", scratch.path("missing/plot.svg")]), mentioning: ["does not exist"], "plot into a missing folder")
        Self.expectRefused(try Self.qforge(["fuzz", "--kernels", "1", "--out", readOnly]), mentioning: ["not a directory"], "fuzz --out a file")
        #expect(try scratch.snapshot() == before)
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("aot/qf_kernels.h"))) == aotBefore)

        // What QuantForge wrote it may replace; --force replaces a link itself, not its target.
        let export = scratch.path("export.json")
        #expect(try Self.qforge(["db", "export", "--db", database, "--out", export]).status == 0)
        chmod(export, 0o440)
        #expect(try Self.qforge(["db", "export", "--db", database, "--out", export]).status == 0)
        var info = stat()
        #expect(stat(export, &info) == 0 && info.st_mode & 0o777 == 0o440, "a replaced file keeps its mode")
        #expect(try Self.qforge(["db", "export", "--db", database, "--out", scratch.path("link.json"), "--force"]).status == 0)
        #expect(try String(contentsOfFile: scratch.path("victim.txt"), encoding: .utf8) == "someone's data\n")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: scratch.path("link.json"))) == nil)
        // aot into a fresh folder, then again into the same one (its own files, unchanged since).
        for _ in 0..<2 {
            let run = try Self.qforge(["aot", "--k", "16", "--n", "16", "--out", scratch.path("aot2")])
            #expect(run.status == 0, "\(run.output)")
        }
    }

    /// Command lines the libFuzzer `cli` target found stopping the process (each one's arguments as
    /// the target splits its input): parsing and validating them is an error at most.
    @Test(arguments: [
        ["db", "export", "--out", "\u{FFFD}onexistent/", "\r-son"],  // Foundation's path splitting trapped on it
    ])
    func commandLinesLibFuzzerFoundParseWithoutACrash(_ arguments: [String]) {
        _ = try? QForge.parseAsRoot(arguments)
        for path in arguments {
            _ = FileTrust.parent(of: path)
            _ = FileTrust.lastComponent(of: path)
            _ = try? OutputFile(path) { _ in false }.check()
        }
    }

    @Test func pathSplittingMatchesDirnameAndBasename() {
        let cases = [("a/b", "a", "b"), ("a/b/", "a", "b"), ("/a", "/", "a"), ("/", "/", "/"), ("a", ".", "a"), ("a//b//", "a", "b"),
                     ("\u{FFFD}onexistent/", ".", "\u{FFFD}onexistent"), ("//x", "/", "x"), ("", ".", "")]
        for (path, folder, name) in cases {
            #expect(FileTrust.parent(of: path) == folder, "dirname \(path)")
            #expect(FileTrust.lastComponent(of: path) == name, "basename \(path)")
        }
    }

    /// Fuzz reproducers never overwrite an earlier run's (same seed twice).
    @Test func reproducerNamesNeverCollide() throws {
        let scratch = try Scratch()
        let folder = OutputDirectory(scratch.path("failures"))
        let first = try folder.writeUnique(stem: "fuzz-1", extension: "json", Data("one".utf8))
        let second = try folder.writeUnique(stem: "fuzz-1", extension: "json", Data("two".utf8))
        #expect(first != second)
        #expect(try String(contentsOfFile: first, encoding: .utf8) == "one")
        #expect(try String(contentsOfFile: second, encoding: .utf8) == "two")
    }

    /// Numbers and strings no one could mean: each refused with a message and a non-zero exit,
    /// never a trap, an abort, a runaway thread count or an endless run. (Findings under "Crashes",
    /// "Hangs and exhaustion" and "Nonsense accepted".)
    @Test(arguments: [
        ["bench", "--schedule", "avx512vnni mr200000000000000 nv4", "--shapes", "8x16x16"],
        ["bench", "--memory=-1"], ["bench", "--threads", "100000"], ["bench", "--min-time", "inf"], ["bench", "--min-time=-1"],
        ["bench", "--min-time", "nan"], ["bench", "--shapes", ""], ["bench", "--shapes", "16777216x16777216x16777216"],
        ["bench", "--conv", "resnet50", "--schedule", "portable mr1 nv1"], ["bench", "--isa", ""],
        ["peak", "--seconds=-1"], ["peak", "--seconds", "nan"], ["peak", "--seconds", "0"],
        ["minilm", "--repeats=-3"], ["minilm", "--repeats", "0"], ["minilm", "--mode", "f32", "--method", "bogus"],
        ["accuracy", "--mode", "bogus"],
        ["fuzz", "--isa", ""], ["fuzz", "--isa", ","], ["fuzz", "--jobs=-5"], ["fuzz", "--inputs=-3"], ["fuzz", "--seconds=-1"],
        ["fuzz", "--kernels", "0"], ["fuzz", "--seconds", "nan"],
        ["autotune", "--isa", "", "--m", "4", "--k", "8", "--n", "8"], ["autotune", "--m", "4", "--k", "8", "--n", "8", "--budget", "-3"],
        ["aot", "--k", "16", "--n", "16", "--triple", "riscv64-linux-gnu", "--out", "/tmp/qforge-never"],
        ["aot", "--k", "16", "--n", "16", "--triple", "x86_64-linux-gnu", "--cpu", "nonsensecpu", "--out", "/tmp/qforge-never"],
        ["aot", "--k", "16", "--n", "16", "--triple", "aarch64-unknown-linux-gnu", "--features", "+avx2", "--out", "/tmp/qforge-never"],
        ["aot", "--k", "16", "--n", "16", "--triple", "wasm32", "--out", "/tmp/qforge-never"],
        ["aot", "--k", "16", "--n", "16", "--triple", "x86_64-linux-gnu", "--features=-sse2", "--out", "/tmp/qforge-never"],
        ["aot", "--k", "16", "--n", "16", "--name", "memcpy", "--out", "/tmp/qforge-never"],
        ["aot", "--k", "16", "--n", "16", "--name", "main", "--out", "/tmp/qforge-never"],
    ])
    func nonsenseIsRefused(_ arguments: [String]) throws {
        let run = try Self.qforge(arguments)
        Self.expectRefused(run, arguments.joined(separator: " "))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/qforge-never"))
    }

    /// Spec files, import files and replays are outside input too: a schedule that overflows, a
    /// kernel named after a C library function, records of absurd shapes, replays whose sizes
    /// overflow or whose schedule is for another ISA.
    @Test func outsideFilesAreValidatedBeforeUse() throws {
        let scratch = try Scratch()
        for (name, kernel) in [("overflow", #""schedule": "avx512vnni mr200000000000000 nv4""#), ("memcpy", #""name": "memcpy""#)] {
            let fields = kernel.hasPrefix("\"name\"") ? kernel : "\"name\": \"k\", \(kernel)"
            let spec = try scratch.write("\(name).json", #"{"kernels": [{"preset": "u8s8s32", "m": 4, "k": 16, "n": 16, "# + fields + "}]}")
            Self.expectRefused(try Self.qforge(["aot", "--spec", spec, "--out", scratch.path("out-\(name)")]), "aot spec \(name)")
        }
        let database = scratch.path("tuning.sqlite")
        let huge = try scratch.write("huge.json", """
            {"schemaVersion": 1, "measurements": [], "records": [{"key": {"operation": "x", "m": 3000000, "k": 3000000, "n": 3000000,
              "cpu": "c", "features": "f", "llvmMajor": 14, "generator": "g", "threads": 1},
              "best": "portable mr1 nv1", "bestMicroseconds": 1, "trials": 1}]}
            """)
        Self.expectRefused(try Self.qforge(["db", "import", "--db", database, huge]), mentioning: ["m"], "import of a huge shape")
        let listed = try Self.qforge(["db", "list", "--db", database])
        #expect(listed.status == 0 && listed.stdout.contains("0 record(s)"), "\(listed.output)")

        // Replays: one valid case, then each field made absurd.
        let valid = FuzzCase(op: .matmul(try MatMul(m: nil, k: 8, n: 8), m: 4), isa: .portable,
                             schedule: MatMulSchedule(isa: .portable, rowsPerTile: 2, vectorsPerRow: 1, kUnroll: 2), inputSeed: 3)
        let base = try JSONSerialization.jsonObject(with: JSONEncoder().encode(valid)) as! [String: Any]
        func variant(_ change: (inout [String: Any]) -> Void) throws -> String {
            var object = base
            change(&object)
            let path = scratch.path("case-\(UUID().uuidString).json")
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
            return path
        }
        func matmul(_ object: inout [String: Any], _ change: (inout [String: Any]) -> Void) {
            var op = object["op"] as! [String: Any]
            var fields = op["matmul"] as! [String: Any]
            change(&fields)
            op["matmul"] = fields
            object["op"] = op
        }
        func schedule(_ object: inout [String: Any], _ field: String, _ value: Any) {
            var schedule = object["schedule"] as! [String: Any]
            schedule[field] = value
            object["schedule"] = schedule
        }
        // tools/fuzz_replay_seed.json (the libFuzzer replay target's first input) is such a case too.
        for valid in [try variant { _ in }, SourceTree.url("tools/fuzz_replay_seed.json").path] {
            let replayed = try Self.qforge(["fuzz", "--replay", valid])
            #expect(replayed.status == 0, "\(valid) replays: \(replayed.output)")
        }
        let cases = [
            ("m = -4", try variant { matmul(&$0) { $0["m"] = -4 } }),
            ("m = k = 2^24", try variant { matmul(&$0) { fields in
                var op = fields["_0"] as! [String: Any]
                op["k"] = 16_777_216
                fields["_0"] = op
                fields["m"] = 16_777_216
            } }),
            ("rowsPerTile = Int.max", try variant { schedule(&$0, "rowsPerTile", Int.max) }),
            ("schedule for another ISA", try variant { schedule(&$0, "isa", "avx2") }),
        ]
        for (name, path) in cases {
            Self.expectRefused(try Self.qforge(["fuzz", "--replay", path]), mentioning: ["not a valid fuzz case"], "replay \(name)")
        }
    }

    /// A world-writable QFORGE_KERNEL_CACHE is refused with a warning, and nothing is read from it
    /// or written to it (finding S1's precondition); a template folder others can write is not used
    /// (S3).
    @Test func folderOthersCanWriteAreNotTrusted() throws {
        let scratch = try Scratch()
        let cache = scratch.path("cache")
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: false)
        chmod(cache, 0o777)
        let run = try Self.qforge(["bench", "--shapes", "4x16x16", "--min-time", "0.01", "--isa", "portable"],
                                  environment: ["QFORGE_KERNEL_CACHE": cache])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.stderr.contains("not using QFORGE_KERNEL_CACHE") && run.stderr.contains("writable by other users"), "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).isEmpty)

        let templates = scratch.path("templates")
        try FileManager.default.copyItem(atPath: SourceTree.url("templates").path, toPath: templates)
        chmod(templates, 0o777)
        Self.expectRefused(try Self.qforge(["aot", "--k", "16", "--n", "16", "--templates", templates, "--out", scratch.path("out")]),
                           mentioning: ["templates are not loaded from here"], "world-writable templates")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out")))
    }
}
