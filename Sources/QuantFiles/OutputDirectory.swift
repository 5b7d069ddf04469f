import Foundation
import QuantOps
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory QuantForge writes several files into (`aot --out`, `fuzz --out`). It keeps a
/// manifest (`.qforge-manifest`: the SHA-256 and name of each file it wrote, as `sha256sum` prints
/// them), so that running again replaces its own unchanged outputs and nothing else: a file of the
/// same name that QuantForge did not write, or that was edited since, is refused unless `force`.
/// The directory itself is created when missing (its parent must exist).
public struct OutputDirectory: Sendable {
    public let path: String
    public let force: Bool
    public static let manifestName = ".qforge-manifest"

    public init(_ path: String, force: Bool = false) {
        self.path = path
        self.force = force
    }

    var manifestPath: String { "\(path)/\(Self.manifestName)" }

    /// Name → SHA-256 (hex) of the files QuantForge wrote here.
    func manifest() -> [String: String] {
        guard let data = try? FileTrust.readRegularFile(manifestPath, limit: 16 << 20).data else { return [:] }
        return Self.parseManifest(data) ?? [:]
    }

    static func parseManifest(_ data: Data) -> [String: String]? {
        guard let text = String(data: data, encoding: .utf8) else { return nil }
        var entries: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 64, parts[1].hasPrefix(" ") else { return nil }
            entries[String(parts[1].dropFirst())] = String(parts[0])
        }
        return entries
    }

    func file(_ name: String, manifest: [String: String]) -> OutputFile {
        OutputFile("\(path)/\(name)", force: force) { existing in manifest[name] == Digest.sha256(existing) }
    }

    /// Throws `fileRefused` when the directory cannot be made or one of `names` cannot be written
    /// without losing something (see `OutputFile.check`). Run it before any long work.
    public func check(names: [String], inputs: [String] = []) throws(QuantError) {
        for name in names where name.isEmpty || name.contains("/") || name.hasPrefix(".") {
            throw .fileRefused(path: "\(path)/\(name)", reason: "not a plain file name")
        }
        if let info = FileTrust.status(path) {
            var target = stat()
            guard stat(path, &target) == 0, FileTrust.isDirectory(target) else {
                throw .fileRefused(path: path, reason: "it exists and is not a directory")
            }
            if FileTrust.isSymbolicLink(info) && !force {
                throw .fileRefused(path: path, reason: "it is a symbolic link; --force writes into its target")
            }
            let manifest = manifest()
            for name in names { try file(name, manifest: manifest).check(inputs: inputs) }
        } else {
            let parent = FileTrust.parent(of: path)
            var info = stat()
            guard stat(parent, &info) == 0, FileTrust.isDirectory(info) else {
                throw .fileRefused(path: path, reason: "its parent directory \(parent) does not exist")
            }
        }
    }

    /// Writes every file atomically (after `check`), then the manifest.
    public func write(_ files: [String: Data], inputs: [String] = []) throws(QuantError) {
        try check(names: Array(files.keys), inputs: inputs)
        if FileTrust.status(path) == nil && mkdir(path, 0o777) != 0 && errno != EEXIST {
            throw .fileRefused(path: path, reason: "cannot create the directory: \(FileTrust.lastErrorMessage)")
        }
        var manifest = manifest()
        for (name, data) in files.sorted(by: { $0.key < $1.key }) {
            try file(name, manifest: manifest).write(data, inputs: inputs)
            manifest[name] = Digest.sha256(data)
        }
        try writeManifest(manifest)
    }

    /// Writes `data` under a name no earlier run used: `stem-1.ext`, `stem-2.ext`, … (published with
    /// `link`, which never replaces an existing file). Returns the path.
    public func writeUnique(stem: String, extension ext: String, _ data: Data) throws(QuantError) -> String {
        try check(names: [])
        if FileTrust.status(path) == nil && mkdir(path, 0o777) != 0 && errno != EEXIST {
            throw .fileRefused(path: path, reason: "cannot create the directory: \(FileTrust.lastErrorMessage)")
        }
        let temporary = try OutputFile.writeTemporary(data, directory: path, name: stem, mode: nil)
        defer { unlink(temporary) }
        for index in 1...100_000 {
            let name = "\(stem)-\(index).\(ext)"
            if link(temporary, "\(path)/\(name)") == 0 {
                var manifest = manifest()
                manifest[name] = Digest.sha256(data)
                try writeManifest(manifest)
                return "\(path)/\(name)"
            }
            if errno != EEXIST {
                throw .fileRefused(path: "\(path)/\(name)", reason: "cannot create: \(FileTrust.lastErrorMessage)")
            }
        }
        throw .fileRefused(path: path, reason: "100000 files named \(stem)-N.\(ext) already exist")
    }

    func writeManifest(_ manifest: [String: String]) throws(QuantError) {
        let text = manifest.sorted { $0.key < $1.key }.map { "\($0.value)  \($0.key)\n" }.joined()
        try OutputFile(manifestPath, force: force) { Self.parseManifest($0) != nil }.write(Data(text.utf8))
    }
}
