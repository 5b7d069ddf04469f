#!/usr/bin/env bash
# Regenerates the checked-in AOT output in generated/ from generated/transformer_spec.json:
# the transformer shapes of ../shared/peers (QLinearMatMul, u8 x s8 -> u8) for x86-64-v4 with
# AVX-512 VNNI and for AArch64 with dotprod. The test suite regenerates into a temporary folder
# and checks that the result is byte-identical to what is checked in.
# --force: the files there were written by earlier QuantForge versions (before output folders kept a
# .qforge-manifest) and are tracked by git, so replacing them loses nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
spec=generated/transformer_spec.json
swift run -c release qforge aot --spec "$spec" --target x86-64-v4-vnni --library qf_transformer_x86_64_v4 \
    --out generated/x86-64-v4-vnni --force
swift run -c release qforge aot --spec "$spec" --target aarch64-dotprod --library qf_transformer_aarch64 \
    --out generated/aarch64-dotprod --force
