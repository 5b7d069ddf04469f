#!/usr/bin/env bash
# Builds and runs tools/host-package against this checkout's HEAD *by version*: a clone of the
# checkout, tagged with QuantForgeVersion.package, is the git URL the host package depends on
# (`from:` that version). Fails if SwiftPM refuses the dependency (e.g. unsafe flags) or if the
# kernel the host runs is not bit-exact. Uncommitted changes are not part of HEAD and not tested.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
version="$(sed -n 's/.*public static let package = "\(.*\)".*/\1/p' "$root/Sources/QuantForge/QuantForgeVersion.swift")"
[ -n "$version" ] || { echo "no package version in Sources/QuantForge/QuantForgeVersion.swift" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet --no-local "$root" "$work/QuantForge"
git -C "$work/QuantForge" tag "$version"
cp -R "$root/tools/host-package" "$work/host"
cd "$work/host"
export QUANTFORGE_GIT_URL="file://$work/QuantForge" QUANTFORGE_VERSION="$version"
swift build --quiet
swift run --skip-build QuantForgeHost
