#!/bin/sh
# embed.sh OUTPUT NAME=PATH ...: writes a Swift file holding each PATH's bytes under NAME (base64, so
# no content can break out of the literal). Run by the EmbedPackageFiles build-tool plugin with the
# system shell: no compiled tool, so builds with sanitizer or libFuzzer flags are unaffected.
set -eu
out="$1"; shift
{
    echo "// Generated at build time by the EmbedPackageFiles plugin from the package's own files; not edited by hand."
    echo "import Foundation"
    echo ""
    echo "/// Files of the package that the library needs at run time (templates, C drivers), built in."
    echo "enum PackageFiles {"
    echo "    private static let base64: [String: String] = ["
    for pair in "$@"; do
        name="${pair%%=*}"; path="${pair#*=}"
        printf '        "%s": "%s",\n' "$name" "$(base64 < "$path" | tr -d '\n')"
    done
    echo "    ]"
    echo ""
    echo "    /// The bytes of \`name\` (its path relative to the package root), or nil."
    echo "    static func data(_ name: String) -> Data? { base64[name].flatMap { Data(base64Encoded: \$0) } }"
    echo ""
    echo "    /// The text of \`name\`, or nil."
    echo "    static func text(_ name: String) -> String? { data(name).map { String(decoding: \$0, as: UTF8.self) } }"
    echo "}"
} > "$out.tmp"
mv "$out.tmp" "$out"
