#!/usr/bin/env python3
"""Reference data for QuantForge's all-MiniLM-L6-v2 tests, computed independently of QuantForge:
token ids from Hugging Face's `tokenizers` (the model's tokenizer.json) and f32 sentence embeddings
from a NumPy implementation of the BERT encoder (float64 arithmetic, exact erf GELU), mean pooling
and L2 normalization. Writes Tests/QuantWorkflowTests/Fixtures/minilm_reference.json.

usage: python3 -m venv /tmp/ref && /tmp/ref/bin/pip install numpy tokenizers
       /tmp/ref/bin/python tools/minilm_reference.py [MODEL_DIR]
"""
import json, math, os, struct, sys
import numpy as np
from tokenizers import Tokenizer

model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/quantforge/models/all-MiniLM-L6-v2")
out = os.path.join(os.path.dirname(__file__), "..", "Tests", "QuantWorkflowTests", "Fixtures", "minilm_reference.json")

TOKENIZER_CASES = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "QuantForge generates int8 kernels for CPUs.",
    "Don't stop believin' -- it's 3.14159 o'clock!",
    "Café naïve résumé façade Über",
    "unaffable antidisestablishmentarianism supercalifragilisticexpialidocious",
    "中文字符 and 日本語 mixed with English",
    "E-mail: someone@example.com, URL: https://example.org/path?x=1",
    "   multiple   spaces\tand\ttabs\nnewlines   ",
    "ALL CAPS SENTENCE WITH NUMBERS 12345 67890",
    "emoji 😀 and symbols © ® ™ § ¶",
    "",
]

EMBEDDING_CASES = [
    "A man is playing a guitar.",
    "The new movie is awesome.",
    "Quantized neural networks run faster on CPUs.",
    "How do I bake sourdough bread at home?",
    "The stock market fell sharply after the announcement.",
    "Café naïve résumé façade",
    "This is a considerably longer sentence, written to make sure that the attention over many tokens, the position embeddings and the mean pooling all behave as they should in the reference implementation.",
    "Hi",
]


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[info["dtype"]]
        tensors[name] = np.frombuffer(data[start:end], dtype=dtype).reshape(info["shape"])
    return tensors


def layer_norm(x, w, b, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


erf = np.vectorize(math.erf)


def encode(t, ids):
    f = lambda name: t[name].astype(np.float64)
    n = len(ids)
    x = f("embeddings.word_embeddings.weight")[ids] + f("embeddings.position_embeddings.weight")[:n] \
        + f("embeddings.token_type_embeddings.weight")[0]
    x = layer_norm(x, f("embeddings.LayerNorm.weight"), f("embeddings.LayerNorm.bias"))
    heads, dim = 12, 32
    for l in range(6):
        p = f"encoder.layer.{l}."
        lin = lambda v, name: v @ f(p + name + ".weight").T + f(p + name + ".bias")
        q, k, v = (lin(x, "attention.self." + s).reshape(n, heads, dim).transpose(1, 0, 2) for s in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(dim)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(n, heads * dim)
        x = layer_norm(x + lin(ctx, "attention.output.dense"), f(p + "attention.output.LayerNorm.weight"),
                       f(p + "attention.output.LayerNorm.bias"))
        h = lin(x, "intermediate.dense")
        h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
        x = layer_norm(x + lin(h, "output.dense"), f(p + "output.LayerNorm.weight"), f(p + "output.LayerNorm.bias"))
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def main():
    tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tokenizer.no_padding()  # tokenizer.json pads to 128; sentence-transformers truncates at 256
    tokenizer.enable_truncation(256)
    tensors = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    tokens = [{"text": s, "ids": tokenizer.encode(s).ids} for s in TOKENIZER_CASES]
    embeddings = []
    for s in EMBEDDING_CASES:
        ids = tokenizer.encode(s).ids
        embeddings.append({"text": s, "ids": ids, "embedding": [round(float(v), 8) for v in encode(tensors, ids)]})
    with open(out, "w") as f:
        json.dump({"generator": "tools/minilm_reference.py (tokenizers %s, numpy %s, float64)" % (
            __import__("tokenizers").__version__, np.__version__), "tokens": tokens, "embeddings": embeddings}, f, ensure_ascii=False, indent=1)
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
