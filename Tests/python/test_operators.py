"""Each operator against a NumPy reference of its definition, where ONNX Runtime has no operator
to compare with (per-token dynamic linear, epilogue chains, residual adds, lookups, threads)."""

from __future__ import annotations

import numpy as np
import pytest

import quantforge

CASES = 8


def requantize(values, y_scale, y_zero_point, dtype):
    """sat(RNE(v · (1 / y_scale)) + y_zp), the reciprocal in float32 (the chain's output)."""
    info = np.iinfo(dtype)
    reciprocal = np.float32(1) / np.float32(y_scale)
    q = np.rint(values.astype(np.float32) * reciprocal) + y_zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


@pytest.mark.parametrize("case", range(CASES))
def test_per_token_dynamic_linear(context, rng, case):
    m, k, n = int(rng.integers(1, 30)), int(rng.integers(1, 200)), int(rng.integers(1, 70))
    a = (rng.standard_normal((m, k)) * 10.0 ** rng.uniform(-2, 2, (m, 1))).astype(np.float32)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    b_scale = (10.0 ** rng.uniform(-3, -1, n)).astype(np.float32)
    kernel = context.dynamic_linear(k, n, per_row=True, b_scale=b_scale, output="f32")
    got = kernel(a, kernel.pack(b))
    q, scales, points = context.dynamic_quantize((m, k), per_row=True)(a)
    acc = (q.astype(np.int64) - points.astype(np.int64)[:, None]) @ b.astype(np.int64)
    want = acc.astype(np.float32) * (scales[:, None] * b_scale[None, :])
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case", range(CASES))
def test_matmul_epilogue_chain_with_residual(context, rng, case):
    m, k, n = int(rng.integers(1, 30)), int(rng.integers(1, 200)), int(rng.integers(1, 70))
    a = rng.integers(0, 256, (m, k), dtype=np.uint8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    residual = rng.integers(-128, 128, (m, n), dtype=np.int8)
    a_scale, a_zp, b_scale = np.float32(0.02), int(rng.integers(0, 256)), np.float32(0.003)
    scale = (rng.uniform(0.5, 2, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    low, high = np.float32(-1.5), np.float32(2.5)
    epilogue = [("scale", scale), ("bias", bias), ("activation", ("clamp", low, high)), ("residual_add", "s8", 0.01, -3)]
    kernel = context.matmul(k, n, a_scale=a_scale, a_zero_point=a_zp, b_scale=b_scale, output="s8", y_scale=0.02,
                            y_zero_point=4, epilogue=epilogue)
    got = kernel(a, kernel.pack(b), residual=residual)
    acc = (a.astype(np.int64) - a_zp) @ b.astype(np.int64)
    v = acc.astype(np.float32) * np.float32(a_scale * b_scale)
    v = v * scale
    v = v + bias
    v = np.minimum(np.maximum(v, low), high)
    v = v + np.float32(0.01) * (residual.astype(np.int32) + 3).astype(np.float32)
    np.testing.assert_array_equal(got, requantize(v, 0.02, 4, np.int8))


@pytest.mark.parametrize("case", range(4))
def test_nhwc_convolution_with_a_residual_add(context, rng, case):
    n, h, w, c, oc = 1, int(rng.integers(3, 12)), int(rng.integers(3, 12)), int(rng.integers(1, 20)), int(rng.integers(1, 20))
    x = rng.integers(0, 256, (n, h, w, c), dtype=np.uint8)
    weights = rng.integers(-128, 128, (oc, c, 3, 3), dtype=np.int8)
    residual = rng.integers(0, 256, (n, h, w, oc), dtype=np.uint8)
    kernel = context.conv(x.shape, weights.shape, layout="nhwc", pads=(1, 1, 1, 1), x_scale=0.05, x_zero_point=7,
                          w_scale=0.002, output="u8", y_scale=0.1, y_zero_point=50,
                          epilogue=[("activation", "relu"), ("residual_add", "u8", 0.1, 128)])
    got = kernel(x, kernel.pack(weights), residual=residual)
    padded = np.pad(x.astype(np.int64) - 7, ((0, 0), (1, 1), (1, 1), (0, 0)))
    acc = np.zeros((n, h, w, oc), np.int64)
    for i in range(3):
        for j in range(3):
            acc += padded[:, i:i + h, j:j + w, :] @ weights[:, :, i, j].astype(np.int64).T
    v = np.maximum(acc.astype(np.float32) * np.float32(np.float32(0.05) * np.float32(0.002)), 0)
    v = v + np.float32(0.1) * (residual.astype(np.int32) - 128).astype(np.float32)
    np.testing.assert_array_equal(got, requantize(v, 0.1, 50, np.uint8))


@pytest.mark.parametrize("function", ["relu", ("clamp", -0.5, 0.7)])
def test_exact_lookups(context, rng, function):
    x = rng.integers(-128, 128, (3, 77), dtype=np.int8)
    kernel = context.lookup(function, x.shape, x_type="s8", x_scale=0.02, x_zero_point=-9, y_type="u8", y_scale=0.005,
                            y_zero_point=100)
    real = (x.astype(np.int32) + 9).astype(np.float32) * np.float32(0.02)
    real = np.maximum(real, 0) if function == "relu" else np.clip(real, np.float32(-0.5), np.float32(0.7))
    want = np.clip(np.rint(real / np.float32(0.005)) + 100, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(kernel(x), want)


@pytest.mark.parametrize("function,reference", [("sigmoid", lambda v: 1 / (1 + np.exp(-v))), ("tanh", np.tanh),
                                                ("gelu", lambda v: 0.5 * v * (1 + np.vectorize(__import__("math").erf)(v / 2**0.5)))])
def test_approximate_lookups_are_within_one_step(context, function, reference):
    """sigmoid, tanh and GELU are QuantForge's approximations (RealFunctions): every table entry
    is within one quantization step of the exact function."""
    x = np.arange(256, dtype=np.uint8)
    kernel = context.lookup(function, x.shape, x_scale=0.05, x_zero_point=128, y_type="s8", y_scale=0.02, y_zero_point=0)
    exact = np.clip(np.rint(reference((x.astype(np.float64) - 128) * 0.05) / 0.02), -128, 127)
    assert np.max(np.abs(kernel(x).astype(np.int32) - exact)) <= 1


def test_threads_give_the_same_bytes(rng):
    a = rng.integers(0, 256, (67, 300), dtype=np.uint8)
    b = rng.integers(-128, 128, (300, 90), dtype=np.int8)
    results = []
    for threads in (1, 2, 3):
        kernel = quantforge.Context(threads=threads).matmul(300, 90, a_zero_point=3, b_scale=0.01, a_scale=0.1, output="u8",
                                                            y_scale=0.5, y_zero_point=7)
        results.append(kernel(a, kernel.pack(b)))
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_strided_rows_are_used_in_place_and_match(best, rng):
    """A view with a row stride (every other column block) runs without a copy and gives the
    contiguous result; `out` receives it."""
    big = rng.integers(0, 256, (9, 150), dtype=np.uint8)
    a = big[:, :100]
    kernel = best.matmul(100, 20)
    weights = kernel.pack(rng.integers(-128, 128, (100, 20), dtype=np.int8))
    out = np.empty((9, 20), np.int32)
    result = kernel(a, weights, out=out)
    assert result is out
    np.testing.assert_array_equal(out, kernel(np.ascontiguousarray(a), weights))


def test_kernels_run_from_several_python_threads(best, rng):
    from concurrent.futures import ThreadPoolExecutor
    kernel = best.matmul(64, 48, b_scale=0.01, output="f32")
    weights = kernel.pack(rng.integers(-128, 128, (64, 48), dtype=np.int8))
    inputs = [rng.integers(0, 256, (int(rng.integers(1, 20)), 64), dtype=np.uint8) for _ in range(32)]
    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda a: kernel(a, weights), inputs))
    for a, c in zip(inputs, outputs):
        np.testing.assert_array_equal(c, kernel(a, weights))


def test_requantized_dynamic_linear(best, rng):
    """u8 output of a dynamic linear: bias, ReLU, then v · (1 / y_scale) rounded (an epilogue chain)."""
    m, k, n = 7, 50, 19
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    bias = rng.standard_normal(n).astype(np.float32)
    kernel = best.dynamic_linear(k, n, per_row=True, b_scale=0.01, output="u8", y_scale=0.05, y_zero_point=100, bias=bias,
                                 activation="relu")
    got = kernel(a, kernel.pack(b))
    q, scales, points = best.dynamic_quantize((m, k), per_row=True)(a)
    acc = ((q.astype(np.int64) - points.astype(np.int64)[:, None]) @ b.astype(np.int64)).astype(np.float32)
    multiplier = (scales * np.float32(0.01)).astype(np.float32)[:, None]
    v = np.maximum((acc.astype(np.float64) * multiplier + bias).astype(np.float32), 0)  # the bias joins the multiply in one FMA
    want = np.clip(np.rint(v * (np.float32(1) / np.float32(0.05))) + 100, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(got, want)
