#!/usr/bin/env bash
# What the fused bias + GELU + requantize chain costs over the plain requantized matmul:
# `qforge bench --op u8s8u8_requant` and `--op u8s8u8_gelu` alternately, ROUNDS times (default 2),
# best time of each, per shape. Usage: tools/gelu_overhead.sh [SHAPES] (default: the transformer
# shapes with M = 16 and 128). Needs a release build (swift build -c release).
set -euo pipefail
cd "$(dirname "$0")/.."
shapes=${1:-16x384x384,16x384x1536,16x1536x384,16x768x768,16x768x3072,16x3072x768,128x384x384,128x384x1536,128x1536x384,128x768x768,128x768x3072,128x3072x768}
rounds=${ROUNDS:-2}
for _ in $(seq "$rounds"); do
    for op in u8s8u8_requant u8s8u8_gelu; do
        .build/release/qforge bench --op "$op" --shapes "$shapes" | awk -v op="$op" '/^ *[0-9]+ x/ { print op, $1 "x" $3 "x" $5, $11 }'
    done
done | awk '
    { key = $1 " " $2; if (!(key in best) || $3 < best[key]) best[key] = $3; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
    END {
        printf "%-14s %12s %22s %9s\n", "shape", "requant us", "bias+GELU+requant us", "overhead"
        for (i = 1; i <= n; i++) {
            s = order[i]; r = best["u8s8u8_requant " s]; g = best["u8s8u8_gelu " s]
            printf "%-14s %12.2f %22.2f %8.1f%%\n", s, r, g, 100 * (g / r - 1)
        }
    }'
