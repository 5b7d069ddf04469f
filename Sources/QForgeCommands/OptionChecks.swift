import ArgumentParser
import Foundation
import QuantForge

/// Checks of command-line values, run in each command's `validate()` so that nonsense is refused
/// before any work starts (and before any file is opened): finite positive durations, counts in a
/// stated range, thread counts the machine can hold, non-empty lists, shapes whose products fit.
enum OptionChecks {
    /// `value` seconds: finite and in (0, `limit`].
    static func seconds(_ value: Double, _ option: String, limit: Double = 24 * 3600) throws {
        guard value.isFinite, value > 0, value <= limit else {
            throw ValidationError("--\(option) \(value) must be a number of seconds in (0, \(Int(limit))]")
        }
    }

    static func count(_ value: Int, _ option: String, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ValidationError("--\(option) \(value) must be in \(range.lowerBound)...\(range.upperBound)")
        }
    }

    static func threads(_ value: Int, _ option: String = "threads") throws {
        try count(value, option, 1...ThreadPool.threadLimit)
    }

    /// The cores `threads` threads can keep busy: the peak of more threads than processors is the
    /// peak of the processors.
    static func coresUsed(_ threads: Int) -> Int { min(threads, max(1, ProcessInfo.processInfo.activeProcessorCount)) }

    /// A comma-separated ISA list with at least one entry, each a known ISA.
    static func isas(_ text: String, _ option: String = "isa") throws -> [ISA] {
        let words = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !words.isEmpty, words.allSatisfy({ !$0.isEmpty }) else {
            throw ValidationError("--\(option) '\(text)' names no instruction set; known: \(ISA.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return try words.map { try ISA.parse($0) }
    }

    /// The most bytes a benchmark shape's operands (A, B, and an int32 C) may take.
    static let shapeByteLimit = 8 << 30

    /// Comma-separated MxKxN shapes: at least one, every dimension in 1...2^24, operands under
    /// `shapeByteLimit`.
    static func shapes(_ text: String, _ option: String = "shapes") throws -> [(m: Int, k: Int, n: Int)] {
        let parsed = try text.split(separator: ",").map { word -> (m: Int, k: Int, n: Int) in
            let parts = word.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard parts.count == 3, let m = parts[0], let k = parts[1], let n = parts[2],
                  [m, k, n].allSatisfy({ (1...MatMul.maxDimension).contains($0) }) else {
                throw ValidationError("--\(option): bad shape '\(word)', expected MxKxN with each in 1...\(MatMul.maxDimension)")
            }
            let bytes = CheckedArithmetic.sum([m * k, k * n, m * n * 4])
            guard let bytes, bytes <= shapeByteLimit else {
                throw ValidationError("--\(option): shape '\(word)' needs more than \(shapeByteLimit >> 30) GiB of operands")
            }
            return (m, k, n)
        }
        guard !parsed.isEmpty else { throw ValidationError("--\(option) names no shape") }
        return parsed
    }

    /// A schedule string that parses (its fit to a shape is checked when compiling).
    static func schedule(_ text: String?) throws {
        guard let text else { return }
        do { _ = try MatMulSchedule(parsing: text) } catch { throw ValidationError("--schedule: \(error)") }
    }
}
