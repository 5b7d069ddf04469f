#!/usr/bin/env bash
# The whole test suite under AddressSanitizer (its own build folder, so the normal build stays).
# JIT-compiled kernels are not instrumented (LLVM emits them at run time); everything around them —
# packing, reference, caches, the C API — is. No sanitizer suppressions; QFORGE_SANITIZER makes
# the suite skip what cannot work instrumented: the C-example and Python tests (a plain program
# cannot load the instrumented libquantforge.so).
set -euo pipefail
cd "$(dirname "$0")/.."
export QFORGE_SANITIZER=address
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:halt_on_error=1}"
swift test --sanitize=address --scratch-path .build-asan "$@"
