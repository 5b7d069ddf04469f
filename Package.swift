// swift-tools-version: 6.0
import Foundation
import PackageDescription

// MARK: - Finding the LLVM C API
//
// QuantForge generates machine code through LLVM's C API, as Debian's llvm-NN-dev installs it:
// headers under /usr/include/llvm-c-NN and /usr/include/llvm-NN, libLLVM-NN.so in the default
// library path. Each LLVM version QuantForge supports has a folder Sources/CLLVM/llvm-NN whose
// module map links that library and whose links point at those headers, so the build needs no
// compiler flags (and the package can be depended on by version). The manifest picks
//   1. QFORGE_LLVM_VERSION=NN, when set;
//   2. otherwise the newest supported version that is installed.
// Without one it stops with a message naming the package to install.

/// The LLVM versions Debian ships (bookworm and its updates) from 14 on; each has a folder
/// Sources/CLLVM/llvm-NN. (Listed here, not read from the folder: SwiftPM evaluates a dependency's
/// manifest without its files.)
let supportedLLVMVersions = [14, 15, 16, 19, 22]

/// Whether Debian's llvm-NN-dev is installed: the C headers and the link-time library.
func isInstalled(llvm major: Int) -> Bool {
    let fm = FileManager.default
    guard fm.fileExists(atPath: "/usr/include/llvm-c-\(major)/llvm-c/Core.h"),
          fm.fileExists(atPath: "/usr/include/llvm-\(major)/llvm/Config/llvm-config.h")
    else { return false }
    let libraryDirectories = ((try? fm.contentsOfDirectory(atPath: "/usr/lib")) ?? [])
        .filter { $0.hasSuffix("-linux-gnu") }
        .map { "/usr/lib/" + $0 }
    return libraryDirectories.contains { fm.fileExists(atPath: "\($0)/libLLVM-\(major).so") }
}

func chooseLLVM() -> Int {
    let installed = supportedLLVMVersions.filter(isInstalled(llvm:))
    if let requested = Context.environment["QFORGE_LLVM_VERSION"], !requested.isEmpty {
        guard let major = Int(requested), installed.contains(major) else {
            fatalError("""
                QFORGE_LLVM_VERSION=\(requested): QuantForge supports LLVM \(supportedLLVMVersions.map(String.init).joined(separator: ", ")); \
                installed here: \(installed.isEmpty ? "none" : installed.map(String.init).joined(separator: ", ")). \
                Install it with: apt-get install llvm-\(requested)-dev
                """)
        }
        return major
    }
    guard let newest = installed.last else {
        fatalError("""
            QuantForge needs the LLVM C API (LLVM \(supportedLLVMVersions.first ?? 14) to \(supportedLLVMVersions.last ?? 14)) and found none.
            Install it with:  apt-get install llvm-14-dev   (or llvm-NN-dev for a newer NN)
            """)
    }
    return newest
}

let llvmMajor = chooseLLVM()

/// C API differences between LLVM versions, read from the chosen headers and handed to Swift as
/// compilation conditions (LLVMKit is the only module that looks at them).
func llvmDeclares(_ function: String, in header: String) -> Bool {
    let text = (try? String(contentsOfFile: "/usr/include/llvm-c-\(llvmMajor)/llvm-c/\(header)", encoding: .utf8)) ?? ""
    return text.contains(function + "(")
}
let llvmAPIConditions: [SwiftSetting] = [
    // LLVM 14 to 19 hand out the context inside a thread-safe context; 22 wraps one created first.
    llvmDeclares("LLVMOrcThreadSafeContextGetContext", in: "Orc.h") ? .define("LLVM_ORC_TSC_GET_CONTEXT") : nil,
].compactMap { $0 }

let package = Package(
    name: "QuantForge",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "QuantForge", targets: ["QuantForge"]),
        // Calibration, fake quantization, accuracy and real models (MiniLM) on top of QuantForge.
        .library(name: "QuantWorkflow", targets: ["QuantWorkflow"]),
        // The C API: libquantforge.so + Sources/CQuantForgeAPI/include/quantforge.h.
        .library(name: "quantforge", type: .dynamic, targets: ["QuantForgeC"]),
        .executable(name: "qforge", targets: ["qforge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // SHA-256 and HMAC for the kernel cache's entries and the output manifests.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    ],
    targets: [
        // LLVM's C API, wrapped thinly.
        .target(
            name: "CLLVM",
            path: "Sources/CLLVM/llvm-\(llvmMajor)",
            sources: ["CLLVM.c"],
            publicHeadersPath: ".",
            linkerSettings: [.linkedLibrary("LLVM-\(llvmMajor)")]
        ),
        .target(name: "LLVMKit", dependencies: ["CLLVM"], swiftSettings: llvmAPIConditions),

        // CPUID / XCR0 / AMX permission / hwcaps: the few calls Swift cannot make directly.
        .target(name: "CQuantSupport"),

        // DSL → schedule → codegen → runtime → public API: dependencies point down the pipeline.
        .target(name: "QuantOps"),
        // The files QuantForge reads and writes: trust checks, atomic outputs that never clobber.
        .target(name: "QuantFiles", dependencies: ["QuantOps", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "QuantSchedule", dependencies: ["QuantOps", "CQuantSupport"]),
        .target(
            name: "QuantCodegen",
            dependencies: ["QuantOps", "QuantSchedule", "QuantFiles", "LLVMKit", "CQuantSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "QuantRuntime",
            dependencies: ["QuantCodegen", "QuantFiles", "CQuantSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Templates and C drivers built into the library (no source tree needed at run time).
        .plugin(name: "EmbedPackageFilesPlugin", capability: .buildTool(), path: "tools/plugins/EmbedPackageFiles"),
        .target(
            name: "QuantForge",
            dependencies: ["QuantOps", "QuantSchedule", "QuantFiles", "QuantCodegen", "QuantRuntime", "LLVMKit"],
            plugins: ["EmbedPackageFilesPlugin"]
        ),
        // Tooling around the library, not part of its API: the differential fuzzer, the AArch64
        // emulator harness (cross toolchain + qemu), external processes, JIT memory cycles.
        .target(
            name: "QuantForgeTooling",
            dependencies: ["QuantForge"],
            plugins: ["EmbedPackageFilesPlugin"]
        ),
        // The quantization workflow on top: calibration, fake quant, accuracy, and real models.
        .target(
            name: "QuantWorkflow",
            dependencies: ["QuantForge"]
        ),
        .target(name: "CQuantForgeAPI"),
        .target(
            name: "QuantForgeC",
            dependencies: ["QuantForge", "CQuantForgeAPI", "CQuantSupport"]
        ),
        // libFuzzer targets for the parsers of outside input (tools/libfuzzer.sh).
        .executableTarget(
            name: "FuzzTargets",
            dependencies: ["QuantForge", "QuantForgeTooling", "QuantForgeC", "CQuantForgeAPI", "QuantWorkflow", "QForgeCommands"]
        ),
        // The command-line interface as a library (parsed by the libFuzzer target too) …
        .target(
            name: "QForgeCommands",
            dependencies: ["QuantForge", "QuantForgeTooling", "QuantWorkflow", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // … and the executable that runs it.
        .executableTarget(name: "qforge", dependencies: ["QForgeCommands"]),

        .testTarget(name: "QuantOpsTests", dependencies: ["QuantOps"]),
        .testTarget(
            name: "QuantWorkflowTests",
            dependencies: ["QuantWorkflow"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "QuantScheduleTests", dependencies: ["QuantSchedule"]),
        .testTarget(name: "QuantCodegenTests", dependencies: ["QuantCodegen"]),
        .testTarget(name: "LLVMKitTests", dependencies: ["LLVMKit"]),
        .testTarget(name: "QuantRuntimeTests", dependencies: ["QuantRuntime"]),
        .testTarget(
            name: "QuantForgeTests",
            dependencies: ["QuantForge", "QuantForgeTooling", "QuantForgeC", "CQuantForgeAPI", "QForgeCommands"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
