#!/usr/bin/env bash
# The whole test suite under AddressSanitizer (its own build folder, so the normal build stays).
# JIT-compiled kernels are not instrumented (LLVM emits them at run time); everything around them —
# packing, reference, caches, the C API — is. No suppressions are needed.
set -euo pipefail
cd "$(dirname "$0")/.."
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:halt_on_error=1}"
swift test --sanitize=address --scratch-path .build-asan "$@"
