import Foundation
import QuantForge
import QuantForgeTooling
import Testing

/// Compiles C test programs for the host (`cc`) or AArch64 (`aarch64-linux-gnu-gcc -static`, run
/// under `qemu-aarch64`) and runs them.
enum CToolchain {
    enum Architecture { case host, aarch64 }

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func compiler(_ architecture: Architecture) -> String {
        architecture == .host ? "/usr/bin/cc" : CrossRunner.compiler
    }

    /// Builds `program` from C sources and objects (and `libraries`, e.g. "m"); fails the test with
    /// the compiler's message.
    static func build(_ architecture: Architecture, sources: [URL], objects: [URL] = [], defines: [String] = [],
                      includes: [URL] = [], libraries: [String] = [], output: URL) throws {
        try #require(FileManager.default.isExecutableFile(atPath: compiler(architecture)), "\(compiler(architecture)) is missing")
        var arguments = ["-O2", "-std=gnu11"] + (architecture == .aarch64 ? ["-static"] : [])
        arguments += includes.flatMap { ["-I", $0.path] } + defines.map { "-D" + $0 }
        arguments += sources.map(\.path) + objects.map(\.path) + libraries.map { "-l" + $0 } + ["-o", output.path]
        let result = try run(compiler(architecture), arguments)
        try #require(result.status == 0, "compile failed: \(result.stderr)")
    }

    /// Runs a program natively or under qemu (`cpu` selects qemu's CPU model).
    static func execute(_ program: URL, _ architecture: Architecture, _ arguments: [String], cpu: String? = nil,
                        environment: [String: String] = [:]) throws -> Outcome {
        if architecture == .host { return try run(program.path, arguments, environment: environment) }
        return try run(CrossRunner.emulator, (cpu.map { ["-cpu", $0] } ?? []) + [program.path] + arguments, environment: environment)
    }

    /// Runs a process; a negative status is the signal that killed it.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        let outcome = try ExternalProcess.run(executable, arguments, environment: environment)
        return Outcome(status: outcome.status, stdout: outcome.stdout, stderr: outcome.stderr)
    }
}
