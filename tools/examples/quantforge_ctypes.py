#!/usr/bin/env python3
"""QuantForge from Python through its C API (ctypes) on NumPy arrays.

Runs a QLinearMatMul (u8 A x s8 B with per-column scales -> u8) and a dequantizing matmul (f32 out)
and checks both against NumPy computations of the same ONNX semantics (float32 multiplier, round
half to even, saturation). usage: quantforge_ctypes.py [path/to/libquantforge.so]
Exit 0 and "all checks passed" on success.
"""
import ctypes
import os
import sys

import numpy as np


class MatMulDesc(ctypes.Structure):
    _fields_ = [
        ("m", ctypes.c_int64), ("k", ctypes.c_int64), ("n", ctypes.c_int64),
        ("a_type", ctypes.c_int), ("b_type", ctypes.c_int),
        ("a_scale", ctypes.c_float), ("a_zero_point", ctypes.c_int32),
        ("b_channels", ctypes.c_int64), ("b_scales", ctypes.POINTER(ctypes.c_float)),
        ("b_zero_points", ctypes.POINTER(ctypes.c_int32)),
        ("output", ctypes.c_int), ("output_type", ctypes.c_int),
        ("y_scale", ctypes.c_float), ("y_zero_point", ctypes.c_int32),
        ("bias", ctypes.c_void_p), ("activation", ctypes.c_int),
        ("clamp_min", ctypes.c_float), ("clamp_max", ctypes.c_float),
    ]


U8, S8, S32, F32 = 0, 1, 2, 3
INT32, REQUANTIZED, DEQUANTIZED = 0, 1, 2


class QuantForge:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        lib = self.lib
        lib.qf_last_error.restype = ctypes.c_char_p
        lib.qf_context_isa.restype = ctypes.c_char_p
        lib.qf_context_isa.argtypes = [ctypes.c_void_p]
        lib.qf_matmul_desc_init.argtypes = [ctypes.POINTER(MatMulDesc), ctypes.c_int64, ctypes.c_int64, ctypes.c_int64]
        lib.qf_context_create.argtypes = [ctypes.c_char_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p)]
        lib.qf_kernel_compile.argtypes = [ctypes.c_void_p, ctypes.POINTER(MatMulDesc), ctypes.POINTER(ctypes.c_void_p)]
        lib.qf_kernel_pack.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p)]
        lib.qf_kernel_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_size_t, ctypes.c_void_p,
                                      ctypes.c_void_p, ctypes.c_int64, ctypes.c_size_t, ctypes.c_int64]
        for name in ("qf_context_destroy", "qf_kernel_destroy", "qf_weights_destroy"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        self.context = ctypes.c_void_p()
        self.check(lib.qf_context_create(None, 1, ctypes.byref(self.context)))

    def check(self, status):
        if status != 0:
            raise RuntimeError(f"QuantForge error {status}: {self.lib.qf_last_error().decode()}")

    def matmul(self, desc, a, b):
        """Compiles desc, packs b, runs on a; returns C as a NumPy array."""
        kernel, weights = ctypes.c_void_p(), ctypes.c_void_p()
        self.check(self.lib.qf_kernel_compile(self.context, ctypes.byref(desc), ctypes.byref(kernel)))
        try:
            b = np.ascontiguousarray(b)
            self.check(self.lib.qf_kernel_pack(kernel, b.ctypes.data, b.shape[1], ctypes.byref(weights)))
            a = np.ascontiguousarray(a)
            dtype = {INT32: np.int32, DEQUANTIZED: np.float32}.get(desc.output, np.uint8 if desc.output_type == U8 else np.int8)
            c = np.zeros((a.shape[0], b.shape[1]), dtype=dtype)
            self.check(self.lib.qf_kernel_run(kernel, a.ctypes.data, a.shape[1], a.nbytes, weights, c.ctypes.data,
                                              c.shape[1], c.nbytes, a.shape[0]))
            return c
        finally:
            self.lib.qf_weights_destroy(weights)
            self.lib.qf_kernel_destroy(kernel)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("QUANTFORGE_LIB", "libquantforge.so")
    qf = QuantForge(path)
    print("isa:", qf.lib.qf_context_isa(qf.context).decode())
    rng = np.random.default_rng(7)
    m, k, n = 17, 300, 45
    a = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
    b = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
    b_scales = (0.001 + 0.0001 * (np.arange(n) % 7)).astype(np.float32)
    acc = (a.astype(np.int32) - 128) @ b.astype(np.int32)

    desc = MatMulDesc()
    qf.lib.qf_matmul_desc_init(ctypes.byref(desc), 0, k, n)
    desc.a_type, desc.b_type, desc.a_scale, desc.a_zero_point = U8, S8, 0.02, 128
    desc.b_channels, desc.b_scales = n, b_scales.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    desc.output, desc.output_type, desc.y_scale, desc.y_zero_point = REQUANTIZED, U8, 0.05, 128
    c = qf.matmul(desc, a, b)
    multiplier = np.float32(0.02) * b_scales / np.float32(0.05)
    expected = np.clip(np.rint(acc.astype(np.float32) * multiplier) + 128, 0, 255).astype(np.uint8)
    assert np.array_equal(c, expected), f"QLinearMatMul differs in {np.count_nonzero(c != expected)} places"

    bias = rng.normal(size=n).astype(np.float32)
    desc.output, desc.bias = DEQUANTIZED, bias.ctypes.data
    c = qf.matmul(desc, a, b)
    expected = acc.astype(np.float32) * (np.float32(0.02) * b_scales) + bias
    assert np.array_equal(c, expected), f"dequantized output differs in {np.count_nonzero(c != expected)} places"

    desc.y_scale = -1.0
    desc.output = REQUANTIZED
    try:
        qf.matmul(desc, a, b)
        raise AssertionError("a negative scale was accepted")
    except RuntimeError as error:
        assert "scale" in str(error), error
    qf.lib.qf_context_destroy(qf.context)
    print("all checks passed")


if __name__ == "__main__":
    main()
