import Foundation
import QuantOps
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a file or directory may be trusted with code or data QuantForge will load: it must be
/// owned by the effective user (or root) and writable by nobody else. Code and data are never
/// loaded from a place another user could have written (the kernel cache, templates, C drivers).
public enum FileTrust {
    /// What `lstat` says of `path`, or nil when nothing is there.
    public static func status(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    public static func isSymbolicLink(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFLNK }
    public static func isRegularFile(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFREG }
    public static func isDirectory(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFDIR }

    /// Why an entry with `info` must not be trusted (nil: it may). `root` also trusts entries owned
    /// by root (system directories); group- or world-writable entries are never trusted, except a
    /// directory with the sticky bit (such as /tmp) when `stickyAllowed`.
    public static func distrust(_ info: stat, path: String, allowRoot: Bool = true, stickyAllowed: Bool = false) -> String? {
        let me = geteuid()
        if info.st_uid != me && !(allowRoot && info.st_uid == 0) {
            return "\(path) is owned by uid \(info.st_uid), not by this user (uid \(me))"
        }
        let writableByOthers = info.st_mode & (S_IWGRP | S_IWOTH) != 0
        if writableByOthers && !(stickyAllowed && isDirectory(info) && info.st_mode & S_ISVTX != 0) {
            return "\(path) is writable by other users (mode \(String(info.st_mode & 0o7777, radix: 8)))"
        }
        return nil
    }

    /// Why the directory at `path` must not be trusted with code QuantForge loads or compiles: it
    /// is missing, not a directory, owned by another user, or writable by others — or one of its
    /// ancestors could be replaced by another user (writable by others without the sticky bit),
    /// along the path as written and along its real path (links resolved).
    /// `ownedByMe`: the directory itself must be the effective user's (root's is not enough).
    public static func distrustDirectory(_ path: String, ownedByMe: Bool = false) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return "\(path) does not exist" }
        guard isDirectory(info) else { return "\(path) is not a directory" }
        if let reason = distrust(info, path: path, allowRoot: !ownedByMe) { return reason }
        var chains = [absolute(path)]
        if let resolved = realpath(path, nil) {
            chains.append(String(cString: resolved))
            free(resolved)
        }
        for chain in chains {
            var ancestor = parent(of: chain)
            while true {
                var parentInfo = stat()
                guard stat(ancestor, &parentInfo) == 0 else { return "cannot inspect \(ancestor)" }
                if let reason = distrust(parentInfo, path: ancestor, stickyAllowed: true) { return reason }
                if ancestor == "/" || ancestor == "." { break }
                ancestor = parent(of: ancestor)
            }
        }
        return nil
    }

    /// `path` made absolute against the working directory (not normalized).
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }

    /// The folder part of `path`, as `dirname` gives it ("." when there is none). Plain byte
    /// work on `/`: Foundation's path functions have stopped the process on odd strings (found by
    /// the libFuzzer `cli` target), and these strings come from outside.
    public static func parent(of path: String) -> String {
        var bytes = Array(path.utf8)
        while bytes.count > 1 && bytes.last == 0x2F { bytes.removeLast() }
        guard let slash = bytes.lastIndex(of: 0x2F) else { return "." }
        var folder = Array(bytes[..<slash])
        while folder.count > 1 && folder.last == 0x2F { folder.removeLast() }
        return folder.isEmpty ? "/" : String(decoding: folder, as: UTF8.self)
    }

    /// The last component of `path`, as `basename` gives it.
    public static func lastComponent(of path: String) -> String {
        var bytes = Array(path.utf8)
        while bytes.count > 1 && bytes.last == 0x2F { bytes.removeLast() }
        guard let slash = bytes.lastIndex(of: 0x2F), bytes.count > 1 else { return String(decoding: bytes, as: UTF8.self) }
        return String(decoding: bytes[(slash + 1)...], as: UTF8.self)
    }

    /// Creates `path` and any missing parents with mode 0700 (only the ones it creates).
    public static func createPrivateDirectory(_ path: String) throws(QuantError) {
        if status(path) != nil { return }
        let parent = parent(of: path)
        if parent != "." && parent != "/" && parent != path { try createPrivateDirectory(parent) }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw .fileRefused(path: path, reason: "cannot create the directory: \(String(cString: strerror(errno)))")
        }
    }

    /// The bytes of a regular file, read without blocking on a FIFO (or a device) and without
    /// following a symbolic link unless `followLinks` (a user's input file may be a link; what
    /// QuantForge keeps for itself may not); at most `limit` bytes (a larger file is an error).
    public static func readRegularFile(_ path: String, limit: Int, followLinks: Bool = false) throws(QuantError) -> (data: Data, info: stat) {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followLinks ? 0 : O_NOFOLLOW))
        if descriptor < 0 {
            let reason = errno == ELOOP ? "is a symbolic link" : String(cString: strerror(errno))
            throw .fileRefused(path: path, reason: "cannot read: \(reason)")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, isRegularFile(info) else {
            throw .fileRefused(path: path, reason: "not a regular file")
        }
        guard Int(info.st_size) <= limit else {
            throw .fileRefused(path: path, reason: "\(info.st_size) bytes, more than the \(limit) this file may have")
        }
        var data = Data(count: Int(info.st_size))
        var done = 0
        while done < data.count {
            let got = data.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + done, $0.count - done) }
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { break }
            done += got
        }
        return (data.prefix(done), info)
    }

    /// Whether two paths name the same file (same device and inode), following links.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        guard stat(a, &first) == 0, stat(b, &second) == 0 else {
            return absolute(a) == absolute(b)
        }
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }

    /// The message for the current `errno`.
    public static var lastErrorMessage: String { String(cString: strerror(errno)) }
}
