import Foundation

/// `QFORGE_DUMP=stage[,stage...]` prints intermediate forms to stderr: `schedule`, `llvm` (IR as
/// emitted), `llvm-opt` (after the IR pipeline), `asm` (the target's assembly), `timing` (compile phases), or `all`.
public enum IRDump {
    public static let stages: Set<String> = {
        let value = ProcessInfo.processInfo.environment["QFORGE_DUMP"] ?? ""
        return Set(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }()

    public static func enabled(_ stage: String) -> Bool { stages.contains(stage) || stages.contains("all") }

    public static func write(_ stage: String, _ title: String, _ text: @autoclosure () -> String) {
        guard enabled(stage) else { return }
        FileHandle.standardError.write(Data("; ==== QFORGE_DUMP \(stage): \(title)\n\(text())\n".utf8))
    }
}

