import Foundation
import QuantOps
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file QuantForge writes for the user (`db export --out`, `minilm --plot`, one file of an AOT
/// library). It is written atomically — a temporary file in the same directory, renamed into place —
/// and never clobbers what QuantForge did not write: an existing file is replaced only when
/// `recognizes` says its content is QuantForge's own, or with `force`; a symbolic link only with
/// `force` (the link itself is replaced, never its target); anything else that is not a regular
/// file (a directory, a FIFO, a device) never. `check` can run before any long work, so that a bad
/// path fails at once.
public struct OutputFile: Sendable {
    public let path: String
    public let force: Bool
    private let recognizes: @Sendable (Data) -> Bool

    /// The largest existing file read to decide whether it is QuantForge's.
    static let recognitionLimit = 256 << 20

    public init(_ path: String, force: Bool = false, recognizes: @escaping @Sendable (Data) -> Bool) {
        self.path = path
        self.force = force
        self.recognizes = recognizes
    }

    var directory: String { FileTrust.parent(of: path) }

    /// Throws `fileRefused` when writing `path` would lose something: its directory is missing or
    /// not writable, it is one of `inputs`, or it holds what QuantForge did not write.
    /// Returns the mode of the file it would replace (nil: a new file).
    @discardableResult
    public func check(inputs: [String] = []) throws(QuantError) -> mode_t? {
        guard !path.isEmpty else { throw .fileRefused(path: path, reason: "empty output path") }
        var parent = stat()
        guard stat(directory, &parent) == 0, FileTrust.isDirectory(parent) else {
            throw .fileRefused(path: path, reason: "the directory \(directory) does not exist")
        }
        guard access(directory, W_OK) == 0 else {
            throw .fileRefused(path: path, reason: "cannot write into \(directory): \(FileTrust.lastErrorMessage)")
        }
        for input in inputs where FileTrust.sameFile(path, input) {
            throw .fileRefused(path: path, reason: "it is also an input (\(input)); choose another output")
        }
        guard let info = FileTrust.status(path) else { return nil }
        if FileTrust.isSymbolicLink(info) {
            if force { return nil }
            throw .fileRefused(path: path, reason: "it is a symbolic link; --force replaces the link itself (not its target)")
        }
        guard FileTrust.isRegularFile(info) else {
            throw .fileRefused(path: path, reason: "it exists and is not a regular file")
        }
        if force { return info.st_mode & 0o7777 }
        let existing = try FileTrust.readRegularFile(path, limit: Self.recognitionLimit)
        guard recognizes(existing.data) else {
            throw .fileRefused(path: path, reason: "it exists and was not written by QuantForge; --force replaces it")
        }
        return info.st_mode & 0o7777
    }

    /// Writes `data` atomically after checking again (see `check`). A replaced file keeps its mode.
    public func write(_ data: Data, inputs: [String] = []) throws(QuantError) {
        let mode = try check(inputs: inputs)
        try Self.writeAtomically(data, to: path, directory: directory, mode: mode)
    }

    /// A temporary file next to `path`, filled, flushed and renamed over it (`mode` nil: 0666 less
    /// the umask). No check: for files in a directory QuantForge owns (the kernel cache).
    public static func writeAtomically(_ data: Data, to path: String, directory: String, mode: mode_t?) throws(QuantError) {
        let temporary = try writeTemporary(data, directory: directory, name: FileTrust.lastComponent(of: path), mode: mode)
        if rename(temporary, path) != 0 {
            let reason = FileTrust.lastErrorMessage
            unlink(temporary)
            throw .fileRefused(path: path, reason: "cannot rename the written file into place: \(reason)")
        }
    }

    /// Writes `data` to a new file in `directory` (created exclusively, never through a link) and
    /// returns its path.
    static func writeTemporary(_ data: Data, directory: String, name: String, mode: mode_t?) throws(QuantError) -> String {
        let temporary = "\(directory)/.\(name).qforge-\(UInt64.random(in: 0...UInt64.max) & 0xffff_ffff_ffff)"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode ?? 0o666)
        guard descriptor >= 0 else {
            throw .fileRefused(path: temporary, reason: "cannot create: \(FileTrust.lastErrorMessage)")
        }
        var failure: String? = nil
        if let mode, fchmod(descriptor, mode) != 0 { failure = "cannot set its mode: \(FileTrust.lastErrorMessage)" }
        if failure == nil { failure = writeAll(descriptor, data) }
        if failure == nil && fsync(descriptor) != 0 { failure = "cannot flush: \(FileTrust.lastErrorMessage)" }
        close(descriptor)
        if let failure {
            unlink(temporary)
            throw .fileRefused(path: temporary, reason: failure)
        }
        return temporary
    }

    /// Writes every byte; returns why it could not (nil: all written).
    static func writeAll(_ descriptor: Int32, _ data: Data) -> String? {
        data.withUnsafeBytes { bytes -> String? in
            var done = 0
            while done < bytes.count {
                let wrote = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
                if wrote < 0 && errno == EINTR { continue }
                if wrote <= 0 { return "cannot write: \(FileTrust.lastErrorMessage)" }
                done += wrote
            }
            return nil
        }
    }
}
