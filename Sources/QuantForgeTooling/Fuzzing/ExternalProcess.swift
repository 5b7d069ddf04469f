import Foundation
import QuantForge

/// Runs an external program to completion, capturing its output.
public enum ExternalProcess {
    public struct Outcome: Sendable {
        /// The exit status; a negative value is the signal that killed the process.
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs `executable` with `arguments`; `environment` entries are added to this process's
    /// (without `QFORGE_ISA`, which would otherwise leak a forced ISA into the child).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws(QuantError) -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged.removeValue(forKey: "QFORGE_ISA")
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch {
            throw .compilationFailed(stage: "process", message: "cannot run \(executable): \(error)")
        }
        // Drain both pipes concurrently so that neither fills up and blocks the child.
        nonisolated(unsafe) var stderrData = Data()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            stderrData = errors.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        let stdout = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        drained.wait()
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
        return Outcome(status: status, stdout: stdout, stderr: String(decoding: stderrData, as: UTF8.self))
    }
}
