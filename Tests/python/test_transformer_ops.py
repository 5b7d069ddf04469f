"""LayerNormalization, SkipLayerNormalization and Softmax against ONNX Runtime's nodes.

QuantForge defines these operation by operation (sums in a fixed 16-lane order, its own exp within
2 ulp), ONNX Runtime sums in its own order with its own exp, so the outputs agree to float32
rounding, not bit for bit: for rows of n values of order 1 the sums' rounding is a few 2^-24 · n
relative at most, hence the tolerances below (2e-5 relative and absolute for LayerNorm's outputs of
order 1; 1e-5 relative for softmax, whose outputs are products of one exp and one reciprocal). The
generated kernels themselves are bit-exact with QuantForge's reference on every ISA (the Swift
suite); here every ISA must also agree with ONNX Runtime within these bounds.
"""

from __future__ import annotations

import numpy as np
import pytest

import quantforge
from onnx_oracle import run_node


@pytest.mark.parametrize("columns", [1, 7, 16, 33, 384, 385])
def test_layer_norm_matches_onnxruntime(context, rng, columns):
    x = (rng.standard_normal((5, columns)) * 3 + 1).astype(np.float32)
    gamma = rng.uniform(0.5, 1.5, columns).astype(np.float32)
    beta = rng.uniform(-1, 1, columns).astype(np.float32)
    norm = context.layer_norm(columns, epsilon=1e-5)
    y = norm(x, gamma, beta)
    (expected,) = run_node("LayerNormalization", {"X": x, "Scale": gamma, "B": beta}, {"Y": np.float32}, opset=17,
                           axis=-1, epsilon=1e-5)
    np.testing.assert_allclose(y, expected, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("columns", [16, 384])
def test_skip_layer_norm_matches_onnxruntime(context, rng, columns):
    x = rng.standard_normal((1, 6, columns)).astype(np.float32)
    skip = rng.standard_normal((1, 6, columns)).astype(np.float32)
    gamma = rng.uniform(0.5, 1.5, columns).astype(np.float32)
    beta = rng.uniform(-1, 1, columns).astype(np.float32)
    norm = context.layer_norm(columns, epsilon=1e-12, residual=True)
    y = norm(x, gamma, beta, residual=skip)
    (expected,) = run_node("SkipLayerNormalization", {"input": x, "skip": skip, "gamma": gamma, "beta": beta}, {"output": np.float32},
                           domain="com.microsoft", epsilon=1e-12)
    np.testing.assert_allclose(y, expected, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("output,y_scale,y_zero_point", [("u8", 0.02, 128), ("s8", 0.015, -3)])
def test_quantized_layer_norm_matches_onnxruntime(context, rng, output, y_scale, y_zero_point):
    """LayerNorm with QuantizeLinear fused: exactly ONNX Runtime's QuantizeLinear of QuantForge's own
    f32 LayerNorm (the same f32 values), and within one step of ONNX Runtime's LayerNormalization →
    QuantizeLinear (an f32 difference of a few ulp can cross a rounding boundary)."""
    columns = 384
    x = (rng.standard_normal((6, columns)) * 3).astype(np.float32)
    skip = rng.standard_normal((6, columns)).astype(np.float32)
    gamma = rng.uniform(0.5, 1.5, columns).astype(np.float32)
    beta = rng.uniform(-1, 1, columns).astype(np.float32)
    dtype = np.uint8 if output == "u8" else np.int8
    zero = np.array(y_zero_point, dtype)
    scale = np.array(y_scale, np.float32)
    fused = context.layer_norm(columns, epsilon=1e-12, residual=True, output=output, y_scale=y_scale, y_zero_point=y_zero_point)
    y = fused(x, gamma, beta, residual=skip)
    assert y.dtype == dtype and y.shape == x.shape
    ours = context.layer_norm(columns, epsilon=1e-12, residual=True)(x, gamma, beta, residual=skip)
    (requantized,) = run_node("QuantizeLinear", {"x": ours, "y_scale": scale, "y_zero_point": zero}, {"y": dtype}, opset=13)
    np.testing.assert_array_equal(y, requantized)
    (normalized,) = run_node("SkipLayerNormalization", {"input": x, "skip": skip, "gamma": gamma, "beta": beta}, {"output": np.float32},
                             domain="com.microsoft", epsilon=1e-12)
    (expected,) = run_node("QuantizeLinear", {"x": normalized, "y_scale": scale, "y_zero_point": zero}, {"y": dtype}, opset=13)
    difference = np.abs(y.astype(np.int32) - expected.astype(np.int32))
    assert difference.max() <= 1 and np.mean(difference == 0) > 0.99
    assert len(np.unique(y)) > 50
    with pytest.raises(ValueError):
        context.layer_norm(columns, output="u16")
    with pytest.raises(quantforge.InvalidArgumentError):
        context.layer_norm(columns, output="u8", y_scale=0.0)


@pytest.mark.parametrize("columns", [1, 5, 16, 17, 128, 300])
def test_softmax_matches_onnxruntime(context, rng, columns):
    x = (rng.standard_normal((4, columns)) * 6).astype(np.float32)
    softmax = context.softmax(scale=0.125)
    y = softmax(x)
    (expected,) = run_node("Softmax", {"X": x * np.float32(0.125)}, {"Y": np.float32}, opset=13, axis=-1)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-7)
    # A key-padding mask: the first `valid` entries as their own softmax, zeros after.
    valid = max(1, columns // 2)
    masked = softmax(x, valid)
    (prefix,) = run_node("Softmax", {"X": x[:, :valid] * np.float32(0.125)}, {"Y": np.float32}, opset=13, axis=-1)
    np.testing.assert_allclose(masked[:, :valid], prefix, rtol=1e-5, atol=1e-7)
    assert np.all(masked[:, valid:] == 0)


def test_bad_input_raises(best):
    norm = best.layer_norm(8)
    x = np.zeros((2, 8), np.float32)
    with pytest.raises(ValueError):
        norm(np.zeros((2, 9), np.float32), np.ones(8, np.float32), np.zeros(8, np.float32))
    with pytest.raises(ValueError):
        norm(x, np.ones(7, np.float32), np.zeros(8, np.float32))
    with pytest.raises(ValueError):
        norm(x, np.ones(8, np.float32), np.zeros(8, np.float32), residual=x)
    with pytest.raises(quantforge.InvalidArgumentError):
        best.layer_norm(8, epsilon=-1.0)
    with pytest.raises(quantforge.InvalidArgumentError):
        best.softmax(scale=0.0)
    with pytest.raises(quantforge.InvalidArgumentError):
        best.softmax()(x, valid=9)


def onnxruntime_attention(qkv, heads, valid):
    """ONNX Runtime's MultiHeadAttention (f32) of a fused QKV's rows over the first `valid` keys."""
    hidden = qkv.shape[1] // 3
    q, k, v = qkv[None, :, :hidden], qkv[None, :valid, hidden:2 * hidden], qkv[None, :valid, 2 * hidden:]
    (expected,) = run_node("MultiHeadAttention", {"query": q, "key": k.copy(), "value": v.copy()}, {"output": np.float32},
                           domain="com.microsoft", num_heads=heads)
    return expected[0]


@pytest.mark.parametrize("heads,head_size,length,valid", [(12, 32, 23, 23), (2, 64, 40, 17), (3, 12, 5, 5)])
def test_int8_attention_matches_onnxruntime(context, rng, heads, head_size, length, valid):
    """Int8 attention against ONNX Runtime's MultiHeadAttention (f32) on the first `valid` keys: the
    int8 products (Q, K, V to 127 levels per token and head, P to 255 per row) keep every output row
    within cosine 0.999 of it and its values within 2% of the row's largest."""
    hidden = heads * head_size
    qkv = rng.uniform(-1.5, 1.5, (length, 3 * hidden)).astype(np.float32)
    attention = context.attention(heads, head_size)
    y = attention(qkv, valid)
    assert y.shape == (length, hidden) and y.dtype == np.float32
    expected = onnxruntime_attention(qkv, heads, valid)
    for row in range(length):
        for head in range(heads):
            got, want = y[row, head * head_size:(head + 1) * head_size], expected[row, head * head_size:(head + 1) * head_size]
            cosine = float(np.dot(got, want) / (np.linalg.norm(got) * np.linalg.norm(want)))
            assert cosine > 0.999, (row, head, cosine)
            assert np.max(np.abs(got - want)) <= 0.02 * np.max(np.abs(want)) + 1e-3
    # Every ISA gives the same bits (the Swift suite checks each against the reference).
    assert np.array_equal(y, quantforge.Context(isa="portable").attention(heads, head_size)(qkv, valid))


@pytest.mark.parametrize("heads,head_size,length,valid", [(12, 32, 23, 23), (2, 64, 40, 17), (3, 12, 5, 5)])
def test_f32_attention_matches_onnxruntime(context, rng, heads, head_size, length, valid):
    """Fused f32 attention against ONNX Runtime's MultiHeadAttention (f32) on the first `valid` keys:
    both f32, different summation orders, so within 1e-5 of each row's largest value."""
    hidden = heads * head_size
    qkv = rng.uniform(-1.5, 1.5, (length, 3 * hidden)).astype(np.float32)
    y = context.attention(heads, head_size, compute="f32")(qkv, valid)
    assert y.shape == (length, hidden) and y.dtype == np.float32
    expected = onnxruntime_attention(qkv, heads, valid)
    for row in range(length):
        assert np.max(np.abs(y[row] - expected[row])) <= 1e-5 * np.max(np.abs(expected[row])), row
    assert np.array_equal(y, quantforge.Context(isa="portable").attention(heads, head_size, compute="f32")(qkv, valid))


def test_attention_bad_input_raises(best):
    with pytest.raises(quantforge.InvalidArgumentError):
        best.attention(2, 30)
    attention = best.attention(2, 8)
    with pytest.raises(ValueError):
        attention(np.zeros((4, 47), np.float32))
    with pytest.raises(quantforge.InvalidArgumentError):
        attention(np.zeros((4, 48), np.float32), valid=5)
    with pytest.raises(quantforge.InvalidArgumentError):
        attention(np.zeros((4, 48), np.float32), valid=0)
    with pytest.raises(ValueError):
        best.attention(2, 8, compute="f16")
    fused = best.attention(2, 8, compute="f32")
    with pytest.raises(quantforge.InvalidArgumentError):
        fused(np.zeros((4, 48), np.float32), valid=5)
    with pytest.raises(quantforge.InvalidArgumentError):
        best.attention(2, 30, compute="f32")
