#!/usr/bin/env python3
"""The end-to-end peer of `qforge embed` (issue #19): all-MiniLM-L6-v2 as an ONNX graph built from
the same safetensors (onnx.helper: embeddings, six BERT layers with erf GELU, mean pooling, L2
normalization), checked against QuantForge's f32 embeddings, quantized with
onnxruntime.quantization.quantize_dynamic (per-channel int8 weights), and timed on one thread on
the same sentences, alternating with `qforge embed --timing`:

- ORT f32 and ORT int8, each with ORT's default optimizations and with
  disabled_optimizers=["SkipLayerNormFusion"] (its fused SkipLayerNormalization is a scalar loop on
  one thread), at batch 1 and at batch 32 (ms per sentence, best of --repeats);
- QuantForge's f32 and dynamic-per-token modes through the given qforge binary.

usage: pip install numpy onnx onnxruntime tokenizers
       python3 tools/minilm_onnxruntime_peer.py --qforge .build/release/qforge [--model DIR] [--repeats 5] [--rounds 2]
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minilm_reference import load_safetensors  # noqa: E402  (the one safetensors reader of tools/)

SENTENCES = [
    "A man is playing a guitar.", "The new movie is awesome.", "Quantized neural networks run faster on CPUs.",
    "How do I bake sourdough bread at home?", "The stock market fell sharply after the announcement.",
    "A woman is slicing an onion in the kitchen.", "Two dogs are running through a field of tall grass.",
    "The committee will publish its final report next spring.", "Python and Swift are both popular languages.",
    "It rained all weekend, so we stayed inside and read.", "The train to Zurich leaves at seven in the morning.",
    "Children were building a sandcastle on the beach.", "Inflation eased slightly in the third quarter.",
    "She plays the violin in the city orchestra.", "Compilers translate source code into machine instructions.",
    "The museum reopened after a long renovation.",
] * 2  # 32 sentences


def build_model(t):
    """all-MiniLM-L6-v2 in ONNX (opset 17): input_ids, attention_mask [batch, sequence] int64 →
    sentence_embedding [batch, 384] (mean pooled over the mask, L2-normalized)."""
    nodes, inits = [], []
    counter = [0]

    def const(array, name=None):
        counter[0] += 1
        name = name or f"c{counter[0]}"
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, **attributes):
        counter[0] += 1
        out = f"t{counter[0]}"
        nodes.append(helper.make_node(op, inputs, [out], **attributes))
        return out

    def linear(x, prefix):
        return node("Add", [node("MatMul", [x, const(np.ascontiguousarray(t[prefix + ".weight"].T), prefix + ".wT")]),
                            const(t[prefix + ".bias"], prefix + ".b")])

    def layer_norm(x, prefix):
        return node("LayerNormalization", [x, const(t[prefix + ".weight"], prefix + ".g"), const(t[prefix + ".bias"], prefix + ".beta")],
                    axis=-1, epsilon=1e-12)

    ids, mask = "input_ids", "attention_mask"
    shape = node("Shape", [ids])
    seq = node("Gather", [shape, const(np.array(1, np.int64))], axis=0)
    positions = node("Range", [const(np.array(0, np.int64)), seq, const(np.array(1, np.int64))])
    x = node("Add", [node("Gather", [const(t["embeddings.word_embeddings.weight"], "word_embeddings"), ids]),
                     node("Gather", [const(t["embeddings.position_embeddings.weight"], "position_embeddings"), positions])])
    x = node("Add", [x, const(t["embeddings.token_type_embeddings.weight"][0], "token_type_0")])
    x = layer_norm(x, "embeddings.LayerNorm")
    # Additive mask: (1 - mask) * -10000 as [batch, 1, 1, sequence].
    mask_f = node("Cast", [mask], to=TensorProto.FLOAT)
    bias = node("Mul", [node("Sub", [const(np.array(1, np.float32)), mask_f]), const(np.array(-10000, np.float32))])
    bias = node("Unsqueeze", [bias, const(np.array([1, 2], np.int64))])
    heads_shape = const(np.array([0, 0, 12, 32], np.int64))
    merged_shape = const(np.array([0, 0, 384], np.int64))
    for l in range(6):
        p = f"encoder.layer.{l}."
        def heads(v):
            return node("Transpose", [node("Reshape", [v, heads_shape])], perm=[0, 2, 1, 3])
        q = heads(linear(x, p + "attention.self.query"))
        k = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.key"), heads_shape])], perm=[0, 2, 3, 1])
        v = heads(linear(x, p + "attention.self.value"))
        scores = node("Add", [node("Div", [node("MatMul", [q, k]), const(np.array(math.sqrt(32), np.float32))]), bias])
        context = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        context = node("Reshape", [node("Transpose", [context], perm=[0, 2, 1, 3]), merged_shape])
        x = layer_norm(node("Add", [linear(context, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")
        gelu = node("Mul", [node("Mul", [h, node("Add", [node("Erf", [node("Div", [h, const(np.array(math.sqrt(2), np.float32))])]),
                                                       const(np.array(1, np.float32))])]), const(np.array(0.5, np.float32))])
        x = layer_norm(node("Add", [linear(gelu, p + "output.dense"), x]), p + "output.LayerNorm")
    weights = node("Unsqueeze", [mask_f, const(np.array([2], np.int64))])
    pooled = node("Div", [node("ReduceSum", [node("Mul", [x, weights]), const(np.array([1], np.int64))], keepdims=0),
                          node("Clip", [node("ReduceSum", [mask_f, const(np.array([1], np.int64))], keepdims=1),
                                        const(np.array(1e-9, np.float32))])])
    norm = node("Sqrt", [node("ReduceSum", [node("Mul", [pooled, pooled]), const(np.array([1], np.int64))], keepdims=1)])
    embedding = helper.make_node("Div", [pooled, norm], ["sentence_embedding"])
    graph = helper.make_graph(nodes + [embedding], "all-MiniLM-L6-v2",
                              [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
                               helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])],
                              [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", 384])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def batches(tokenizer, sentences, size):
    """(input_ids, attention_mask) per batch, padded to the batch's longest sentence."""
    encoded = [tokenizer.encode(s).ids for s in sentences]
    for start in range(0, len(encoded), size):
        chunk = encoded[start:start + size]
        width = max(len(ids) for ids in chunk)
        ids = np.zeros((len(chunk), width), np.int64)
        mask = np.zeros((len(chunk), width), np.int64)
        for row, values in enumerate(chunk):
            ids[row, :len(values)] = values
            mask[row, :len(values)] = 1
        yield ids, mask


def session(path, disabled=()):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"], disabled_optimizers=list(disabled))


def ms_per_sentence(run, tokenizer, size, repeats):
    data = list(batches(tokenizer, SENTENCES, size))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for ids, mask in data:
            run(ids, mask)
        best = min(best, (time.perf_counter() - start) * 1000 / len(SENTENCES))
    return best


def qforge_times(qforge, model_dir, mode, repeats):
    """`qforge embed --timing`: (ms per sentence at batch 1, at batch 32)."""
    out = subprocess.run([qforge, "embed", "--model", model_dir, "--mode", mode, "--timing", "--repeats", str(repeats),
                          "--batch", "32", "--format", "jsonl"] + SENTENCES, check=True, capture_output=True, text=True)
    match = re.search(r"([\d.]+) ms/sentence at batch 1, ([\d.]+) at batch 32", out.stderr + out.stdout)
    if not match:
        raise SystemExit(f"could not read qforge's timing: {out.stderr[-500:]}")
    embeddings = np.array([json.loads(line)["embedding"] for line in out.stdout.splitlines() if line.startswith("{")], np.float32)
    return float(match.group(1)), float(match.group(2)), embeddings


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qforge", required=True, help="a release qforge binary")
    parser.add_argument("--model", default=os.path.expanduser("~/.cache/quantforge/models/all-MiniLM-L6-v2"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of ORT and QuantForge")
    args = parser.parse_args()
    tokenizer = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(256)
    folder = tempfile.mkdtemp(prefix="qforge-ort-peer-")
    f32_path, int8_path = os.path.join(folder, "minilm_f32.onnx"), os.path.join(folder, "minilm_int8.onnx")
    onnx.save(build_model(load_safetensors(os.path.join(args.model, "model.safetensors"))), f32_path)
    quantize_dynamic(f32_path, int8_path, per_channel=True, weight_type=QuantType.QInt8)

    # The graph against QuantForge's f32 embeddings of the same sentences.
    reference = session(f32_path)
    ort_f32 = np.concatenate([reference.run(None, {"input_ids": i, "attention_mask": m})[0] for i, m in batches(tokenizer, SENTENCES, 1)])
    _, _, qforge_f32 = qforge_times(args.qforge, args.model, "f32", 1)
    cosine = np.sum(ort_f32 * qforge_f32, axis=1) / np.linalg.norm(ort_f32, axis=1) / np.linalg.norm(qforge_f32, axis=1)
    print(f"ONNX graph vs qforge embed --mode f32: cosine min {cosine.min():.6f} mean {cosine.mean():.6f} ({len(SENTENCES)} sentences)")
    if cosine.min() < 0.9999:
        raise SystemExit("the ONNX graph does not compute QuantForge's model")
    int8_session = session(int8_path)
    ort_int8 = np.concatenate([int8_session.run(None, {"input_ids": i, "attention_mask": m})[0] for i, m in batches(tokenizer, SENTENCES, 1)])
    print(f"ORT int8 vs f32 cosine: mean {np.mean(np.sum(ort_int8 * ort_f32, axis=1)):.5f}")

    configurations = [("ORT f32", f32_path, ()), ("ORT f32 no SkipLayerNormFusion", f32_path, ("SkipLayerNormFusion",)),
                      ("ORT int8", int8_path, ()), ("ORT int8 no SkipLayerNormFusion", int8_path, ("SkipLayerNormFusion",))]
    results = {}
    for round_ in range(args.rounds):
        for name, path, disabled in configurations:
            s = session(path, disabled)
            run = lambda ids, mask: s.run(None, {"input_ids": ids, "attention_mask": mask})
            times = (ms_per_sentence(run, tokenizer, 1, args.repeats), ms_per_sentence(run, tokenizer, 32, args.repeats))
            results[name] = tuple(min(a, b) for a, b in zip(results.get(name, times), times))
        for mode in ("f32", "dynamic-per-token"):
            one, thirty_two, _ = qforge_times(args.qforge, args.model, mode, args.repeats)
            name = f"QuantForge {mode}"
            results[name] = tuple(min(a, b) for a, b in zip(results.get(name, (one, thirty_two)), (one, thirty_two)))
    print(f"\nms per sentence, 1 thread, best of {args.repeats} x {args.rounds} alternated rounds ({len(SENTENCES)} sentences)")
    print(f"{'configuration':34} {'batch 1':>9} {'batch 32':>9}")
    for name, (one, thirty_two) in results.items():
        print(f"{name:34} {one:9.3f} {thirty_two:9.3f}")
    best_int8 = tuple(min(results["ORT int8"][i], results["ORT int8 no SkipLayerNormFusion"][i]) for i in range(2))
    best_f32 = tuple(min(results["ORT f32"][i], results["ORT f32 no SkipLayerNormFusion"][i]) for i in range(2))
    ours = results["QuantForge dynamic-per-token"]
    print(f"\nQuantForge per-token int8 vs ORT int8 (its faster configuration): {best_int8[0] / ours[0]:.2f}x at batch 1, "
          f"{best_int8[1] / ours[1]:.2f}x at batch 32; vs ORT f32: {ours[0] / best_f32[0]:.2f} / {ours[1] / best_f32[1]:.2f} of its time")
    print(f"QuantForge f32 vs ORT f32: {best_f32[0] / results['QuantForge f32'][0]:.2f}x at batch 1, "
          f"{best_f32[1] / results['QuantForge f32'][1]:.2f}x at batch 32")


if __name__ == "__main__":
    sys.exit(main())
