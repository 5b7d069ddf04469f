import Crypto
import Foundation
import QuantFiles
import QuantOps
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Compiled kernel objects on disk, so that a later process links them instead of running LLVM's
/// code generator. Machine code from here runs in the process, so nothing is trusted blindly:
///
/// - the directory is created with mode 0700, and refused (`refusal`, a warning, no cache at all)
///   when it is not owned by the effective user, is writable by others, or sits under a directory
///   others can replace;
/// - each entry holds its full key — the IR's SHA-256, the target, LLVM's version, the IR pass
///   pipeline and the generator version — and an HMAC-SHA256 over key and object, made with a
///   per-directory secret (`.key`, mode 0600) that only the owner can read: an entry planted or
///   changed by anyone else fails the check;
/// - an entry that is not a regular file owned by the user, is writable by others, is damaged, is
///   for another key, or that LLVM refuses to link is deleted and the kernel compiled again
///   (`lastDiscard` says why); none of these is ever fatal.
public final class KernelObjectCache: @unchecked Sendable {
    public let directory: URL
    /// Why this directory is not used (nil: it is). A refused cache loads and stores nothing.
    public let refusal: String?
    private let secret: SymmetricKey?
    private let lock = NSLock()
    private var error: String?
    private var discarded: String?

    public init(directory: URL) {
        self.directory = directory
        var refusal: String? = nil
        var secret: SymmetricKey? = nil
        do {
            try FileTrust.createPrivateDirectory(directory.path)
            if let reason = FileTrust.distrustDirectory(directory.path, ownedByMe: true) {
                refusal = reason
            } else {
                secret = try Self.secret(in: directory.path)
            }
        } catch {
            refusal = error.description
        }
        self.refusal = refusal
        self.secret = secret
    }

    /// `$QFORGE_KERNEL_CACHE` as a directory, when set and trusted; when refused, a warning goes
    /// to standard error (once) and there is no disk cache.
    public static var fromEnvironment: KernelObjectCache? {
        guard let path = ProcessInfo.processInfo.environment["QFORGE_KERNEL_CACHE"], !path.isEmpty else { return nil }
        let cache = KernelObjectCache(directory: URL(fileURLWithPath: path))
        if let refusal = cache.refusal {
            FileHandle.standardError.write(Data("quantforge: warning: not using QFORGE_KERNEL_CACHE=\(path): \(refusal)\n".utf8))
            return nil
        }
        return cache
    }

    /// The per-directory HMAC key, created on first use (32 random bytes, mode 0600, never through
    /// a link) and refused when anyone but the user could have read or written it.
    static func secret(in directory: String) throws(QuantError) -> SymmetricKey {
        let path = directory + "/.key"
        if FileTrust.status(path) == nil {
            var bytes = [UInt8](repeating: 0, count: 32)
            var generator = SystemRandomNumberGenerator()
            for index in bytes.indices { bytes[index] = generator.next() }
            let temporary = directory + "/.key.\(UInt32.random(in: 0...UInt32.max))"
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw .fileRefused(path: path, reason: "cannot create: \(FileTrust.lastErrorMessage)") }
            let wrote = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, 32) }
            close(descriptor)
            // link never replaces: when another process made the key first, theirs is used.
            if wrote != 32 || (link(temporary, path) != 0 && errno != EEXIST) {
                unlink(temporary)
                throw .fileRefused(path: path, reason: "cannot write the cache key: \(FileTrust.lastErrorMessage)")
            }
            unlink(temporary)
        }
        let (data, info) = try FileTrust.readRegularFile(path, limit: 64)
        guard info.st_uid == geteuid(), info.st_mode & 0o077 == 0, data.count == 32 else {
            throw .fileRefused(path: path, reason: "the cache key must be 32 bytes, owned by this user, mode 0600")
        }
        return SymmetricKey(data: data)
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

    /// The entry's file name: the SHA-256 of its full key.
    public func file(_ key: String) -> URL {
        directory.appendingPathComponent(Digest.sha256(Data(key.utf8)).prefix(40) + ".qfko")
    }

    /// Entry layout: magic, format version, key length (u32), object length (u64), the key's UTF-8,
    /// the object, HMAC-SHA256 of everything before it.
    static let magic: [UInt8] = Array("QFKO".utf8)
    static let formatVersion: UInt32 = 2
    static let fixedHeaderBytes = 4 + 4 + 4 + 8
    static let macBytes = 32
    /// The largest entry read (a kernel object is tens of kilobytes).
    static let entryLimit = 64 << 20

    /// The object stored under `key`, or nil. An entry that cannot be used is deleted
    /// (`lastDiscard` says why) and the caller compiles the kernel again.
    public func load(_ key: String) -> [UInt8]? {
        guard let secret else { return nil }
        let url = file(key)
        guard FileTrust.status(url.path) != nil else { return nil }
        let bytes: [UInt8]
        do {
            let (data, info) = try FileTrust.readRegularFile(url.path, limit: Self.entryLimit)
            if let reason = FileTrust.distrust(info, path: url.path, allowRoot: false) {
                discard(key, because: reason)
                return nil
            }
            bytes = Array(data)
        } catch {
            discard(key, because: error.description)
            return nil
        }
        switch Self.unpack(bytes, key: key, secret: secret) {
        case let .success(object): return object
        case let .failure(problem):
            discard(key, because: problem.reason)
            return nil
        }
    }

    struct Problem: Error { let reason: String }

    /// The object inside `bytes` when they are an intact entry for `key` made with `secret`.
    static func unpack(_ bytes: [UInt8], key: String, secret: SymmetricKey) -> Result<[UInt8], Problem> {
        guard bytes.count >= fixedHeaderBytes + macBytes, Array(bytes[0..<4]) == magic else {
            return .failure(Problem(reason: "not a QuantForge kernel object entry"))
        }
        func integer(_ offset: Int, _ count: Int) -> UInt64 {
            (0..<count).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
        }
        let version = UInt32(integer(4, 4))
        guard version == formatVersion else { return .failure(Problem(reason: "format version \(version), this build uses \(formatVersion)")) }
        let keyLength = Int(integer(8, 4)), objectLength = integer(12, 8)
        guard objectLength <= UInt64(entryLimit),
              fixedHeaderBytes + keyLength + Int(objectLength) + macBytes == bytes.count else {
            return .failure(Problem(reason: "truncated or padded: \(bytes.count) bytes do not match the lengths in the header"))
        }
        let body = bytes[..<(bytes.count - macBytes)]
        guard HMAC<SHA256>.isValidAuthenticationCode(bytes[(bytes.count - macBytes)...], authenticating: body, using: secret) else {
            return .failure(Problem(reason: "its authentication code does not match (damaged, or not written by this user's QuantForge)"))
        }
        guard bytes[fixedHeaderBytes..<(fixedHeaderBytes + keyLength)].elementsEqual(Array(key.utf8)) else {
            return .failure(Problem(reason: "an entry for another key"))
        }
        return .success(Array(bytes[(fixedHeaderBytes + keyLength)..<(bytes.count - macBytes)]))
    }

    /// An entry for `object` under `key`.
    static func pack(_ object: [UInt8], key: String, secret: SymmetricKey) -> [UInt8] {
        var bytes = magic
        withUnsafeBytes(of: formatVersion.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(key.utf8.count).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt64(object.count).littleEndian) { bytes += $0 }
        bytes += Array(key.utf8) + object
        bytes += Array(HMAC<SHA256>.authenticationCode(for: bytes, using: secret))
        return bytes
    }

    /// The last entry deleted because it could not be used, and why (nil: none so far).
    public var lastDiscard: String? {
        lock.lock()
        defer { lock.unlock() }
        return discarded
    }

    /// Deletes the entry for `key` (one that could not be used), keeping the reason in `lastDiscard`.
    public func discard(_ key: String, because reason: String) {
        guard secret != nil else { return }
        unlink(file(key).path)
        lock.lock()
        discarded = "discarded \(file(key).path): \(reason)"
        lock.unlock()
    }

    /// Writes atomically (a temporary file renamed into place, mode 0600), so a reader never sees
    /// half an entry.
    public func store(_ key: String, _ object: [UInt8]) {
        guard let secret else { return }
        do {
            try OutputFile.writeAtomically(Data(Self.pack(object, key: key, secret: secret)), to: file(key).path,
                                           directory: directory.path, mode: 0o600)
            note(nil)
        } catch {
            note("cannot write \(file(key).path): \(error.description)")
        }
    }

    /// Why `object` is not a relocatable ELF object for `triple`'s machine (nil: it is one). Checked
    /// before LLVM links it, since LLVM aborts the process on some malformed objects.
    public static func objectProblem(_ object: [UInt8], triple: String) -> String? {
        guard object.count >= 64, object[0..<4].elementsEqual([0x7f, 0x45, 0x4c, 0x46]) else { return "not an ELF file" }
        guard object[4] == 2, object[5] == 1 else { return "not a 64-bit little-endian ELF file" }
        let type = UInt16(object[16]) | UInt16(object[17]) << 8
        let machine = UInt16(object[18]) | UInt16(object[19]) << 8
        guard type == 1 else { return "ELF type \(type), not a relocatable object" }
        let expected: UInt16 = triple.hasPrefix("aarch64") || triple.hasPrefix("arm64") ? 183 : 62
        guard machine == expected else { return "ELF machine \(machine), this target needs \(expected)" }
        return nil
    }
}
