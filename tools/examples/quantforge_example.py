#!/usr/bin/env python3
"""Every QuantForge operator from Python (the `quantforge` package) on NumPy arrays, each checked
against NumPy's computation of the same ONNX semantics: QLinearMatMul, a matmul with an epilogue
chain and a residual add, a per-token dynamic quantized linear, a QLinearConv (NCHW) and a
depthwise one (NHWC), QuantizeLinear / DequantizeLinear per axis, DynamicQuantizeLinear,
QLinearAdd / QLinearMul with broadcasting, a lookup activation, a 4-bit weight-only linear
(MatMulNBits) and the transformer operators (LayerNorm, softmax, int8 and fused f32 attention);
then bad input, which must raise.

    pip install tools/python && python3 tools/examples/quantforge_example.py

Exit 0 and "all checks passed" on success.
"""

import numpy as np

import quantforge

rng = np.random.default_rng(7)
context = quantforge.Context(threads=2)
print(f"QuantForge {quantforge.__version__} on {context.isa}")


def requantize(values, scale, zero_point, dtype=np.uint8):
    info = np.iinfo(dtype)
    return np.clip(np.rint(values) + zero_point, info.min, info.max).astype(dtype)


# QLinearMatMul: u8 A x s8 B (per-column scales) -> u8.
m, k, n = 13, 200, 70
a = rng.integers(0, 256, (m, k), dtype=np.uint8)
b = rng.integers(-128, 128, (k, n), dtype=np.int8)
b_scale = (0.001 + 0.0001 * (np.arange(n) % 7)).astype(np.float32)
linear = context.matmul(k, n, a_scale=0.02, a_zero_point=128, b_scale=b_scale, output="u8", y_scale=0.05, y_zero_point=128)
acc = (a.astype(np.int64) - 128) @ b.astype(np.int64)
np.testing.assert_array_equal(linear(a, linear.pack(b)), requantize(acc.astype(np.float32) * (np.float32(0.02) * b_scale / np.float32(0.05)), 0, 128))
print("QLinearMatMul:", linear.description)

# An epilogue chain: per-channel scale, bias, ReLU, residual add, requantized to s8.
scale = rng.uniform(0.5, 2, n).astype(np.float32)
bias = rng.standard_normal(n).astype(np.float32)
residual = rng.integers(-128, 128, (m, n), dtype=np.int8)
chain = context.matmul(k, n, a_scale=0.02, a_zero_point=128, b_scale=0.001, output="s8", y_scale=0.04, y_zero_point=-3,
                       epilogue=[("scale", scale), ("bias", bias), ("activation", "relu"), ("residual_add", "s8", 0.05, 2)])
v = np.maximum(acc.astype(np.float32) * np.float32(np.float32(0.02) * np.float32(0.001)) * scale + bias, 0)
v = v + np.float32(0.05) * (residual.astype(np.int32) - 2).astype(np.float32)
np.testing.assert_array_equal(chain(a, chain.pack(b), residual=residual),
                              requantize(v * (np.float32(1) / np.float32(0.04)), 0, -3, np.int8))
print("matmul with an epilogue chain: ok")

# A dynamic quantized linear, per token: f32 in, f32 out.
x = (rng.standard_normal((m, k)) * rng.uniform(0.1, 10, (m, 1))).astype(np.float32)
dynamic = context.dynamic_linear(k, n, per_row=True, b_scale=b_scale, output="f32")
q, scales, points = context.dynamic_quantize((m, k), per_row=True)(x)
want = ((q.astype(np.int64) - points[:, None]) @ b.astype(np.int64)).astype(np.float32) * (scales[:, None] * b_scale)
np.testing.assert_array_equal(dynamic(x, dynamic.pack(b)), want)
print("dynamic linear (per token): ok")

# QLinearConv 3x3/2, NCHW, and a depthwise 3x3 in NHWC.
for layout, groups in [("nchw", 1), ("nhwc", 24)]:
    image = rng.integers(0, 256, (1, 24, 15, 15) if layout == "nchw" else (1, 15, 15, 24), dtype=np.uint8)
    weights = rng.integers(-128, 128, (24, 24 // groups, 3, 3), dtype=np.int8)
    stride = 2 if groups == 1 else 1
    conv = context.conv(image.shape, weights.shape, layout=layout, strides=(stride, stride), pads=(1, 1, 1, 1), groups=groups,
                        x_scale=0.03, x_zero_point=120, w_scale=0.004, output="u8", y_scale=0.08, y_zero_point=100)
    y = conv(image, conv.pack(weights))
    nchw = image if layout == "nchw" else image.transpose(0, 3, 1, 2)
    padded = np.pad(nchw.astype(np.int64) - 120, ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh = (15 + 2 - 3) // stride + 1
    expected = np.zeros((24, oh, oh), np.int64)
    for o in range(24):
        g = o // (24 // groups)
        channels = slice(g * (24 // groups), (g + 1) * (24 // groups))
        for i in range(3):
            for j in range(3):
                window = padded[0, channels, i:i + stride * oh:stride, j:j + stride * oh:stride]
                expected[o] += np.tensordot(weights[o, :, i, j].astype(np.int64), window, axes=1)
    expected = requantize(expected.astype(np.float32) * np.float32(np.float32(0.03) * np.float32(0.004) / np.float32(0.08)), 0, 100)
    np.testing.assert_array_equal(y[0] if layout == "nchw" else y[0].transpose(2, 0, 1), expected)
    print(f"convolution {layout}, groups {groups}:", conv.description)

# QuantizeLinear / DequantizeLinear per axis (s8).
tensor = rng.standard_normal((3, 4, 5)).astype(np.float32) * 3
axis_scales, axis_points = np.array([0.01, 0.02, 0.05, 0.1], np.float32), np.array([0, -3, 7, 127], np.int32)
quantized = context.quantize(tensor.shape, axis_scales, axis_points, dtype="s8", axis=1)(tensor)
want = np.clip(np.rint(tensor / axis_scales[:, None]) + axis_points[:, None], -128, 127).astype(np.int8)
np.testing.assert_array_equal(quantized, want)
back = context.dequantize(tensor.shape, axis_scales, axis_points, dtype="s8", axis=1)(quantized)
np.testing.assert_array_equal(back, (want.astype(np.int32) - axis_points[:, None]).astype(np.float32) * axis_scales[:, None])
print("QuantizeLinear / DequantizeLinear: ok")

# DynamicQuantizeLinear.
values = rng.uniform(-1.5, 6, 300).astype(np.float32)
y, y_scale, y_zero_point = context.dynamic_quantize(values.shape)(values)
low, high = min(values.min(), 0), max(values.max(), 0)
assert y_scale == np.float32((high - low) / np.float32(255))
assert y_zero_point == np.uint8(np.rint(np.clip(-low / y_scale, 0, 255)))
np.testing.assert_array_equal(y, np.clip(np.rint(values / y_scale) + y_zero_point, 0, 255).astype(np.uint8))
print("DynamicQuantizeLinear: ok")

# QLinearAdd and QLinearMul, [2, 3, 4] with [4].
left, right = rng.integers(0, 256, (2, 3, 4), dtype=np.uint8), rng.integers(0, 256, 4, dtype=np.uint8)
add = context.qlinear_add(left.shape, right.shape, a_scale=0.05, a_zero_point=128, b_scale=0.02, b_zero_point=10, y_scale=0.07,
                          y_zero_point=120)
sum_ = np.float32(0.05 / np.float32(0.07)) * (left.astype(np.int32) - 128) + np.float32(np.float32(0.02) / np.float32(0.07)) * (right.astype(np.int32) - 10)
np.testing.assert_array_equal(add(left, right), requantize(sum_.astype(np.float32), 0, 120))
mul = context.qlinear_mul(left.shape, right.shape, a_scale=0.05, a_zero_point=128, b_scale=0.02, b_zero_point=10, y_scale=0.07,
                          y_zero_point=120)
product = ((left.astype(np.int32) - 128) * (right.astype(np.int32) - 10)).astype(np.float32) * np.float32(np.float32(0.05) * np.float32(0.02) / np.float32(0.07))
np.testing.assert_array_equal(mul(left, right), requantize(product, 0, 120))
print("QLinearAdd / QLinearMul: ok")

# A ReLU through a lookup table, s8 in, u8 out.
signed = rng.integers(-128, 128, 1000, dtype=np.int8)
relu = context.lookup("relu", signed.shape, x_type="s8", x_scale=0.1, x_zero_point=-5, y_type="u8", y_scale=0.06)
real = np.maximum((signed.astype(np.int32) + 5).astype(np.float32) * np.float32(0.1), 0)
np.testing.assert_array_equal(relu(signed), requantize(real / np.float32(0.06), 0, 0))
print("lookup activation: ok")

# MatMulNBits: 4-bit weights per block of 32 (midpoint zero point 8), f32 compute: against the
# dequantized weights in float64 (only the f32 summation order differs).
k4, n4 = 96, 24
q4 = rng.integers(0, 16, (n4, k4 // 32, 32), dtype=np.uint8)
b4 = (q4[..., 0::2] | (q4[..., 1::2] << 4)).astype(np.uint8)          # MatMulNBits' B: [N, K/32, 16]
s4 = rng.uniform(0.01, 0.02, n4 * (k4 // 32)).astype(np.float32)
x4 = rng.uniform(-1, 1, (3, k4)).astype(np.float32)
nbits = context.nbits_linear(k4, n4, bits=4, block_size=32, compute="f32")
w4 = ((q4.astype(np.float64) - 8) * s4.reshape(n4, -1, 1)).reshape(n4, k4)
np.testing.assert_allclose(nbits(x4, nbits.pack(b4, s4)), x4.astype(np.float64) @ w4.T, rtol=1e-5, atol=1e-5)
print("MatMulNBits: ok")

# Transformer operators: LayerNorm of x + residual, softmax over a valid prefix, and multi-head
# attention over a fused QKV (int8 products, and fused f32), against float64.
xt = rng.uniform(-3, 3, (3, 40)).astype(np.float32)
rt = rng.uniform(-1, 1, (3, 40)).astype(np.float32)
gamma, beta = rng.uniform(0.5, 1.5, 40).astype(np.float32), rng.uniform(-1, 1, 40).astype(np.float32)
v = xt.astype(np.float64) + rt
normed = (v - v.mean(1, keepdims=True)) / np.sqrt(v.var(1, keepdims=True) + 1e-5) * gamma + beta
np.testing.assert_allclose(context.layer_norm(40, epsilon=1e-5, residual=True)(xt, gamma, beta, residual=rt), normed, atol=1e-5)
e = np.exp(0.5 * xt[:, :33].astype(np.float64) - (0.5 * xt[:, :33]).max(1, keepdims=True))
np.testing.assert_allclose(context.softmax(scale=0.5)(xt, valid=33), np.pad(e / e.sum(1, keepdims=True), ((0, 0), (0, 7))), atol=1e-6)
heads, d, length, valid = 2, 8, 5, 4
qkv = rng.uniform(-1.5, 1.5, (length, 3 * heads * d)).astype(np.float32)
q, k, vv = (qkv[:, i * heads * d:(i + 1) * heads * d].astype(np.float64).reshape(length, heads, d) for i in range(3))
logits = np.einsum("ihc,jhc->hij", q, k[:valid]) / np.sqrt(d)
p = np.exp(logits - logits.max(2, keepdims=True))
exact = np.einsum("hij,jhc->ihc", p / p.sum(2, keepdims=True), vv[:valid]).reshape(length, heads * d)
largest = np.abs(exact).max(1, keepdims=True)
assert np.all(np.abs(context.attention(heads, d, compute="f32")(qkv, valid) - exact) <= 1e-5 * largest + 1e-6)
assert np.all(np.abs(context.attention(heads, d)(qkv, valid) - exact) <= 0.03 * largest + 1e-6)
print("LayerNorm, softmax, int8 and f32 attention: ok")

# Bad input raises, with the library's message.
for bad in [lambda: context.matmul(0, 4), lambda: context.conv((1, 6, 8, 8), (4, 2, 3, 3), groups=3),
            lambda: context.quantize((2, 3), [0.1, 0.1], axis=1), lambda: linear(a[:, :10], linear.pack(b)),
            lambda: context.nbits_linear(64, 8, block_size=48)]:
    try:
        bad()
    except (quantforge.QuantForgeError, ValueError, TypeError) as error:
        print("refused:", error)
    else:
        raise SystemExit("bad input was accepted")
print("all checks passed")
