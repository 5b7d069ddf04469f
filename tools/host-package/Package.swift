// swift-tools-version: 6.0
// A package outside QuantForge that depends on it the way Swift users do: by version, from a git
// URL. tools/host-package/check.sh tags a clone of the checkout and points QUANTFORGE_GIT_URL and
// QUANTFORGE_VERSION at it; CI runs that script (.ci/run).
import PackageDescription

let environment = Context.environment
guard let url = environment["QUANTFORGE_GIT_URL"], let version = environment["QUANTFORGE_VERSION"],
      let release = Version(version)
else {
    fatalError("Set QUANTFORGE_GIT_URL (a git URL of QuantForge) and QUANTFORGE_VERSION (a tag there), or run tools/host-package/check.sh.")
}

let package = Package(
    name: "QuantForgeHost",
    dependencies: [
        .package(url: url, from: release),
    ],
    targets: [
        .executableTarget(
            name: "QuantForgeHost",
            dependencies: [
                .product(name: "QuantForge", package: "QuantForge"),
                .product(name: "QuantWorkflow", package: "QuantForge"),
            ]
        ),
    ]
)
