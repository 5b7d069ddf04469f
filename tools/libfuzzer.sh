#!/usr/bin/env bash
# Builds the libFuzzer targets (Sources/FuzzTargets) with -sanitize=fuzzer,address in their own
# build folder and runs each for SECONDS (default 60): spec, database, safetensors, cdesc.
# Crashes are written to fuzz-corpus/crashes/; each target's corpus grows in fuzz-corpus/TARGET.
# usage: tools/libfuzzer.sh [SECONDS] [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"; shift || true
targets=("${@:-spec database safetensors cdesc}")
swift build --scratch-path .build-fuzz --product FuzzTargets \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DLIBFUZZER -Xswiftc -parse-as-library
binary=.build-fuzz/debug/FuzzTargets
mkdir -p fuzz-corpus/crashes
for target in ${targets[@]}; do
    mkdir -p "fuzz-corpus/$target"
    # The spec target starts from a real kernel spec when its corpus is empty (JSON is hard to guess).
    if [ "$target" = spec ] && [ -z "$(ls -A fuzz-corpus/spec)" ]; then cp generated/transformer_spec.json fuzz-corpus/spec/; fi
    echo "== $target, $seconds s"
    QFORGE_FUZZ_TARGET="$target" ASAN_OPTIONS=detect_leaks=0 "$binary" "fuzz-corpus/$target" \
        -max_total_time="$seconds" -artifact_prefix=fuzz-corpus/crashes/"$target"- -print_final_stats=1 2>&1 | tail -12
done
