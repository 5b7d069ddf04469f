#!/usr/bin/env bash
# Builds the libFuzzer targets (Sources/FuzzTargets) with -sanitize=fuzzer,address in their own
# build folder and runs each for SECONDS (default 60): spec, database, safetensors, cdesc, cli, replay.
# Crashes are written to fuzz-corpus/crashes/; each target's corpus grows in fuzz-corpus/TARGET.
# usage: tools/libfuzzer.sh [SECONDS] [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"; shift || true
targets=("${@:-spec database safetensors cdesc cli replay}")
swift build --scratch-path .build-fuzz --product FuzzTargets \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DLIBFUZZER -Xswiftc -parse-as-library
binary=.build-fuzz/debug/FuzzTargets
mkdir -p fuzz-corpus/crashes
for target in ${targets[@]}; do
    mkdir -p "fuzz-corpus/$target"
    # The spec target starts from a real kernel spec when its corpus is empty (JSON is hard to guess).
    if [ "$target" = spec ] && [ -z "$(ls -A fuzz-corpus/spec)" ]; then cp generated/transformer_spec.json fuzz-corpus/spec/; fi
    # The command line and replay targets start from real inputs too.
    if [ "$target" = cli ] && [ -z "$(ls -A fuzz-corpus/cli)" ]; then
        printf 'bench\0--shapes\0004x8x8\0--min-time\0000.5' > fuzz-corpus/cli/bench
        printf 'db\0export\0--out\0/nonexistent/x.json' > fuzz-corpus/cli/export
        printf 'fuzz\0--isa\0portable,avx2\0--jobs\0002' > fuzz-corpus/cli/fuzz
    fi
    if [ "$target" = replay ] && [ -z "$(ls -A fuzz-corpus/replay)" ]; then cp tools/fuzz_replay_seed.json fuzz-corpus/replay/; fi
    echo "== $target, $seconds s"
    QFORGE_FUZZ_TARGET="$target" ASAN_OPTIONS=detect_leaks=0 "$binary" "fuzz-corpus/$target" \
        -max_total_time="$seconds" -artifact_prefix=fuzz-corpus/crashes/"$target"- -print_final_stats=1 2>&1 | tail -12
done
