"""QuantForge's operators on NumPy arrays: compile once, pack weights once, call many times.

Inputs are checked here for dtype and shape (TypeError / ValueError) and by the library for
everything else (InvalidArgumentError and friends, with the library's message). Arrays are used
in place when their layout allows it (C-contiguous, or matmul rows with a row stride) and copied
otherwise.
"""

from __future__ import annotations

import ctypes
import math
import os
from ctypes import POINTER, byref, c_double, c_float, c_int32, c_int64
from typing import Any, Iterable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from ._native import lib
from .errors import check

Activation = Union[None, str, Tuple[str, float, float]]
"""None, "none", "relu", "gelu", "sigmoid", "tanh" or ("clamp", low, high)."""

EpilogueStep = Tuple[Any, ...]
"""("bias", values), ("scale", values), ("activation", activation) or
("residual_add", "u8" | "s8", scale, zero_point)."""

DTYPES = {"u8": np.uint8, "s8": np.int8, "u16": np.uint16, "s16": np.int16, "int32": np.int32, "f32": np.float32}


def _type(name: str, field: str, allowed: Iterable[str]) -> int:
    allowed = tuple(allowed)
    if name not in allowed:
        raise ValueError(f"{field}: {name!r} is not one of {', '.join(allowed)}")
    return _native.TYPE_CODES[name]


def _activation(spec: Activation, field: str) -> Tuple[int, float, float]:
    if spec is None:
        return 0, 0.0, 0.0
    if isinstance(spec, str):
        if spec not in _native.ACTIVATION_CODES or spec == "clamp":
            raise ValueError(f"{field}: {spec!r} is not none, relu, gelu, sigmoid, tanh or ('clamp', low, high)")
        return _native.ACTIVATION_CODES[spec], 0.0, 0.0
    if isinstance(spec, tuple) and len(spec) == 3 and spec[0] == "clamp":
        return _native.ACTIVATION_CODES["clamp"], float(spec[1]), float(spec[2])
    raise ValueError(f"{field}: {spec!r} is not none, relu, gelu, sigmoid, tanh or ('clamp', low, high)")


def _array(values: Any, dtype: Any, field: str, count: Optional[int] = None) -> np.ndarray:
    array = np.ascontiguousarray(np.asarray(values, dtype=dtype).reshape(-1))
    if count is not None and array.size != count:
        raise ValueError(f"{field}: {array.size} values, expected {count}")
    if array.size == 0:
        raise ValueError(f"{field}: no values")
    return array


def _pointer(array: Optional[np.ndarray], ctype: Any) -> Any:
    return None if array is None else array.ctypes.data_as(POINTER(ctype))


def _shape(shape: Sequence[int], field: str) -> Tuple[int, ...]:
    try:
        result = tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"{field}: expected a sequence of integers, got {shape!r}") from None
    if len(result) > _native.MAX_RANK:
        raise ValueError(f"{field}: rank {len(result)} exceeds {_native.MAX_RANK}")
    return result


def _fill_output(desc: Any, channels: int, output: str, y_scale: float, y_zero_point: int, bias: Any,
                 activation: Activation, epilogue: Optional[Sequence[EpilogueStep]], keep: list) -> None:
    """The output fields shared by matmul and convolution descriptors."""
    desc.y_scale = y_scale
    desc.y_zero_point = y_zero_point
    if epilogue is not None:
        if bias is not None or activation is not None:
            raise ValueError("with an epilogue, give the bias and activation as its steps")
        desc.output = _native.OUTPUT_CHAIN
        desc.output_type = _type(output, "output", ("u8", "s8", "f32"))
        steps = (_native.EpilogueStep * max(len(epilogue), 1))()
        for index, step in enumerate(epilogue):
            field = f"epilogue[{index}]"
            if not isinstance(step, tuple) or not step:
                raise ValueError(f"{field}: expected a tuple such as ('bias', values)")
            kind = step[0]
            if kind in ("bias", "scale") and len(step) == 2:
                values = _array(step[1], np.float32, field)
                if values.size not in (1, channels):
                    raise ValueError(f"{field}: {values.size} values, expected 1 or {channels}")
                keep.append(values)
                steps[index].kind = _native.STEP_BIAS if kind == "bias" else _native.STEP_SCALE
                steps[index].count = values.size
                steps[index].values = _pointer(values, c_float)
            elif kind == "activation" and len(step) == 2:
                code, low, high = _activation(step[1], field)
                steps[index].kind, steps[index].activation = _native.STEP_ACTIVATION, code
                steps[index].clamp_min, steps[index].clamp_max = low, high
            elif kind == "residual_add" and len(step) == 4:
                steps[index].kind = _native.STEP_RESIDUAL_ADD
                steps[index].residual_type = _type(step[1], f"{field} type", ("u8", "s8"))
                steps[index].residual_scale, steps[index].residual_zero_point = float(step[2]), int(step[3])
            else:
                raise ValueError(f"{field}: {step!r} is not ('bias', v), ('scale', v), ('activation', a) "
                                 "or ('residual_add', type, scale, zero_point)")
        keep.append(steps)
        desc.steps = ctypes.cast(steps, POINTER(_native.EpilogueStep))
        desc.step_count = len(epilogue)
        return
    code, low, high = _activation(activation, "activation")
    desc.activation, desc.clamp_min, desc.clamp_max = code, low, high
    if output == "int32":
        desc.output = _native.OUTPUT_INT32
        if bias is not None:  # the library refuses it, naming the field
            desc.bias = ctypes.c_void_p(1)
    elif output in ("u8", "s8"):
        desc.output, desc.output_type = _native.OUTPUT_REQUANTIZED, _native.TYPE_CODES[output]
        if bias is not None:
            values = _array(bias, np.int32, "bias", channels)
            keep.append(values)
            desc.bias = values.ctypes.data
    elif output == "f32":
        desc.output, desc.output_type = _native.OUTPUT_DEQUANTIZED, _native.TYPE_CODES["f32"]
        if bias is not None:
            values = _array(bias, np.float32, "bias", channels)
            keep.append(values)
            desc.bias = values.ctypes.data
    else:
        raise ValueError(f"output: {output!r} is not int32, u8, s8 or f32")


def _residual_type(epilogue: Optional[Sequence[EpilogueStep]]) -> Optional[Any]:
    for step in epilogue or ():
        if isinstance(step, tuple) and step and step[0] == "residual_add":
            return DTYPES[step[1]]
    return None


class Weights:
    """Weights packed once for one kernel (pass them to that kernel's calls)."""

    def __init__(self, handle: ctypes.c_void_p, kernel: "_Kernel"):
        self._handle = handle
        self._kernel = kernel

    @property
    def nbytes(self) -> int:
        """Bytes of the packed weights."""
        return int(lib.qf_weights_bytes(self._handle))

    def __del__(self) -> None:
        handle, self._handle = getattr(self, "_handle", None), None
        if handle and lib is not None:
            lib.qf_weights_destroy(handle)


class _Kernel:
    def __init__(self, context: "Context", handle: ctypes.c_void_p):
        self._context = context  # kept alive as long as its kernels
        self._handle = handle

    @property
    def description(self) -> str:
        """What runs, e.g. "matmul avx512vnni mr6 nv4 ku4" or "convolution depthwise avx512vnni"."""
        return (lib.qf_kernel_describe(self._handle) or b"").decode()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"

    def __del__(self) -> None:
        handle, self._handle = getattr(self, "_handle", None), None
        if handle and lib is not None:
            lib.qf_kernel_destroy(handle)


def _input(array: Any, dtype: Any, shape: Tuple[int, ...], field: str) -> np.ndarray:
    """`array` as a C-contiguous array of `dtype` and `shape` (copied only when it is not one)."""
    if not isinstance(array, np.ndarray):
        array = np.asarray(array)
    if array.dtype != dtype:
        raise TypeError(f"{field}: dtype {array.dtype}, expected {np.dtype(dtype)}")
    if array.shape != shape:
        raise ValueError(f"{field}: shape {array.shape}, expected {shape}")
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)


def _output(out: Optional[np.ndarray], dtype: Any, shape: Tuple[int, ...]) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray) or out.dtype != dtype or out.shape != shape:
        raise ValueError(f"out: expected a {np.dtype(dtype)} array of shape {shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out: must be C-contiguous and writeable")
    return out


class MatMulKernel(_Kernel):
    """C = A · B with constant, pre-packed B (MatMulInteger, QLinearMatMul, dequantized, epilogue
    chains), or a dynamic quantized linear (f32 A quantized per call)."""

    def __init__(self, context: "Context", handle: ctypes.c_void_p, m: Optional[int], k: int, n: int, a_dtype: Any,
                 b_dtype: Any, c_dtype: Any, residual_dtype: Any, dynamic: bool):
        super().__init__(context, handle)
        self.m, self.k, self.n = m, k, n
        self.a_dtype, self.b_dtype, self.c_dtype = np.dtype(a_dtype), np.dtype(b_dtype), np.dtype(c_dtype)
        self._residual_dtype = residual_dtype
        self._dynamic = dynamic
        self._run = lib.qf_kernel_run

    def pack(self, b: np.ndarray) -> Weights:
        """Packs B ([K, N] of the kernel's b_type; rows may be strided) once."""
        b = np.asarray(b)
        if b.dtype != self.b_dtype:
            raise TypeError(f"b: dtype {b.dtype}, expected {self.b_dtype}")
        if b.shape != (self.k, self.n):
            raise ValueError(f"b: shape {b.shape}, expected {(self.k, self.n)}")
        if b.strides[1] != 1 or b.strides[0] < self.n:
            b = np.ascontiguousarray(b)
        handle = ctypes.c_void_p()
        check(lib.qf_kernel_pack(self._handle, b.ctypes.data, b.strides[0], byref(handle)))
        return Weights(handle, self)

    def __call__(self, a: np.ndarray, weights: Weights, *, residual: Optional[np.ndarray] = None,
                 out: Optional[np.ndarray] = None) -> np.ndarray:
        """C = A · B → the kernel's output, for A of shape [M, K] (M fixed at compile time or any).
        `residual` ([M, N]) feeds an epilogue's residual add; `out` receives C when given."""
        if not isinstance(a, np.ndarray):
            a = np.asarray(a)
        if a.dtype != self.a_dtype:
            raise TypeError(f"a: dtype {a.dtype}, expected {self.a_dtype}")
        if a.ndim != 2 or a.shape[1] != self.k:
            raise ValueError(f"a: shape {a.shape}, expected (M, {self.k})")
        size = self.a_dtype.itemsize
        m = a.shape[0]
        strides = a.strides
        if strides[1] != size or strides[0] % size or strides[0] < self.k * size or (self._dynamic and strides[0] != self.k * size):
            a = np.ascontiguousarray(a)
            strides = a.strides
        lda = strides[0] // size
        a_bytes = ((m - 1) * lda + self.k) * size if m else 0
        c = _output(out, self.c_dtype, (m, self.n))
        if not isinstance(weights, Weights):
            raise TypeError("weights: expected the Weights returned by pack()")
        if residual is None and self._residual_dtype is None:
            check(self._run(self._handle, a.ctypes.data, lda, a_bytes, weights._handle, c.ctypes.data, self.n, c.nbytes, m))
            return c
        if residual is None:
            raise ValueError("residual: this kernel's epilogue adds a residual; pass residual=[M, N]")
        if self._residual_dtype is None:
            raise ValueError("residual: this kernel's output has no residual add")
        r = _input(residual, self._residual_dtype, (m, self.n), "residual")
        check(lib.qf_kernel_run_residual(self._handle, a.ctypes.data, lda, a_bytes, weights._handle, r.ctypes.data, self.n,
                                         r.nbytes, c.ctypes.data, self.n, c.nbytes, m))
        return c


class ConvKernel(_Kernel):
    """A 2-D convolution (ConvInteger, QLinearConv, dequantized, epilogue chains); depthwise
    convolutions run on their own microkernel."""

    def __init__(self, context: "Context", handle: ctypes.c_void_p, x_shape: Tuple[int, ...], w_shape: Tuple[int, ...],
                 y_shape: Tuple[int, ...], x_dtype: Any, w_dtype: Any, y_dtype: Any, residual_dtype: Any):
        super().__init__(context, handle)
        self.x_shape, self.w_shape, self.y_shape = x_shape, w_shape, y_shape
        self.x_dtype, self.w_dtype, self.y_dtype = np.dtype(x_dtype), np.dtype(w_dtype), np.dtype(y_dtype)
        self._residual_dtype = residual_dtype

    def pack(self, w: np.ndarray) -> Weights:
        """Packs W (ONNX layout [M, C/groups, KH, KW]) once."""
        w = _input(w, self.w_dtype, self.w_shape, "w")
        handle = ctypes.c_void_p()
        check(lib.qf_conv_pack(self._handle, w.ctypes.data, w.nbytes, byref(handle)))
        return Weights(handle, self)

    def __call__(self, x: np.ndarray, weights: Weights, *, residual: Optional[np.ndarray] = None,
                 out: Optional[np.ndarray] = None) -> np.ndarray:
        """Y = conv(X, W) → the output mode; `residual` (NHWC, Y's shape) feeds a residual add."""
        x = _input(x, self.x_dtype, self.x_shape, "x")
        y = _output(out, self.y_dtype, self.y_shape)
        if not isinstance(weights, Weights):
            raise TypeError("weights: expected the Weights returned by pack()")
        r = None
        if residual is not None or self._residual_dtype is not None:
            if residual is None or self._residual_dtype is None:
                raise ValueError("residual: give it exactly when the epilogue has a residual add")
            r = _input(residual, self._residual_dtype, self.y_shape, "residual")
        check(lib.qf_conv_run(self._handle, x.ctypes.data, x.nbytes, weights._handle, None if r is None else r.ctypes.data,
                              0 if r is None else r.nbytes, y.ctypes.data, y.nbytes))
        return y


class QuantizeKernel(_Kernel):
    """QuantizeLinear (f32 → the quantized type) or DequantizeLinear (→ f32) of a fixed shape."""

    def __init__(self, context: "Context", handle: ctypes.c_void_p, shape: Tuple[int, ...], dtype: Any, dequantize: bool):
        super().__init__(context, handle)
        self.shape, self.dtype, self.dequantize = shape, np.dtype(dtype), dequantize

    def __call__(self, x: np.ndarray, *, out: Optional[np.ndarray] = None) -> np.ndarray:
        if self.dequantize:
            x = _input(x, self.dtype, self.shape, "x")
            y = _output(out, np.float32, self.shape)
            check(lib.qf_dequantize_run(self._handle, x.ctypes.data, x.nbytes, y.ctypes.data, y.nbytes))
        else:
            x = _input(x, np.float32, self.shape, "x")
            y = _output(out, self.dtype, self.shape)
            check(lib.qf_quantize_run(self._handle, x.ctypes.data, x.nbytes, y.ctypes.data, y.nbytes))
        return y


class DynamicQuantizeKernel(_Kernel):
    """DynamicQuantizeLinear: f32 → u8 with the scale and zero point computed from the data (for
    the whole tensor, or per row of the last axis)."""

    def __init__(self, context: "Context", handle: ctypes.c_void_p, shape: Tuple[int, ...], per_row: bool):
        super().__init__(context, handle)
        self.shape, self.per_row = shape, per_row
        self._parameters = math.prod(shape[:-1]) if per_row and shape else 1

    def __call__(self, x: np.ndarray) -> Tuple[np.ndarray, Any, Any]:
        """(y, scale, zero_point): scalars (float32, uint8), or arrays of shape[:-1] per row."""
        x = _input(x, np.float32, self.shape, "x")
        y = np.empty(self.shape, dtype=np.uint8)
        scales = np.empty(self._parameters, dtype=np.float32)
        points = np.empty(self._parameters, dtype=np.int32)
        check(lib.qf_dynamic_quantize_run(self._handle, x.ctypes.data, x.nbytes, y.ctypes.data, y.nbytes, scales.ctypes.data,
                                          points.ctypes.data, self._parameters))
        if self.per_row:
            return y, scales.reshape(self.shape[:-1]), points.astype(np.uint8).reshape(self.shape[:-1])
        return y, scales[0], np.uint8(points[0])


class BinaryKernel(_Kernel):
    """QLinearAdd / QLinearMul with numpy broadcasting."""

    def __init__(self, context: "Context", handle: ctypes.c_void_p, a_shape: Tuple[int, ...], b_shape: Tuple[int, ...],
                 y_shape: Tuple[int, ...], dtype: Any):
        super().__init__(context, handle)
        self.a_shape, self.b_shape, self.y_shape, self.dtype = a_shape, b_shape, y_shape, np.dtype(dtype)

    def __call__(self, a: np.ndarray, b: np.ndarray, *, out: Optional[np.ndarray] = None) -> np.ndarray:
        a = _input(a, self.dtype, self.a_shape, "a")
        b = _input(b, self.dtype, self.b_shape, "b")
        y = _output(out, self.dtype, self.y_shape)
        check(lib.qf_binary_run(self._handle, a.ctypes.data, a.nbytes, b.ctypes.data, b.nbytes, y.ctypes.data, y.nbytes))
        return y


class LookupKernel(_Kernel):
    """y = quantize_y(f(dequantize_x(x))) through a 256-entry table."""

    def __init__(self, context: "Context", handle: ctypes.c_void_p, shape: Tuple[int, ...], x_dtype: Any, y_dtype: Any):
        super().__init__(context, handle)
        self.shape, self.x_dtype, self.y_dtype = shape, np.dtype(x_dtype), np.dtype(y_dtype)

    def __call__(self, x: np.ndarray, *, out: Optional[np.ndarray] = None) -> np.ndarray:
        x = _input(x, self.x_dtype, self.shape, "x")
        y = _output(out, self.y_dtype, self.shape)
        check(lib.qf_lookup_run(self._handle, x.ctypes.data, x.nbytes, y.ctypes.data, y.nbytes))
        return y


class NBitsKernel(_Kernel):
    """ONNX Runtime's com.microsoft::MatMulNBits: y [M, N] = act(a [M, K] · Wᵀ + bias), f32 in and
    out, W quantized blockwise along K in 4 or 8 bits."""

    def __init__(self, context: "Context", handle: ctypes.c_void_p, k: int, n: int, bits: int, block_size: int,
                 zero_points: bool, bias: bool):
        super().__init__(context, handle)
        self.k, self.n, self.bits, self.block_size = k, n, bits, block_size
        self.has_zero_points, self.has_bias = zero_points, bias
        self.blocks = -(-k // block_size)

    def pack(self, b: np.ndarray, scales: np.ndarray, zero_points: Optional[np.ndarray] = None,
             bias: Optional[np.ndarray] = None) -> Weights:
        """Packs MatMulNBits' inputs once: b uint8 [N, blocks, block·bits/8], scales float32 or
        float16 [N·blocks] (any shape of that size), zero_points uint8 [N, ⌈blocks·bits/8⌉] (only
        when compiled with zero_points=True), bias float32 [N] (only with bias=True)."""
        b = _input(b, np.uint8, (self.n, self.blocks, self.block_size * self.bits // 8), "b")
        scales = np.asarray(scales)
        if scales.dtype not in (np.float32, np.float16):
            raise TypeError(f"scales: dtype {scales.dtype}, expected float32 or float16")
        scales = _input(scales.reshape(-1), scales.dtype, (self.n * self.blocks,), "scales")
        zp = None
        if zero_points is not None:
            zp = _input(zero_points, np.uint8, (self.n, -(-self.blocks * self.bits // 8)), "zero_points")
        bias_values = None if bias is None else _input(bias, np.float32, (self.n,), "bias")
        handle = ctypes.c_void_p()
        check(lib.qf_nbits_pack(self._handle, b.ctypes.data, b.nbytes, scales.ctypes.data, scales.nbytes,
                                1 if scales.dtype == np.float16 else 0, None if zp is None else zp.ctypes.data,
                                0 if zp is None else zp.nbytes, None if bias_values is None else bias_values.ctypes.data,
                                0 if bias_values is None else bias_values.nbytes, byref(handle)))
        return Weights(handle, self)

    def __call__(self, a: np.ndarray, weights: Weights, *, out: Optional[np.ndarray] = None) -> np.ndarray:
        a = np.asarray(a)
        if a.ndim != 2:
            raise ValueError(f"a: shape {a.shape}, expected [M, {self.k}]")
        a = _input(a, np.float32, (a.shape[0], self.k), "a")
        y = _output(out, np.float32, (a.shape[0], self.n))
        check(lib.qf_nbits_run(self._handle, a.ctypes.data, a.nbytes, weights._handle, y.ctypes.data, y.nbytes))
        return y


class LayerNormKernel(_Kernel):
    """LayerNormalization over the last axis (f32 in), with `residual` added first when compiled
    with residual=True (SkipLayerNormalization without its bias); f32 out, or u8/s8 with the
    QuantizeLinear fused."""

    def __init__(self, context: "Context", handle: ctypes.c_void_p, columns: int, residual: bool, y_dtype: Any = np.float32):
        super().__init__(context, handle)
        self.columns, self.has_residual, self.y_dtype = columns, residual, np.dtype(y_dtype)

    def __call__(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, residual: Optional[np.ndarray] = None, *,
                 out: Optional[np.ndarray] = None) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim < 1 or x.shape[-1] != self.columns:
            raise ValueError(f"x: shape {x.shape}, expected [..., {self.columns}]")
        x = _input(x, np.float32, x.shape, "x")
        gamma = _input(gamma, np.float32, (self.columns,), "gamma")
        beta = _input(beta, np.float32, (self.columns,), "beta")
        if (residual is None) == self.has_residual:
            raise ValueError("residual: " + ("this LayerNorm adds a residual: pass it" if self.has_residual else "this LayerNorm has none"))
        r = None if residual is None else _input(residual, np.float32, x.shape, "residual")
        y = _output(out, self.y_dtype, x.shape)
        check(lib.qf_layernorm_run(self._handle, x.ctypes.data, x.nbytes, None if r is None else r.ctypes.data, 0 if r is None else r.nbytes,
                                   gamma.ctypes.data, gamma.nbytes, beta.ctypes.data, beta.nbytes, y.ctypes.data, y.nbytes))
        return y


class SoftmaxKernel(_Kernel):
    """Softmax over the last axis (f32) of scale·x, over the first `valid` entries of each row (the
    rest become 0)."""

    def __call__(self, x: np.ndarray, valid: Optional[int] = None, *, out: Optional[np.ndarray] = None) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim < 1 or x.shape[-1] < 1:
            raise ValueError(f"x: shape {x.shape} has no last axis to normalize")
        x = _input(x, np.float32, x.shape, "x")
        y = _output(out, np.float32, x.shape)
        columns = x.shape[-1]
        check(lib.qf_softmax_run(self._handle, x.ctypes.data, x.nbytes, columns, columns if valid is None else int(valid),
                                 y.ctypes.data, y.nbytes))
        return y


class AttentionKernel(_Kernel):
    """Multi-head attention over one sequence of a fused QKV projection's output: qkv [length,
    3·heads·head_size] (Q, K, V) → [length, heads·head_size], keys at and past `valid` masked; int8
    products (QuantForge's QuantizedAttention) or fused f32 (F32Attention)."""

    def __init__(self, context: "Context", handle: ctypes.c_void_p, heads: int, head_size: int):
        super().__init__(context, handle)
        self.heads, self.head_size = heads, head_size

    def __call__(self, qkv: np.ndarray, valid: Optional[int] = None, *, out: Optional[np.ndarray] = None) -> np.ndarray:
        qkv = np.asarray(qkv)
        columns = 3 * self.heads * self.head_size
        if qkv.ndim != 2 or qkv.shape[1] != columns:
            raise ValueError(f"qkv: shape {qkv.shape}, expected [length, {columns}]")
        qkv = _input(qkv, np.float32, qkv.shape, "qkv")
        length = qkv.shape[0]
        y = _output(out, np.float32, (length, self.heads * self.head_size))
        check(lib.qf_attention_run(self._handle, qkv.ctypes.data, qkv.nbytes, length, length if valid is None else int(valid),
                                   y.ctypes.data, y.nbytes))
        return y


class Context:
    """Compiles kernels for one instruction set and thread count.

    `isa`: None for the best this CPU supports, else "portable", "avx2", "avxvnni", "avx512vnni",
    ...; `threads`: threads per kernel call; `tuning_database`: a database written by
    `qforge autotune` or `Context.autotune` (read-only), else $QFORGE_TUNING_DB or the default one.
    """

    def __init__(self, isa: Optional[str] = None, threads: int = 1, tuning_database: Optional[Union[str, os.PathLike]] = None):
        handle = ctypes.c_void_p()
        name = None if isa is None else str(isa).encode()
        if not isinstance(threads, (int, np.integer)) or not -2**31 <= threads < 2**31:
            raise ValueError(f"threads: {threads!r} is not an integer")
        if tuning_database is None:
            check(lib.qf_context_create(name, int(threads), byref(handle)))
        else:
            check(lib.qf_context_create_with_database(name, int(threads), os.fsencode(tuning_database), byref(handle)))
        self._handle = handle
        self.threads = int(threads)

    @property
    def isa(self) -> str:
        """The instruction set kernels are compiled for."""
        return lib.qf_context_isa(self._handle).decode()

    def __del__(self) -> None:
        handle, self._handle = getattr(self, "_handle", None), None
        if handle and lib is not None:
            lib.qf_context_destroy(handle)

    def _compile(self, function: Any, desc: Any) -> ctypes.c_void_p:
        handle = ctypes.c_void_p()
        check(function(self._handle, byref(desc), byref(handle)))
        return handle

    def _matmul_desc(self, m: Optional[int], k: int, n: int, a_type: str, b_type: str, a_scale: float, a_zero_point: int,
                     b_scale: Any, b_zero_point: Any, output: str, y_scale: float, y_zero_point: int, bias: Any,
                     activation: Activation, epilogue: Optional[Sequence[EpilogueStep]], keep: list) -> _native.MatMulDesc:
        desc = _native.MatMulDesc()
        lib.qf_matmul_desc_init(byref(desc), 0 if m is None else int(m), int(k), int(n))
        if m is not None and int(m) < 1:
            raise ValueError(f"m: {m} must be positive, or None for a variable M")
        desc.a_type = _type(a_type, "a_type", ("u8", "s8", "f32"))
        desc.b_type = _type(b_type, "b_type", ("u8", "s8"))
        desc.a_scale, desc.a_zero_point = a_scale, a_zero_point
        scales = _array(b_scale, np.float32, "b_scale")
        points = _array(np.broadcast_to(np.asarray(b_zero_point), scales.shape), np.int32, "b_zero_point", scales.size)
        keep += [scales, points]
        desc.b_channels = scales.size
        desc.b_scales, desc.b_zero_points = _pointer(scales, c_float), _pointer(points, c_int32)
        _fill_output(desc, int(n), output, y_scale, y_zero_point, bias, activation, epilogue, keep)
        return desc

    def matmul(self, k: int, n: int, m: Optional[int] = None, *, a_type: str = "u8", b_type: str = "s8", a_scale: float = 1.0,
               a_zero_point: int = 0, b_scale: Any = 1.0, b_zero_point: Any = 0, output: str = "int32", y_scale: float = 1.0,
               y_zero_point: int = 0, bias: Any = None, activation: Activation = None,
               epilogue: Optional[Sequence[EpilogueStep]] = None) -> MatMulKernel:
        """A quantized matmul C[M, N] = A[M, K] · B[K, N] (M fixed, or any when None).

        `b_scale` / `b_zero_point`: one value or N (per output column). `output`: "int32"
        (MatMulInteger), "u8" / "s8" (QLinearMatMul: y_scale, y_zero_point, int32 bias) or "f32"
        (dequantized, f32 bias); `activation` none/relu/clamp there. `epilogue`: a list of steps
        applied in the real domain before the u8/s8/f32 output (see EpilogueStep)."""
        keep: list = []
        desc = self._matmul_desc(m, k, n, a_type, b_type, a_scale, a_zero_point, b_scale, b_zero_point, output, y_scale,
                                 y_zero_point, bias, activation, epilogue, keep)
        return MatMulKernel(self, self._compile(lib.qf_kernel_compile, desc), m, int(k), int(n), DTYPES[a_type], DTYPES[b_type],
                            DTYPES[output], _residual_type(epilogue), dynamic=False)

    def dynamic_linear(self, k: int, n: int, m: Optional[int] = None, *, per_row: bool = True, b_type: str = "s8",
                       b_scale: Any = 1.0, b_zero_point: Any = 0, output: str = "f32", y_scale: float = 1.0, y_zero_point: int = 0,
                       bias: Any = None, activation: Activation = None,
                       epilogue: Optional[Sequence[EpilogueStep]] = None) -> MatMulKernel:
        """A dynamic quantized linear: f32 A [M, K] is quantized to u8 per call (per row, i.e.
        per token, or per tensor) with DynamicQuantizeLinear's parameters and multiplied with
        pre-packed int8 B (ONNX Runtime's DynamicQuantizeMatMul / MatMulIntegerToFloat).
        `output` "f32" (bias f32), or "u8" / "s8": requantized through an epilogue chain (an f32
        bias, the activation, then round(v / y_scale) + y_zero_point)."""
        if output == "int32":
            raise ValueError("output: a dynamic linear writes f32, u8 or s8")
        if output in ("u8", "s8") and epilogue is None:
            # A's scale is known only per call: requantizing goes through an epilogue chain (an f32
            # bias, then the activation, then v · (1 / y_scale)).
            epilogue = ([("bias", bias)] if bias is not None else []) + ([("activation", activation)] if activation else [])
            bias = activation = None
        keep: list = []
        desc = self._matmul_desc(m, k, n, "f32", b_type, 1.0, 0, b_scale, b_zero_point, output, y_scale, y_zero_point, bias,
                                 activation, epilogue, keep)
        desc.a_quantization = _native.A_DYNAMIC_PER_ROW if per_row else _native.A_DYNAMIC_PER_TENSOR
        return MatMulKernel(self, self._compile(lib.qf_kernel_compile, desc), m, int(k), int(n), np.float32, DTYPES[b_type],
                            DTYPES[output], _residual_type(epilogue), dynamic=True)

    def conv(self, x_shape: Sequence[int], w_shape: Sequence[int], *, layout: str = "nchw", strides: Sequence[int] = (1, 1),
             pads: Sequence[int] = (0, 0, 0, 0), dilations: Sequence[int] = (1, 1), groups: int = 1, x_type: str = "u8",
             w_type: str = "s8", x_scale: float = 1.0, x_zero_point: int = 0, w_scale: Any = 1.0, w_zero_point: Any = 0,
             output: str = "int32", y_scale: float = 1.0, y_zero_point: int = 0, bias: Any = None,
             activation: Activation = None, epilogue: Optional[Sequence[EpilogueStep]] = None) -> ConvKernel:
        """A 2-D convolution with ONNX's attributes: X [N, C, H, W] ("nchw") or [N, H, W, C]
        ("nhwc"), W [M, C/groups, KH, KW], `pads` [top, left, bottom, right]. The output options
        are those of `matmul`, per output channel."""
        x_shape, w_shape = _shape(x_shape, "x_shape"), _shape(w_shape, "w_shape")
        if len(x_shape) != 4 or len(w_shape) != 4:
            raise ValueError("x_shape and w_shape must have 4 dimensions")
        if layout not in ("nchw", "nhwc"):
            raise ValueError(f"layout: {layout!r} is not nchw or nhwc")
        strides, pads, dilations = _shape(strides, "strides"), _shape(pads, "pads"), _shape(dilations, "dilations")
        if len(strides) != 2 or len(dilations) != 2 or len(pads) != 4:
            raise ValueError("strides and dilations take 2 values, pads 4 (top, left, bottom, right)")
        batch, channels, height, width = x_shape if layout == "nchw" else (x_shape[0], x_shape[3], x_shape[1], x_shape[2])
        out_channels, group_channels, kernel_h, kernel_w = w_shape
        if group_channels * int(groups) != channels:
            raise ValueError(f"w_shape: {group_channels} channels per group × {groups} groups != C = {channels}")
        desc = _native.ConvDesc()
        lib.qf_conv_desc_init(byref(desc), batch, channels, height, width, out_channels, kernel_h, kernel_w)
        desc.stride_h, desc.stride_w = strides
        desc.dilation_h, desc.dilation_w = dilations
        desc.pad_top, desc.pad_left, desc.pad_bottom, desc.pad_right = pads
        desc.groups = int(groups)
        desc.layout = _native.LAYOUT_NCHW if layout == "nchw" else _native.LAYOUT_NHWC
        desc.x_type = _type(x_type, "x_type", ("u8", "s8"))
        desc.w_type = _type(w_type, "w_type", ("u8", "s8"))
        desc.x_scale, desc.x_zero_point = x_scale, x_zero_point
        keep: list = []
        scales = _array(w_scale, np.float32, "w_scale")
        points = _array(np.broadcast_to(np.asarray(w_zero_point), scales.shape), np.int32, "w_zero_point", scales.size)
        keep += [scales, points]
        desc.w_channels = scales.size
        desc.w_scales, desc.w_zero_points = _pointer(scales, c_float), _pointer(points, c_int32)
        _fill_output(desc, out_channels, output, y_scale, y_zero_point, bias, activation, epilogue, keep)
        handle = self._compile(lib.qf_conv_compile, desc)
        height_out, width_out = c_int64(), c_int64()
        check(lib.qf_conv_output_size(handle, byref(height_out), byref(width_out)))
        oh, ow = height_out.value, width_out.value
        y_shape = (batch, out_channels, oh, ow) if layout == "nchw" else (batch, oh, ow, out_channels)
        return ConvKernel(self, handle, x_shape, w_shape, y_shape, DTYPES[x_type], DTYPES[w_type], DTYPES[output],
                          _residual_type(epilogue))

    def _quantize_desc(self, shape: Sequence[int], scale: Any, zero_point: Any, dtype: str, axis: Optional[int],
                       block_size: int, keep: list) -> _native.QuantizeDesc:
        shape = _shape(shape, "shape")
        desc = _native.QuantizeDesc()
        desc.rank = len(shape)
        for index, dimension in enumerate(shape):
            desc.shape[index] = dimension
        desc.type = _type(dtype, "dtype", ("u8", "s8", "u16", "s16"))
        scales = _array(scale, np.float32, "scale")
        keep.append(scales)
        desc.parameter_count = scales.size
        desc.scales = _pointer(scales, c_float)
        if zero_point is not None:
            points = _array(zero_point, np.int32, "zero_point", scales.size)
            keep.append(points)
            desc.zero_points = _pointer(points, c_int32)
        if axis is None:
            if block_size:
                raise ValueError("block_size: blocked quantization needs an axis")
            desc.granularity = _native.PER_TENSOR
        else:
            desc.granularity = _native.BLOCKED if block_size else _native.PER_AXIS
            desc.axis, desc.block_size = int(axis), int(block_size)
        return desc

    def quantize(self, shape: Sequence[int], scale: Any, zero_point: Any = None, *, dtype: str = "u8", axis: Optional[int] = None,
                 block_size: int = 0) -> QuantizeKernel:
        """QuantizeLinear of an f32 tensor of `shape`: per tensor (axis None), per axis, or
        blocked (block_size > 0 along axis; scales with shape[axis] → ceil(shape[axis]/block_size)).
        `dtype`: u8, s8, u16 or s16."""
        keep: list = []
        desc = self._quantize_desc(shape, scale, zero_point, dtype, axis, block_size, keep)
        return QuantizeKernel(self, self._compile(lib.qf_quantize_compile, desc), _shape(shape, "shape"), DTYPES[dtype], False)

    def dequantize(self, shape: Sequence[int], scale: Any, zero_point: Any = None, *, dtype: str = "u8", axis: Optional[int] = None,
                   block_size: int = 0) -> QuantizeKernel:
        """DequantizeLinear of a `dtype` tensor of `shape` to f32 (the parameters as in `quantize`)."""
        keep: list = []
        desc = self._quantize_desc(shape, scale, zero_point, dtype, axis, block_size, keep)
        return QuantizeKernel(self, self._compile(lib.qf_dequantize_compile, desc), _shape(shape, "shape"), DTYPES[dtype], True)

    def dynamic_quantize(self, shape: Sequence[int], *, per_row: bool = False) -> DynamicQuantizeKernel:
        """DynamicQuantizeLinear of an f32 tensor of `shape` (per_row: one scale and zero point per
        row of the last axis)."""
        shape = _shape(shape, "shape")
        columns = shape[-1] if shape else 1
        rows = math.prod(shape[:-1]) if shape else 1
        handle = ctypes.c_void_p()
        check(lib.qf_dynamic_quantize_compile(self._handle, rows, columns, 1 if per_row else 0, byref(handle)))
        return DynamicQuantizeKernel(self, handle, shape, bool(per_row))

    def _binary(self, kind: int, a_shape: Sequence[int], b_shape: Sequence[int], a_scale: float, a_zero_point: int, b_scale: float,
                b_zero_point: int, y_scale: float, y_zero_point: int, dtype: str) -> BinaryKernel:
        a_shape, b_shape = _shape(a_shape, "a_shape"), _shape(b_shape, "b_shape")
        desc = _native.BinaryDesc()
        desc.kind, desc.type = kind, _type(dtype, "dtype", ("u8", "s8"))
        desc.a_rank, desc.b_rank = len(a_shape), len(b_shape)
        for index, dimension in enumerate(a_shape):
            desc.a_shape[index] = dimension
        for index, dimension in enumerate(b_shape):
            desc.b_shape[index] = dimension
        desc.a_scale, desc.b_scale, desc.y_scale = a_scale, b_scale, y_scale
        desc.a_zero_point, desc.b_zero_point, desc.y_zero_point = a_zero_point, b_zero_point, y_zero_point
        handle = self._compile(lib.qf_binary_compile, desc)
        y_shape = np.broadcast_shapes(a_shape, b_shape)
        return BinaryKernel(self, handle, a_shape, b_shape, tuple(y_shape), DTYPES[dtype])

    def qlinear_add(self, a_shape: Sequence[int], b_shape: Sequence[int], *, a_scale: float, a_zero_point: int, b_scale: float,
                    b_zero_point: int, y_scale: float, y_zero_point: int, dtype: str = "u8") -> BinaryKernel:
        """com.microsoft QLinearAdd with numpy broadcasting (u8 or s8)."""
        return self._binary(_native.BINARY_ADD, a_shape, b_shape, a_scale, a_zero_point, b_scale, b_zero_point, y_scale,
                            y_zero_point, dtype)

    def qlinear_mul(self, a_shape: Sequence[int], b_shape: Sequence[int], *, a_scale: float, a_zero_point: int, b_scale: float,
                    b_zero_point: int, y_scale: float, y_zero_point: int, dtype: str = "u8") -> BinaryKernel:
        """com.microsoft QLinearMul with numpy broadcasting (u8 or s8)."""
        return self._binary(_native.BINARY_MUL, a_shape, b_shape, a_scale, a_zero_point, b_scale, b_zero_point, y_scale,
                            y_zero_point, dtype)

    def lookup(self, function: Activation, shape: Sequence[int], *, x_type: str = "u8", x_scale: float = 1.0,
               x_zero_point: int = 0, y_type: str = "u8", y_scale: float = 1.0, y_zero_point: int = 0) -> LookupKernel:
        """An activation on a quantized tensor through a 256-entry table."""
        shape = _shape(shape, "shape")
        desc = _native.LookupDesc()
        desc.function, desc.clamp_min, desc.clamp_max = _activation(function, "function")
        desc.count = math.prod(shape)
        desc.x_type, desc.y_type = _type(x_type, "x_type", ("u8", "s8")), _type(y_type, "y_type", ("u8", "s8"))
        desc.x_scale, desc.x_zero_point, desc.y_scale, desc.y_zero_point = x_scale, x_zero_point, y_scale, y_zero_point
        return LookupKernel(self, self._compile(lib.qf_lookup_compile, desc), shape, DTYPES[x_type], DTYPES[y_type])

    def layer_norm(self, columns: int, *, epsilon: float = 1e-5, residual: bool = False, output: str = "f32",
                   y_scale: float = 1.0, y_zero_point: int = 0) -> LayerNormKernel:
        """LayerNormalization over the last axis (`columns` values), optionally adding a residual
        first. `output` "u8" or "s8" fuses the QuantizeLinear that follows it (y_scale, y_zero_point)."""
        desc = _native.LayerNormDesc()
        desc.columns, desc.epsilon, desc.has_residual = columns, epsilon, int(bool(residual))
        if output != "f32":
            desc.quantized_output = 1
            desc.output_type = _type(output, "output", ("u8", "s8"))
            desc.y_scale, desc.y_zero_point = y_scale, y_zero_point
        return LayerNormKernel(self, self._compile(lib.qf_layernorm_compile, desc), columns, bool(residual), DTYPES[output])

    def softmax(self, *, scale: float = 1.0) -> SoftmaxKernel:
        """Softmax over the last axis of scale·x (the row length and a valid prefix per call)."""
        handle = ctypes.c_void_p()
        check(lib.qf_softmax_compile(self._handle, float(scale), byref(handle)))
        return SoftmaxKernel(self, handle)

    def attention(self, heads: int, head_size: int, *, scale: Optional[float] = None, compute: str = "int8") -> AttentionKernel:
        """Multi-head attention; `scale` multiplies the scores (default 1/sqrt(head_size)); `compute`:
        "int8" (int8 products) or "f32" (one fused f32 kernel: faster below ~128 tokens)."""
        if compute not in ("int8", "f32"):
            raise ValueError(f"compute: {compute!r}, expected 'int8' or 'f32'")
        desc = _native.AttentionDesc()
        desc.heads, desc.head_size = heads, head_size
        desc.scale = 1.0 / float(head_size) ** 0.5 if scale is None else scale
        compile = lib.qf_attention_compile if compute == "int8" else lib.qf_f32_attention_compile
        return AttentionKernel(self, self._compile(compile, desc), heads, head_size)

    def nbits_linear(self, k: int, n: int, *, bits: int = 4, block_size: int = 32, zero_points: bool = False,
                     compute: str = "int8", bias: bool = False, activation: Activation = None) -> NBitsKernel:
        """A weight-only quantized linear, ONNX Runtime's MatMulNBits: `compute` "int8" is its
        accuracy_level 4 (A quantized to int8 per block), "f32" accuracy_level 0."""
        if compute not in _native.NBITS_COMPUTE:
            raise ValueError(f"compute: {compute!r} is not int8 or f32")
        desc = _native.NBitsDesc()
        desc.k, desc.n, desc.bits, desc.block_size = k, n, bits, block_size
        desc.has_zero_points, desc.has_bias = int(bool(zero_points)), int(bool(bias))
        desc.compute = _native.NBITS_COMPUTE[compute]
        desc.activation, desc.clamp_min, desc.clamp_max = _activation(activation, "activation")
        handle = self._compile(lib.qf_nbits_compile, desc)
        return NBitsKernel(self, handle, k, n, bits, block_size, bool(zero_points), bool(bias))

    def autotune(self, database: Union[str, os.PathLike], k: int, n: int, m: int, *, seconds: float = 2.0,
                 **options: Any) -> Tuple[float, float]:
        """Searches the schedules of the matmul `matmul(k, n, m, **options)` on this context's ISA
        and threads for about `seconds`, records the best in `database` (created when missing)
        and returns (best, default) microseconds per call. A Context opened on that database
        compiles the tuned schedule."""
        keep: list = []
        defaults = dict(a_type="u8", b_type="s8", a_scale=1.0, a_zero_point=0, b_scale=1.0, b_zero_point=0, output="int32",
                        y_scale=1.0, y_zero_point=0, bias=None, activation=None, epilogue=None)
        unknown = set(options) - set(defaults)
        if unknown:
            raise TypeError(f"autotune: unknown options {sorted(unknown)}")
        defaults.update(options)
        desc = self._matmul_desc(m, k, n, keep=keep, **defaults)
        best, default = c_double(), c_double()
        check(lib.qf_autotune(self._handle, byref(desc), os.fsencode(database), float(seconds), byref(best), byref(default)))
        return best.value, default.value
