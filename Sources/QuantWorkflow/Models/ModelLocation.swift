import Foundation

/// Where `tools/fetch_minilm.sh` puts all-MiniLM-L6-v2: `QFORGE_MODEL_DIR`, else
/// `~/.cache/quantforge/models/all-MiniLM-L6-v2`.
public enum ModelLocation {
    public static var miniLM: URL {
        if let path = ProcessInfo.processInfo.environment["QFORGE_MODEL_DIR"], !path.isEmpty { return URL(fileURLWithPath: path) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/quantforge/models/all-MiniLM-L6-v2")
    }
}
