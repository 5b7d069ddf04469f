import Foundation
import QuantForge
import QuantForgeTooling
import Testing

/// Builds AOT kernels into programs for another architecture and runs them under qemu:
/// `aarch64-linux-gnu-gcc -static` links the object with a C driver, `qemu-aarch64` runs it.
/// `.ci/run` installs `qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross`.
struct CrossRunner {
    static let packageRoot = SourceTree.root
    static let compiler = AArch64Emulator.compiler
    static let emulator = AArch64Emulator.emulator

    let directory: URL

    init() throws {
        for tool in [Self.compiler, Self.emulator] {
            try #require(FileManager.default.isExecutableFile(atPath: tool),
                         "\(tool) is missing: apt-get install qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-cross-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Links a library holding the kernel `qf_kernel` with the matmul driver into a static AArch64
    /// program.
    func link(_ library: AOTLibrary, name: String) throws -> URL {
        let object = directory.appendingPathComponent("\(name).o")
        try Data(library.object).write(to: object)
        let program = directory.appendingPathComponent(name)
        try CToolchain.build(.aarch64, sources: [Self.packageRoot.appendingPathComponent("Tests/QuantForgeTests/Fixtures/drivers/matmul_driver.c")],
                             objects: [object], includes: [SourceTree.supportHeaders, SourceTree.drivers],
                             output: program)
        return program
    }

    /// Runs `program` under qemu (with `cpu`, or qemu's default CPU) on A and packed B; returns C
    /// or the failing status.
    func execute(_ program: URL, kernel: AOTKernel, a: [UInt8], weights: PackedWeights, m: Int,
                 cpu: String? = nil) throws -> Result<[UInt8], ExitFailure> {
        let aFile = directory.appendingPathComponent("a.bin"), bFile = directory.appendingPathComponent("b.bin")
        let outFile = directory.appendingPathComponent("out.bin")
        try Data(a).write(to: aFile)
        try Data(weights.contents).write(to: bFile)
        let outBytes = try kernel.op.cSpec(m: m).requiredBytes
        let result = try CToolchain.execute(program, .aarch64, [
            "\(m)", "\(kernel.op.k)", "\(kernel.op.n)", "\(kernel.layout.panels)", aFile.path, bFile.path, outFile.path, "\(outBytes)",
        ], cpu: cpu)
        guard result.status == 0 else { return .failure(ExitFailure(status: result.status, stderr: result.stderr)) }
        return .success(Array(try Data(contentsOf: outFile)))
    }

    struct ExitFailure: Error { let status: Int32; let stderr: String }

    func cleanUp() { try? FileManager.default.removeItem(at: directory) }
}
