import Foundation

/// The QuantForge checkout this library was built from. Developer tools that build C programs or
/// run scripts (the fuzzer's AArch64 sample, the libFuzzer runs) find their files in it.
public enum SourceTree {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A file or folder of the checkout, by its path relative to the root.
    public static func url(_ relativePath: String) -> URL { root.appendingPathComponent(relativePath) }
}
