import Foundation

/// Compiled kernel objects on disk, keyed by a hash of the kernel's IR and target, so that a later
/// process loads them instead of running LLVM's code generator. Best effort: an unreadable or
/// unwritable directory only means no disk cache (the reason is kept in `lastError`), and a damaged
/// entry is deleted and compiled again (`lastDiscard` says why).
public final class KernelObjectCache: @unchecked Sendable {
    public let directory: URL
    private let lock = NSLock()
    private var error: String?
    private var discarded: String?

    public init(directory: URL) {
        self.directory = directory
    }

    /// `$QFORGE_KERNEL_CACHE` as a directory, when set.
    public static var fromEnvironment: KernelObjectCache? {
        guard let path = ProcessInfo.processInfo.environment["QFORGE_KERNEL_CACHE"], !path.isEmpty else { return nil }
        return KernelObjectCache(directory: URL(fileURLWithPath: path))
    }

    /// The last failure to read or write the cache (nil when it works).
    public var lastError: String? {
        lock.lock()
        defer { lock.unlock() }
        return error
    }

    private func note(_ message: String?) {
        lock.lock()
        error = message
        lock.unlock()
    }

    private func file(_ key: String) -> URL { directory.appendingPathComponent("\(key).o") }

    /// Every entry starts with this header: magic, format version, the object's length and its
    /// `StableHash`, so that a truncated or damaged file is noticed before LLVM reads it.
    static let magic: [UInt8] = Array("QFKO".utf8)
    static let formatVersion: UInt32 = 1
    static let headerBytes = 4 + 4 + 8 + 8

    /// The object stored under `key`, or nil. An entry that is truncated, damaged or in another
    /// format is deleted (`lastDiscard` says why): the caller compiles the kernel again.
    public func load(_ key: String) -> [UInt8]? {
        let url = file(key)
        guard let data = try? Data(contentsOf: url) else { return nil }
        let bytes = Array(data)
        if let problem = Self.problem(with: bytes) {
            discard(key, because: problem)
            return nil
        }
        return Array(bytes[Self.headerBytes...])
    }

    /// The last entry deleted because it could not be used, and why (nil: none so far).
    public var lastDiscard: String? {
        lock.lock()
        defer { lock.unlock() }
        return discarded
    }

    /// Deletes the entry for `key` (one that could not be used), keeping the reason in `lastDiscard`.
    public func discard(_ key: String, because reason: String) {
        try? FileManager.default.removeItem(at: file(key))
        lock.lock()
        discarded = "discarded \(file(key).path): \(reason)"
        lock.unlock()
    }

    /// Writes atomically (a temporary file renamed into place), so a reader never sees half a file.
    public func store(_ key: String, _ object: [UInt8]) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(Self.header(for: object) + object).write(to: file(key), options: .atomic)
            note(nil)
        } catch {
            note("cannot write \(file(key).path): \(error.localizedDescription)")
        }
    }

    static func header(for object: [UInt8]) -> [UInt8] {
        var header = magic
        withUnsafeBytes(of: formatVersion.littleEndian) { header += $0 }
        withUnsafeBytes(of: UInt64(object.count).littleEndian) { header += $0 }
        withUnsafeBytes(of: checksum(object[...]).littleEndian) { header += $0 }
        return header
    }

    static func checksum(_ object: ArraySlice<UInt8>) -> UInt64 {
        var hash = StableHash()
        object.withUnsafeBufferPointer { hash.combine(bytes: $0) }
        return hash.value
    }

    /// Why `bytes` is not a usable entry (nil: it is one).
    static func problem(with bytes: [UInt8]) -> String? {
        guard bytes.count >= headerBytes, Array(bytes[0..<4]) == magic else { return "not a QuantForge kernel object" }
        func word(_ offset: Int) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
        }
        let version = UInt32(truncatingIfNeeded: word(4) & 0xffff_ffff)
        guard version == formatVersion else { return "format version \(version), this build uses \(formatVersion)" }
        let length = word(8)
        guard length == UInt64(bytes.count - headerBytes) else {
            return "truncated or padded: \(bytes.count - headerBytes) bytes of object, the header says \(length)"
        }
        guard checksum(bytes[headerBytes...]) == word(16) else { return "checksum mismatch (damaged file)" }
        return nil
    }
}
