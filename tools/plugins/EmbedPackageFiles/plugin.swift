import Foundation
import PackagePlugin

/// Builds the package's run-time files into the target that uses this plugin (`PackageFiles`):
/// into QuantForge, `templates/` (AOT headers and dispatchers); into QuantForgeTooling,
/// `tools/drivers/` and `CQuantSupport.h` (the C program the fuzzer runs AOT kernels in under qemu).
/// An installed `qforge` then needs no source tree, and nothing is read from a build path at run time.
@main
struct EmbedPackageFiles: BuildToolPlugin {
    static let embedded: [String: [String]] = [
        "QuantForge": ["templates/matmul_library.h.template", "templates/multi_isa_library.h.template",
                       "templates/multi_isa_dispatch.c.template", "templates/quantforge.pc.template",
                       "templates/operators.h.template", "templates/operators.c.template", "templates/amx_checker.c.template",
                       "templates/x86_cpu_checks.c.template"],
        "QuantForgeTooling": ["tools/drivers/operator_driver.c", "tools/drivers/driver_io.h",
                              "Sources/CQuantSupport/include/CQuantSupport.h"],
    ]

    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let files = Self.embedded[target.name] ?? []
        let inputs = files.map { root.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "PackageFiles.swift")
        let script = root.appending(path: "tools/plugins/EmbedPackageFiles/embed.sh")
        return [.buildCommand(
            displayName: "Embedding templates and C drivers",
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: [script.path, output.path] + zip(files, inputs).map { "\($0)=\($1.path)" },
            inputFiles: inputs + [script],
            outputFiles: [output])]
    }
}
