import Foundation

/// The QuantForge checkout the tests were built from: their scripts, fixtures and C drivers. (The
/// library itself reads nothing from the source tree; its templates and drivers are built in.)
enum SourceTree {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A file or folder of the checkout, by its path relative to the root.
    static func url(_ relativePath: String) -> URL { root.appendingPathComponent(relativePath) }

    static let drivers = url("tools/drivers")
    static let supportHeaders = url("Sources/CQuantSupport/include")
}
