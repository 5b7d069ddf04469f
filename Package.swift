// swift-tools-version: 6.0
import Foundation
import PackageDescription

// MARK: - Finding the LLVM C API
//
// QuantForge generates machine code through LLVM's C API. The manifest finds an installed LLVM
// (14 or newer) so that a fresh machine needs no manual step:
//   1. `QFORGE_LLVM_PREFIX=/usr/lib/llvm-NN` (or any prefix with include/llvm-c and lib/libLLVM*)
//   2. otherwise the newest /usr/lib/llvm-NN that has the C headers and the shared library.
// Without one the manifest stops with a message naming the package to install.

struct LLVMInstallation {
    let prefix: String
    let major: Int
    var includeDir: String { prefix + "/include" }
    var libDir: String { prefix + "/lib" }
    /// Debian ships both libLLVM-NN.so and libLLVM.so; prefer the versioned name.
    var libraryName: String {
        FileManager.default.fileExists(atPath: "\(libDir)/libLLVM-\(major).so") ? "LLVM-\(major)" : "LLVM"
    }
}

func llvmMajorVersion(prefix: String) -> Int? {
    let header = prefix + "/include/llvm/Config/llvm-config.h"
    guard let text = try? String(contentsOfFile: header, encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("#define LLVM_VERSION_MAJOR ") {
        return Int(line.split(separator: " ").last ?? "")
    }
    return nil
}

func isUsableLLVM(prefix: String) -> Bool {
    let fm = FileManager.default
    guard fm.fileExists(atPath: prefix + "/include/llvm-c/Core.h") else { return false }
    let libs = (try? fm.contentsOfDirectory(atPath: prefix + "/lib")) ?? []
    return libs.contains { $0.hasPrefix("libLLVM") && $0.contains(".so") && !$0.hasSuffix(".a") }
}

func findLLVM() -> LLVMInstallation {
    let minimumMajor = 14
    if let prefix = ProcessInfo.processInfo.environment["QFORGE_LLVM_PREFIX"], !prefix.isEmpty {
        guard isUsableLLVM(prefix: prefix), let major = llvmMajorVersion(prefix: prefix), major >= minimumMajor
        else {
            fatalError("QFORGE_LLVM_PREFIX=\(prefix) has no LLVM \(minimumMajor)+ C API (include/llvm-c and lib/libLLVM*.so).")
        }
        return LLVMInstallation(prefix: prefix, major: major)
    }
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib")) ?? []
    let candidates = entries.compactMap { name -> LLVMInstallation? in
        guard name.hasPrefix("llvm-"), let major = Int(name.dropFirst(5)), major >= minimumMajor else { return nil }
        let prefix = "/usr/lib/" + name
        return isUsableLLVM(prefix: prefix) ? LLVMInstallation(prefix: prefix, major: major) : nil
    }
    guard let newest = candidates.max(by: { $0.major < $1.major }) else {
        fatalError("""
            QuantForge needs the LLVM C API, version \(minimumMajor) or newer, and found none under /usr/lib/llvm-*.
            Install it with:  apt-get install llvm-14-dev   (or llvm-NN-dev for a newer NN)
            or point QFORGE_LLVM_PREFIX at an LLVM installation prefix.
            """)
    }
    return newest
}

let llvm = findLLVM()

/// Every Swift target that (transitively) imports the LLVM C module needs its headers.
let llvmSwiftSettings: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-I\(llvm.includeDir)"])]
/// The scalar reference interpreter is hot in tests: optimize it even in
/// debug builds so that `swift test` stays fast (DESIGN.md §3).
let optimizedSwiftSettings: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "QuantForge",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "QuantForge", targets: ["QuantForge"]),
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
            cSettings: [.unsafeFlags(["-I\(llvm.includeDir)"])],
            linkerSettings: [
                .unsafeFlags(["-L\(llvm.libDir)", "-Xlinker", "-rpath", "-Xlinker", llvm.libDir]),
                .linkedLibrary(llvm.libraryName),
            ]
        ),
        .target(name: "LLVMKit", dependencies: ["CLLVM"], swiftSettings: llvmSwiftSettings),

        // CPUID / XCR0 / AMX permission / hwcaps: the few calls Swift cannot make directly.
        .target(name: "CQuantSupport"),

        // DSL → schedule → codegen → runtime → public API: dependencies point down the pipeline.
        .target(name: "QuantOps", swiftSettings: optimizedSwiftSettings),
        // The files QuantForge reads and writes: trust checks, atomic outputs that never clobber.
        .target(name: "QuantFiles", dependencies: ["QuantOps", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "QuantSchedule", dependencies: ["QuantOps", "CQuantSupport"]),
        .target(
            name: "QuantCodegen",
            dependencies: ["QuantOps", "QuantSchedule", "QuantFiles", "LLVMKit", "CQuantSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: llvmSwiftSettings
        ),
        .target(
            name: "QuantRuntime",
            dependencies: ["QuantCodegen", "QuantFiles", "CQuantSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: llvmSwiftSettings
        ),
        // Templates and C drivers built into the library (no source tree needed at run time).
        .plugin(name: "EmbedPackageFilesPlugin", capability: .buildTool(), path: "tools/plugins/EmbedPackageFiles"),
        .target(
            name: "QuantForge",
            dependencies: ["QuantOps", "QuantSchedule", "QuantFiles", "QuantCodegen", "QuantRuntime", "LLVMKit"],
            swiftSettings: llvmSwiftSettings,
            plugins: ["EmbedPackageFilesPlugin"]
        ),
        // The quantization workflow on top: calibration, fake quant, accuracy, and real models.
        .target(
            name: "QuantWorkflow",
            dependencies: ["QuantForge"],
            swiftSettings: optimizedSwiftSettings + llvmSwiftSettings
        ),
        .target(name: "CQuantForgeAPI"),
        .target(
            name: "QuantForgeC",
            dependencies: ["QuantForge", "CQuantForgeAPI", "CQuantSupport"],
            swiftSettings: llvmSwiftSettings
        ),
        // libFuzzer targets for the parsers of outside input (tools/libfuzzer.sh).
        .executableTarget(
            name: "FuzzTargets",
            dependencies: ["QuantForge", "QuantForgeC", "CQuantForgeAPI", "QuantWorkflow", "QForgeCommands"],
            swiftSettings: llvmSwiftSettings
        ),
        // The command-line interface as a library (parsed by the libFuzzer target too) …
        .target(
            name: "QForgeCommands",
            dependencies: ["QuantForge", "QuantWorkflow", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: llvmSwiftSettings
        ),
        // … and the executable that runs it.
        .executableTarget(name: "qforge", dependencies: ["QForgeCommands"], swiftSettings: llvmSwiftSettings),

        .testTarget(name: "QuantOpsTests", dependencies: ["QuantOps"]),
        .testTarget(
            name: "QuantWorkflowTests",
            dependencies: ["QuantWorkflow"],
            resources: [.copy("Fixtures")],
            swiftSettings: llvmSwiftSettings
        ),
        .testTarget(name: "LLVMKitTests", dependencies: ["LLVMKit"], swiftSettings: llvmSwiftSettings),
        .testTarget(name: "QuantRuntimeTests", dependencies: ["QuantRuntime"], swiftSettings: llvmSwiftSettings),
        .testTarget(
            name: "QuantForgeTests",
            dependencies: ["QuantForge", "QuantForgeC", "CQuantForgeAPI", "QForgeCommands"],
            resources: [.copy("Fixtures")],
            swiftSettings: llvmSwiftSettings
        ),
    ]
)
