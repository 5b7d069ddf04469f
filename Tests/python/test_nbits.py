"""MatMulNBits (weight-only 4/8-bit linear) against ONNX Runtime's com.microsoft::MatMulNBits.

Exactness: the integer part of the int8 mode is exact in both (A quantized per block as MLAS's
QuantizeARow_CompInt8: scale amax/127, RNE(a·127/amax); integer block dot products), so when every
float step is exact too (A blocks whose amax is 127, power-of-two scales) the outputs are equal
bit for bit. Otherwise the two sum f32 terms in different orders (ORT also folds the zero points
into a separate float sum), so the outputs may differ by the summation error: at most
n·2^-24·Σ|terms| (n terms accumulated in f32: the blocks for int8, K for f32 compute), the bound
the tests use (doubled: both sides round).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import quantforge


def _pack_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """uint8 values < 2^bits along the last axis -> MatMulNBits' bytes (4 bits: 2i low, 2i+1 high)."""
    return values if bits == 8 else (values[..., 0::2] | (values[..., 1::2] << 4)).astype(np.uint8)


def _case(rng: np.random.Generator, k: int, n: int, bits: int, block: int, asym: bool):
    blocks = -(-k // block)
    q = rng.integers(0, 2 ** bits, (n, blocks, block), dtype=np.uint8)
    zp = rng.integers(0, 2 ** bits, (n, blocks), dtype=np.uint8) if asym else np.full((n, blocks), 2 ** (bits - 1), np.uint8)
    zp_bytes = None
    if asym:
        padded = np.pad(zp, ((0, 0), (0, blocks % 2 if bits == 4 else 0)))
        zp_bytes = _pack_bits(padded, bits)
    return q, zp, zp_bytes


def _ort(a, b, scales, zp_bytes, bias, k, n, bits, block, level):
    inputs = ["A", "B", "scales", "zero_points" if zp_bytes is not None else ""]
    inits = [numpy_helper.from_array(b, "B"), numpy_helper.from_array(scales, "scales")]
    if zp_bytes is not None:
        inits.append(numpy_helper.from_array(zp_bytes, "zero_points"))
    if bias is not None:
        inputs += ["", "bias"]
        inits.append(numpy_helper.from_array(bias, "bias"))
    node = helper.make_node("MatMulNBits", inputs, ["Y"], domain="com.microsoft", K=k, N=n, bits=bits, block_size=block,
                            accuracy_level=level)
    graph = helper.make_graph([node], "nbits", [helper.make_tensor_value_info("A", TensorProto.FLOAT, [None, k])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = min(model.ir_version, 10)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(["Y"], {"A": a})[0]


def _quantize_a(a: np.ndarray, block: int):
    """MLAS's per-block A quantization (for the error bound's terms)."""
    m, k = a.shape
    blocks = -(-k // block)
    q = np.zeros((m, blocks * block), np.float64)
    scales = np.zeros((m, blocks), np.float32)
    for j in range(blocks):
        part = a[:, j * block:(j + 1) * block]
        amax = np.abs(part).max(axis=1).astype(np.float32)
        scales[:, j] = amax / np.float32(127)
        inverse = np.where(amax > 0, np.float32(127) / np.where(amax > 0, amax, 1), 0).astype(np.float32)
        q[:, j * block:j * block + part.shape[1]] = np.clip(np.rint(part * inverse[:, None]), -127, 127)
    return q, scales


def _bound(a, q, zp, scales, k, block, compute):
    """2·n·2^-24·Σ|terms| per output (see the module's docstring)."""
    n, blocks = zp.shape
    w_int = q.reshape(n, -1)[:, :k].astype(np.float64)
    if compute == "f32":
        w = (w_int - np.repeat(zp, block, axis=1)[:, :k]) * np.repeat(scales.reshape(n, blocks), block, axis=1)[:, :k]
        magnitude = np.abs(a.astype(np.float64)) @ np.abs(w).T
        terms = k
    else:
        qa, a_scales = _quantize_a(a, block)
        magnitude = np.zeros((a.shape[0], n))
        padded = np.zeros((n, blocks * block))
        padded[:, :k] = w_int
        for j in range(blocks):
            part = qa[:, j * block:(j + 1) * block]
            raw = np.abs(part) @ padded[:, j * block:(j + 1) * block].T + np.abs(part.sum(axis=1))[:, None] * zp[:, j][None, :]
            magnitude += raw * np.abs(a_scales[:, j][:, None] * scales.reshape(n, blocks)[:, j][None, :])
        terms = 2 * blocks + 2
    return 2 * terms * 2.0 ** -24 * magnitude + 1e-30


SHAPES = [(1, 64, 16), (3, 100, 33), (5, 257, 70), (1, 768, 40)]


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("block", [16, 32, 64, 128])
@pytest.mark.parametrize("asym", [False, True])
@pytest.mark.parametrize("compute", ["int8", "f32"])
def test_matches_onnxruntime(context, rng, bits, block, asym, compute):
    for index, (m, k, n) in enumerate(SHAPES):
        q, zp, zp_bytes = _case(rng, k, n, bits, block, asym)
        scales = rng.uniform(1e-3, 2e-2, (n * q.shape[1],)).astype(np.float32)
        bias = rng.uniform(-1, 1, n).astype(np.float32) if index % 2 else None
        a = rng.uniform(-2, 2, (m, k)).astype(np.float32)
        b = _pack_bits(q, bits)
        linear = context.nbits_linear(k, n, bits=bits, block_size=block, zero_points=asym, compute=compute, bias=bias is not None)
        y = linear(a, linear.pack(b, scales, zp_bytes, bias))
        expected = _ort(a, b, scales, zp_bytes, bias, k, n, bits, block, 4 if compute == "int8" else 0)
        bound = _bound(a, q, zp, scales, k, block, compute)
        assert np.all(np.abs(y.astype(np.float64) - expected) <= bound), (
            f"{m}x{k}x{n}: max excess {np.max(np.abs(y - expected) - bound)}")


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("asym", [False, True])
def test_int8_mode_is_bit_exact_when_every_float_step_is(context, rng, bits, asym):
    """amax = 127 in every block (A's scale 1, exact quantization) and power-of-two weight scales:
    every product and partial sum is an exact float, so any summation order gives the same bits."""
    m, k, n, block = 3, 96, 37, 32
    q, zp, zp_bytes = _case(rng, k, n, bits, block, asym)
    scales = np.float32(2.0) ** rng.integers(-8, -4, n * q.shape[1]).astype(np.float32)
    a = rng.integers(-127, 128, (m, k)).astype(np.float32)
    a[:, ::block] = 127  # every block's amax
    b = _pack_bits(q, bits)
    linear = context.nbits_linear(k, n, bits=bits, block_size=block, zero_points=asym)
    y = linear(a, linear.pack(b, scales, zp_bytes))
    expected = _ort(a, b, scales, zp_bytes, None, k, n, bits, block, 4)
    np.testing.assert_array_equal(y, expected)


def test_f16_scales_and_bad_input(best, rng):
    k, n = 64, 8
    q, zp, _ = _case(rng, k, n, 4, 32, False)
    b = _pack_bits(q, 4)
    half = rng.uniform(1e-3, 2e-2, n * 2).astype(np.float16)
    linear = best.nbits_linear(k, n)
    a = rng.uniform(-1, 1, (2, k)).astype(np.float32)
    np.testing.assert_array_equal(linear(a, linear.pack(b, half)), linear(a, linear.pack(b, half.astype(np.float32))))
    with pytest.raises(quantforge.InvalidArgumentError):
        best.nbits_linear(k, n, bits=3)
    with pytest.raises(quantforge.InvalidArgumentError):
        best.nbits_linear(k, n, block_size=48)
    with pytest.raises(ValueError):
        linear.pack(b[:, :1], half)
    with pytest.raises(ValueError):
        linear.pack(b, half[:-1])
    with pytest.raises(quantforge.InvalidArgumentError):
        linear.pack(b, half, zero_points=np.zeros((n, 1), np.uint8))  # this linear has no zero points
    with pytest.raises(ValueError):
        linear(np.zeros((2, k + 1), np.float32), linear.pack(b, half))
