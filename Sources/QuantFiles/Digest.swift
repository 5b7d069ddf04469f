import Crypto
import Foundation

/// SHA-256 as lowercase hex: the one spelling of a digest in file names, manifests and cache keys.
public enum Digest {
    public static func sha256(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    /// Bytes (a finished digest, or any) as lowercase hex.
    public static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
