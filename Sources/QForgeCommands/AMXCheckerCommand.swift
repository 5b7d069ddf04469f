import ArgumentParser
import Foundation
import QuantForge
import QuantForgeTooling

/// `qforge amx-checker`: the standalone AMX checker, built and linked into one static program.
struct AMXCheckerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "amx-checker",
        abstract: "Build the standalone AMX checker: one static C program (AMX kernels, their VNNI twins, a C reference, timing).",
        discussion: """
            Copy the program to a machine with AMX and run it: it checks every shape bit-exact against its C reference and \
            times AMX against AVX-512 VNNI, alternating (`--check-only` skips the timing). --emulated builds the same program \
            with the tile operations emulated by AVX-512, which runs on any AVX-512 VNNI CPU.
            """)

    @Option(help: "Output directory (created if missing; files QuantForge did not write there are not replaced).") var out: String
    @Option(help: "Program name (a C identifier).") var name: String = "amx_checker"
    @Flag(help: "Emulate the tile operations with AVX-512 (runs without AMX).") var emulated = false
    @Option(help: "Comma-separated MxKxN shapes (u8 A, s8 B, int32 C; default: the peers' M >= 16 shapes, 1024^3 and two with tails).")
    var shapes: String?
    @Option(help: "The C compiler that links the program.") var cc: String = "/usr/bin/cc"
    @Flag(help: "Replace files in --out that QuantForge did not write (or that were edited since).") var force = false

    func validate() throws {
        guard name.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
            throw ValidationError("--name '\(name)' is not a C identifier")
        }
        try OutputDirectory(out, force: force).check(names: [])
    }

    func run() throws {
        var chosen = AMXChecker.defaultShapes
        if let shapes {
            chosen = try OptionChecks.shapes(shapes).map { AMXChecker.Shape(m: $0.m, k: $0.k, n: $0.n) }
        }
        var files = try AMXChecker.build(shapes: chosen, emulated: emulated, name: name)
        // Linked in a private scratch folder, then published with the sources like any output.
        let scratch = try FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask,
                                                  appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        for (file, bytes) in files { try Data(bytes).write(to: scratch.appendingPathComponent(file)) }
        let program = scratch.appendingPathComponent(name).path
        let outcome = try ExternalProcess.run(cc, ["-O2", "-static", "-o", program] + ["\(name).c", "\(name)_kernels.o", "\(name)_peak.o"]
            .map { scratch.appendingPathComponent($0).path })
        guard outcome.status == 0 else { throw ValidationError("\(cc) could not link the checker:\n\(outcome.stderr)") }
        files[name] = Array(try Data(contentsOf: URL(fileURLWithPath: program)))
        try OutputDirectory(out, force: force).write(files.mapValues { Data($0) })
        let published = URL(fileURLWithPath: out).appendingPathComponent(name).path
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: published)
        print("\(published): \(chosen.count) shapes, \(emulated ? "AMX emulated with AVX-512" : "AMX"); run it (--check-only skips the timing)")
    }
}
