#!/usr/bin/env bash
# Builds libquantforge (release) and installs it with quantforge.h and quantforge.pc under PREFIX:
#   tools/install_c_api.sh /usr/local
#   cc app.c $(PKG_CONFIG_PATH=/usr/local/lib/pkgconfig pkg-config --cflags --libs quantforge)
set -euo pipefail
prefix="${1:?usage: $0 PREFIX}"
cd "$(dirname "$0")/.."
swift build -c release --product quantforge
bin="$(swift build -c release --show-bin-path)"
swift_runtime="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/lib/swift/linux"
version="$(sed -n 's/.*public static let package = "\(.*\)".*/\1/p' Sources/QuantForge/QuantForgeVersion.swift)"
[ -n "$version" ] || { echo "no package version in Sources/QuantForge/QuantForgeVersion.swift" >&2; exit 1; }
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
cp "$bin/libquantforge.so" "$prefix/lib/"
cp Sources/CQuantForgeAPI/include/quantforge.h "$prefix/include/"
sed -e "s|{{prefix}}|$prefix|" -e "s|{{version}}|$version|" -e "s|{{swift_runtime}}|$swift_runtime|" \
    templates/quantforge.pc.template > "$prefix/lib/pkgconfig/quantforge.pc"
echo "installed libquantforge.so, quantforge.h and quantforge.pc under $prefix"
