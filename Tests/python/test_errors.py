"""Bad input through Python: an exception with the library's message, never a crash."""

from __future__ import annotations

import os

import numpy as np
import pytest

import quantforge
from quantforge import (BufferTooSmallError, InvalidArgumentError, QuantForgeError, UnsupportedISAError,
                        WeightsMismatchError)


def test_contexts(tmp_path):
    with pytest.raises(UnsupportedISAError, match="sse9"):
        quantforge.Context("sse9")
    with pytest.raises(InvalidArgumentError, match="threads"):
        quantforge.Context(threads=0)
    with pytest.raises(InvalidArgumentError, match="threads"):
        quantforge.Context(threads=10**6)
    with pytest.raises(InvalidArgumentError):
        quantforge.Context(tuning_database=tmp_path / "missing.sqlite")
    foreign = tmp_path / "notes.txt"
    foreign.write_text("a user's file")
    with pytest.raises(InvalidArgumentError):
        quantforge.Context(tuning_database=foreign)
    assert foreign.read_text() == "a user's file"


@pytest.mark.parametrize("options,field", [
    (dict(k=0, n=4), "K"), (dict(k=4, n=-1), "N"), (dict(k=4, n=4, m=-2), "m"),
    (dict(k=4, n=4, a_scale=float("nan")), "scale"), (dict(k=4, n=4, a_scale=-1.0), "scale"),
    (dict(k=4, n=4, a_zero_point=300), "zero"), (dict(k=4, n=4, b_scale=[0.1, 0.2]), "b_channels"),
    (dict(k=4, n=4, output="u8", y_scale=0.0), "scale"), (dict(k=4, n=4, output="int32", bias=[1, 2, 3, 4]), "bias"),
    (dict(k=4, n=4, output="u8", bias=[1, 2]), "bias"), (dict(k=4, n=4, output="u4"), "output"),
    (dict(k=4, n=4, a_type="f16"), "a_type"), (dict(k=4, n=4, output="u8", activation="gelu"), "gelu"),
    (dict(k=4, n=4, output="f32", activation=("clamp", 2.0, 1.0)), "clamp"),
    (dict(k=4, n=4, output="f32", epilogue=[("bias", [1.0] * 3)]), "epilogue"),
    (dict(k=4, n=4, output="f32", epilogue=[("residual_add", "s8", 0.1, 0), ("residual_add", "s8", 0.1, 0)]), "residual"),
    (dict(k=4, n=4, output="int32", epilogue=[]), "output"), (dict(k=4, n=4, output="f32", epilogue=[("swish", 1)]), "epilogue"),
])
def test_bad_matmul_descriptions(best, options, field):
    with pytest.raises((QuantForgeError, ValueError, TypeError)) as raised:
        best.matmul(**options)
    assert field.lower() in str(raised.value).lower(), str(raised.value)


def test_bad_matmul_calls(best, rng):
    kernel = best.matmul(16, 8, m=4)
    weights = kernel.pack(np.zeros((16, 8), np.int8))
    with pytest.raises(TypeError, match="dtype"):
        kernel(np.zeros((4, 16), np.int8), weights)
    with pytest.raises(ValueError, match="shape"):
        kernel(np.zeros((4, 15), np.uint8), weights)
    with pytest.raises(InvalidArgumentError, match="M"):
        kernel(np.zeros((5, 16), np.uint8), weights)  # compiled for M = 4
    with pytest.raises(TypeError):
        kernel(np.zeros((4, 16), np.uint8), "weights")
    with pytest.raises(ValueError, match="out"):
        kernel(np.zeros((4, 16), np.uint8), weights, out=np.zeros((4, 8), np.float32))
    with pytest.raises(ValueError, match="residual"):
        kernel(np.zeros((4, 16), np.uint8), weights, residual=np.zeros((4, 8), np.int8))
    other = best.matmul(16, 8, m=4, b_type="u8")
    with pytest.raises(WeightsMismatchError):
        other(np.zeros((4, 16), np.uint8), weights)
    with pytest.raises(TypeError):
        kernel.pack(np.zeros((16, 8), np.uint8))
    conv = best.conv((1, 2, 4, 4), (3, 2, 1, 1))
    with pytest.raises(WeightsMismatchError, match="matmul weights"):
        conv(np.zeros((1, 2, 4, 4), np.uint8), weights)
    with pytest.raises(WeightsMismatchError, match="convolution weights"):
        kernel(np.zeros((4, 16), np.uint8), conv.pack(np.zeros((3, 2, 1, 1), np.int8)))


def test_bad_convolutions(best):
    for w_shape, options, pattern in [((4, 2, 3, 3), dict(groups=3), "group"), ((4, 6, 3, 3), dict(strides=(0, 1)), "strides"),
                                      ((4, 6, 3, 3), dict(pads=(5, 0, 0, 0)), "pads"), ((4, 6, 3, 3), dict(dilations=(1,)), "dilations"),
                                      ((4, 6, 3, 3), dict(layout="chwn"), "layout"), ((4, 6, 3, 3), dict(w_scale=[0.1] * 5), "channels"),
                                      ((4, 6, 3, 3), dict(output="u8", y_zero_point=-1), "zero"),
                                      ((4, 5, 3, 3), dict(), "channels per group")]:
        with pytest.raises((QuantForgeError, ValueError)) as raised:
            best.conv((1, 6, 8, 8), w_shape, **options)
        assert pattern in str(raised.value).lower(), str(raised.value)
    with pytest.raises(InvalidArgumentError, match="smaller than"):
        best.conv((1, 1, 2, 2), (1, 1, 3, 3))
    kernel = best.conv((1, 1, 4, 4), (1, 1, 3, 3))
    with pytest.raises(ValueError, match="shape"):
        kernel.pack(np.zeros((1, 1, 2, 2), np.int8))


def test_bad_elementwise(best):
    with pytest.raises(InvalidArgumentError, match="axis"):
        best.quantize((2, 3), [0.1, 0.1, 0.1], axis=2)
    with pytest.raises(InvalidArgumentError, match="scale"):
        best.quantize((2, 3), [0.1, 0.1], axis=1)
    with pytest.raises(InvalidArgumentError, match="zero_point"):
        best.quantize((2, 3), 0.1, 300)
    with pytest.raises(ValueError, match="block_size"):
        best.quantize((2, 3), 0.1, block_size=2)
    with pytest.raises(ValueError, match="rank"):
        best.quantize((1,) * 9, 0.1)
    with pytest.raises(InvalidArgumentError):
        best.quantize((0, 3), 0.1)
    with pytest.raises(InvalidArgumentError, match="broadcast"):
        best.qlinear_add((2, 3), (2,), a_scale=1, a_zero_point=0, b_scale=1, b_zero_point=0, y_scale=1, y_zero_point=0)
    with pytest.raises(ValueError):
        best.lookup("swish", (4,))
    with pytest.raises(InvalidArgumentError):
        best.dynamic_quantize((0,))
    kernel = best.quantize((4,), 0.1)
    with pytest.raises(TypeError, match="dtype"):
        kernel(np.zeros(4, np.float64))


def test_the_library_checks_buffers_itself():
    """Below the NumPy checks, the C entry points refuse short buffers and null pointers."""
    from quantforge._native import lib
    import ctypes
    context = ctypes.c_void_p()
    assert lib.qf_context_create(None, 1, ctypes.byref(context)) == 0
    kernel = ctypes.c_void_p()
    assert lib.qf_dynamic_quantize_compile(context, 2, 8, 0, ctypes.byref(kernel)) == 0
    x = np.zeros(16, np.float32)
    y = np.zeros(16, np.uint8)
    scale, point = np.zeros(1, np.float32), np.zeros(1, np.int32)
    assert lib.qf_dynamic_quantize_run(kernel, x.ctypes.data, 63, y.ctypes.data, 16, scale.ctypes.data, point.ctypes.data, 1) == 3
    assert b"x" in lib.qf_last_error()
    assert lib.qf_dynamic_quantize_run(kernel, None, 64, y.ctypes.data, 16, scale.ctypes.data, point.ctypes.data, 1) == 1
    assert lib.qf_quantize_run(kernel, x.ctypes.data, 64, y.ctypes.data, 16) == 1
    assert b"DynamicQuantizeLinear" in lib.qf_last_error()
    lib.qf_kernel_destroy(kernel)
    assert lib.qf_dynamic_quantize_run(kernel, x.ctypes.data, 64, y.ctypes.data, 16, scale.ctypes.data, point.ctypes.data, 1) == 1
    assert b"not a live" in lib.qf_last_error()
    lib.qf_context_destroy(context)
