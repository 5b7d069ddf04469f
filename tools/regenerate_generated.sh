#!/usr/bin/env bash
# Regenerates the checked-in AOT output in generated/ from generated/transformer_spec.json (the
# transformer shapes of ../shared/peers: QLinearMatMul, u8 x s8 -> u8) and
# generated/operators_spec.json (a transformer block's other operators and a MobileNet-v2 / ResNet
# block's convolutions), for x86-64-v4 with AVX-512 VNNI and for AArch64 with dotprod, with LLVM 14
# (the LLVM generated/ is tied to; its own scratch path, as .ci/run uses). The test suite
# regenerates into a temporary folder and checks that the result is byte-identical.
# --force: the files there were written by earlier QuantForge versions (before output folders kept a
# .qforge-manifest) and are tracked by git, so replacing them loses nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
qforge=(env QFORGE_LLVM_VERSION=14 swift run --scratch-path .build-llvm14 qforge)
for spec in transformer operators; do
    "${qforge[@]}" aot --spec "generated/${spec}_spec.json" --target x86-64-v4-vnni --library "qf_${spec}_x86_64_v4" \
        --out generated/x86-64-v4-vnni --force
    "${qforge[@]}" aot --spec "generated/${spec}_spec.json" --target aarch64-dotprod --library "qf_${spec}_aarch64" \
        --out generated/aarch64-dotprod --force
done
