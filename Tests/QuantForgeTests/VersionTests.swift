import LLVMKit
import QuantForge
import Testing

/// `qforge --version` and `qforge info` name what a bug report needs: the package, generator and
/// LLVM versions, and the CPU name LLVM uses.
struct VersionTests {
    @Test func versionNamesPackageGeneratorAndLLVM() throws {
        let run = try DataSafetyTests.qforge(["--version"])
        #expect(run.status == 0, "\(run.output)")
        for part in [QuantForgeVersion.package, "generator \(QuantForgeVersion.generator)", "LLVM \(LLVM.versionString)"] {
            #expect(run.stdout.contains(part), "no '\(part)' in \(run.stdout)")
        }
    }

    @Test func infoNamesLLVMAndItsCPU() throws {
        let run = try DataSafetyTests.qforge(["info"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.stdout.contains("llvm: \(LLVM.versionString)\n"))
        #expect(run.stdout.contains("llvm cpu: \(LLVM.hostCPUName)\n"))
    }
}
