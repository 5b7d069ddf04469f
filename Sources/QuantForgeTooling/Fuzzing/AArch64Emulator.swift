import Foundation
import QuantCodegen
import QuantForge

/// Runs operator kernels built ahead of time for AArch64 (NEON dot product) under `qemu-aarch64`:
/// each kernel's object is linked with `tools/drivers/operator_driver.c` by
/// `aarch64-linux-gnu-gcc -static`, and every call runs the program on inputs passed as files.
/// The driver and `CQuantSupport.h` are built into the library (`PackageFiles`) and written into
/// the emulator's private folder; it needs the cross tools (`apt-get install qemu-user
/// gcc-aarch64-linux-gnu libc6-dev-arm64-cross`). `qforge fuzz` uses it for its AArch64 sample,
/// the tests for every operator.
public final class AArch64Emulator: @unchecked Sendable {
    public static let target = CodegenTarget(triple: "aarch64-unknown-linux-gnu", cpu: "generic", features: "+neon,+dotprod")
    public static let isa = ISA.neondot
    public static let compiler = "/usr/bin/aarch64-linux-gnu-gcc"
    public static let emulator = "/usr/bin/qemu-aarch64"
    /// The C files a program is built from, as the package holds them.
    static let driverFiles = ["tools/drivers/operator_driver.c", "tools/drivers/driver_io.h", "Sources/CQuantSupport/include/CQuantSupport.h"]

    /// A temporary folder for objects, programs and input files; removed with the emulator.
    public let directory: URL
    private var files = 0
    private let lock = NSLock()

    /// Why the emulator cannot run here (a missing tool or driver), or nil when it can.
    public static var unavailableReason: String? {
        for tool in [compiler, emulator] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (apt-get install qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"
        }
        return nil
    }

    public init() throws(QuantError) {
        if let reason = Self.unavailableReason { throw .unsupportedISA(requested: "neondot under qemu", reason: reason) }
        // A private folder (0700): the C files compiled into programs that run come from the
        // library itself, never from a place another user could write.
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-aarch64-\(UUID().uuidString)")
        try FileTrust.createPrivateDirectory(directory.path)
        for name in Self.driverFiles {
            guard let data = PackageFiles.data(name) else {
                throw .compilationFailed(stage: "aarch64 emulation", message: "\(name) is not built into this library")
            }
            do { try data.write(to: directory.appendingPathComponent(FileTrust.lastComponent(of: name))) } catch {
                throw .compilationFailed(stage: "aarch64 emulation", message: "cannot write \(name) into \(directory.path): \(error)")
            }
        }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// A fresh path in the emulator's folder.
    private func path(_ stem: String) -> String {
        lock.lock()
        defer { lock.unlock() }
        files += 1
        return directory.appendingPathComponent("\(stem)\(files)").path
    }

    private func write(_ bytes: [UInt8], _ stem: String) throws(QuantError) -> String {
        let file = path(stem)
        do { try Data(bytes).write(to: URL(fileURLWithPath: file)) } catch {
            throw .compilationFailed(stage: "aarch64 emulation", message: "cannot write \(file): \(error)")
        }
        return file
    }

    private func read(_ file: String) throws(QuantError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .compilationFailed(stage: "aarch64 emulation", message: "the program wrote no \(file)")
        }
        return Array(data)
    }

    /// An AArch64 program running one kernel (`qf_kernel`).
    public struct Program: Sendable {
        public let path: String
        public let kernel: OperatorKernel
    }

    /// Compiles `kernel` for AArch64 and links it with the operator driver.
    public func build(_ kernel: OperatorKernel) throws(QuantError) -> Program {
        let object = try write(AOTCompiler.compileOperator(kernel, isa: Self.isa, target: Self.target, symbol: "qf_kernel"), "kernel.o.")
        let program = path("program")
        let outcome = try ExternalProcess.run(Self.compiler, [
            "-O2", "-std=gnu11", "-static", "-I", directory.path,
            directory.appendingPathComponent("operator_driver.c").path, object, "-o", program,
        ])
        if outcome.status != 0 { throw .compilationFailed(stage: "aarch64 link", message: outcome.stderr) }
        return Program(path: program, kernel: kernel)
    }

    private func execute(_ program: Program, _ arguments: [String]) throws(QuantError) {
        let outcome = try ExternalProcess.run(Self.emulator, [program.path] + arguments)
        if outcome.status != 0 {
            throw .compilationFailed(stage: "aarch64 run", message: "exit \(outcome.status): \(outcome.stderr)")
        }
    }

    /// Runs an elementwise-shaped kernel (`qf_elementwise_args`): x and x2 in (nil: NULL), y,
    /// extra and extra2 out (zeroed buffers of the given sizes) — or as integers (`extraInteger`,
    /// `extra2Integer`) or as inputs (`extraInput`, `extra2Input`); returns the outputs.
    public func runElementwise(_ program: Program, x: [UInt8]?, x2: [UInt8]? = nil, begin: Int = 0, end: Int = 0, yBytes: Int,
                               extraBytes: Int = 0, extra2Bytes: Int = 0, extraInteger: Int? = nil, extra2Integer: Int? = nil,
                               extraInput: [UInt8]? = nil, extra2Input: [UInt8]? = nil) throws(QuantError) -> (y: [UInt8], extra: [UInt8], extra2: [UInt8]) {
        let outputs = [path("y"), path("extra"), path("extra2")]
        var extra = extraInteger.map { "=\($0)" } ?? "\(extraBytes)", extra2 = extra2Integer.map { "=\($0)" } ?? "\(extra2Bytes)"
        if let extraInput { extra = "@" + (try write(extraInput, "extra_in")) }
        if let extra2Input { extra2 = "@" + (try write(extra2Input, "extra2_in")) }
        try execute(program, ["elementwise", try x.map { x throws(QuantError) in try write(x, "x") } ?? "-",
                              try x2.map { x throws(QuantError) in try write(x, "x2") } ?? "-", "\(begin)", "\(end)",
                              "\(yBytes)", extra, extra2] + outputs)
        return (yBytes > 0 ? try read(outputs[0]) : [], extraBytes > 0 && extraInteger == nil && extraInput == nil ? try read(outputs[1]) : [],
                extra2Bytes > 0 && extra2Input == nil && extra2Integer == nil ? try read(outputs[2]) : [])
    }

    /// Runs a matmul-shaped kernel (`qf_matmul_args`) on A, packed B and the optional residual and
    /// run-time A parameters; returns C (`cBytes`).
    public func runMatMul(_ program: Program, a: [UInt8], lda: Int, packedB: [UInt8], m: Int, panels: Int, cBytes: Int, ldc: Int,
                          residual: [UInt8]? = nil, ldr: Int = 0, aScales: [Float]? = nil, aZeroPoints: [Int32]? = nil) throws(QuantError) -> [UInt8] {
        func file(_ bytes: [UInt8]?, _ stem: String) throws(QuantError) -> String { try bytes.map { b throws(QuantError) in try write(b, stem) } ?? "-" }
        let out = path("c")
        try execute(program, [
            "matmul", try file(a, "a"), "\(lda)", try file(packedB, "b"), "\(m)", "\(panels)", "\(cBytes)", "\(ldc)",
            try file(residual, "residual"), "\(ldr)", try file(aScales.map { s in s.withUnsafeBytes { Array($0) } }, "scales"),
            try file(aZeroPoints.map { p in p.withUnsafeBytes { Array($0) } }, "points"), out,
        ])
        return try read(out)
    }
}
