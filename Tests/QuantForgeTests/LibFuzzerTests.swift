import Foundation
import QuantForge
import QuantForgeTooling
import Testing

/// CI's short run of the libFuzzer targets (Sources/FuzzTargets: the AOT spec JSON, the tuning
/// database import, safetensors, the C API's op description, the command line, fuzz replays): `tools/libfuzzer.sh` builds them with
/// `-sanitize=fuzzer,address` in `.build-fuzz` and fuzzes each for a few seconds; a crash, a leak
/// report or an ASan error fails the script. Skipped inside the sanitizer scripts' own runs.
struct LibFuzzerTests {
    static let seconds = 10

    @Test(.enabled(if: ProcessInfo.processInfo.environment["QFORGE_SANITIZER"] == nil, "already under a sanitizer"))
    func everyTargetRunsCleanForAShortTime() throws {
        let script = SourceTree.url("tools/libfuzzer.sh").path
        let outcome = try ExternalProcess.run("/bin/bash", [script, "\(Self.seconds)"])
        #expect(outcome.status == 0, "tools/libfuzzer.sh exited \(outcome.status):\n\(outcome.stdout.suffix(3000))\n\(outcome.stderr.suffix(3000))")
        for target in ["spec", "database", "safetensors", "cdesc", "cli", "replay"] {
            #expect(outcome.stdout.contains("== \(target), \(Self.seconds) s"), "\(target) did not run")
        }
        // libFuzzer's final line per target: "Done N runs in S second(s)".
        let done = outcome.stdout.split(separator: "\n").filter { $0.hasPrefix("Done ") && $0.contains(" runs in ") }
        #expect(done.count == 6, "\(outcome.stdout.suffix(3000))")
    }
}
