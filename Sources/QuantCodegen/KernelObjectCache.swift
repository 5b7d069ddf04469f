import Foundation

/// Compiled kernel objects on disk, keyed by a hash of the kernel's IR and target, so that a later
/// process loads them instead of running LLVM's code generator. Best effort: an unreadable or
/// unwritable directory only means no disk cache (the reason is kept in `lastError`).
public final class KernelObjectCache: @unchecked Sendable {
    public let directory: URL
    private let lock = NSLock()
    private var error: String?

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

    public func load(_ key: String) -> [UInt8]? {
        guard let data = try? Data(contentsOf: file(key)), !data.isEmpty else { return nil }
        return Array(data)
    }

    /// Writes atomically (a temporary file renamed into place), so a reader never sees half a file.
    public func store(_ key: String, _ object: [UInt8]) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(object).write(to: file(key), options: .atomic)
            note(nil)
        } catch {
            note("cannot write \(file(key).path): \(error.localizedDescription)")
        }
    }
}
