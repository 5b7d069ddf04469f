#!/usr/bin/env bash
# The whole test suite under ThreadSanitizer (its own build folder). Kernel code from the JIT is
# not instrumented; the thread pool, kernel cache, JIT locking, tuning database and the 16-thread
# stress test are. No sanitizer suppressions; QFORGE_SANITIZER makes
# the suite skip what cannot work instrumented: the C-example and Python tests (a plain program
# cannot load the instrumented libquantforge.so).
set -euo pipefail
cd "$(dirname "$0")/.."
export QFORGE_SANITIZER=thread
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
swift test --sanitize=thread --scratch-path .build-tsan "$@"
