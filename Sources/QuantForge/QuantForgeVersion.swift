import LLVMKit
import QuantCodegen

/// The versions that identify a QuantForge build.
public enum QuantForgeVersion {
    /// The package's release version: the git tag a dependent names (`from: "0.6.0"`).
    public static let package = "0.6.0"
    /// The code generator's version (cache keys, tuning records, AOT headers).
    public static var generator: String { generatorVersion }
    /// One line for `qforge --version` and logs.
    public static var description: String {
        "QuantForge \(package) (generator \(generator), LLVM \(LLVM.versionString))"
    }
}
