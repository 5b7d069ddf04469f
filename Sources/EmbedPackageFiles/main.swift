import Foundation

// EmbedPackageFiles OUTPUT NAME=PATH ...: writes a Swift file that holds each PATH's bytes under
// NAME (base64, so that no content can break out of the literal). Run by the EmbedPackageFiles
// build-tool plugin, so that the library carries its templates and C drivers instead of finding
// them in the source tree at run time.
let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: EmbedPackageFiles OUTPUT NAME=PATH ...\n".utf8))
    exit(2)
}
var entries: [String] = []
for pair in arguments.dropFirst().sorted() {
    guard let equals = pair.firstIndex(of: "=") else { continue }
    let name = String(pair[..<equals]), path = String(pair[pair.index(after: equals)...])
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("EmbedPackageFiles: cannot read \(path)\n".utf8))
        exit(1)
    }
    entries.append("        \"\(name)\": \"\(data.base64EncodedString())\",")
}
let source = """
    // Generated at build time by the EmbedPackageFiles plugin from the package's own files; not edited by hand.
    import Foundation

    /// Files of the package that the library needs at run time (templates, C drivers), built in.
    enum PackageFiles {
        private static let base64: [String: String] = [
    \(entries.joined(separator: "\n"))
        ]

        /// The bytes of `name` (its path relative to the package root), or nil.
        static func data(_ name: String) -> Data? { base64[name].flatMap { Data(base64Encoded: $0) } }

        /// The text of `name`, or nil.
        static func text(_ name: String) -> String? { data(name).map { String(decoding: $0, as: UTF8.self) } }
    }

    """
do { try source.write(toFile: output, atomically: true, encoding: .utf8) } catch {
    FileHandle.standardError.write(Data("EmbedPackageFiles: cannot write \(output): \(error)\n".utf8))
    exit(1)
}
