import ArgumentParser
import Foundation
import QuantForge

/// `qforge db list|show|export|import`: the tuning database.
struct DBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "db", abstract: "Inspect, export and import the tuning database.",
                                                    subcommands: [List.self, Show.self, Export.self, Import.self])

    struct Options: ParsableArguments {
        @Option(help: "Tuning database (default: \(TuningDatabase.defaultPath)).") var db: String?
        var path: String { db ?? TuningDatabase.defaultPath }
        /// Listing and exporting open read-only: they create and change nothing.
        func open(_ access: TuningDatabase.Access = .readOnly) throws -> TuningDatabase {
            let database = try TuningDatabase(path: path, access: access)
            for warning in database.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            return database
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per tuned shape.")
        @OptionGroup var options: Options
        func run() throws {
            let records = try options.open().records()
            for record in records {
                let key = record.key
                let gmacs = Double(max(key.m, 1)) * Double(key.k) * Double(key.n) / record.bestMicroseconds / 1e3
                print(String(format: "%5d x %5d x %5d  %2d thr  %8.1f GMAC/s  %@  |  %@", key.m, key.k, key.n, key.threads, gmacs,
                             record.best, key.operation))
            }
            print("\(records.count) record(s)")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every field of the matching records.")
        @OptionGroup var options: Options
        @Option(help: "Only this M.") var m: Int?
        @Option(help: "Only this K.") var k: Int?
        @Option(help: "Only this N.") var n: Int?
        func run() throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            for record in try options.open().records()
            where (m == nil || record.key.m == m) && (k == nil || record.key.k == k) && (n == nil || record.key.n == n) {
                print(String(decoding: try encoder.encode(record), as: UTF8.self))
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write every record and measurement as JSON.")
        @OptionGroup var options: Options
        @Option(help: "Output file (default: stdout). An existing file is replaced only if it is an earlier export.") var out: String?
        @Flag(help: "Replace --out even if it is not an earlier export (or is a symbolic link: the link is replaced).") var force = false

        var output: OutputFile? {
            out.map { OutputFile($0, force: force) { TuningDatabase.isExport($0) } }
        }

        func validate() throws { try output?.check(inputs: [options.path]) }

        func run() throws {
            let data = try options.open().export()
            if let output { try output.write(data, inputs: [options.path]) } else {
                FileHandle.standardOutput.write(data)
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Merge an export into the database (keeps the faster of each).")
        @OptionGroup var options: Options
        @Argument(help: "A file written by `qforge db export`.") var file: String
        func run() throws {
            let data = try FileTrust.readRegularFile(file, limit: 1 << 30, followLinks: true).data
            let count = try options.open(.readWrite).importMerging(data)
            print("merged \(count) record(s)")
        }
    }
}
