"""ctypes declarations of libquantforge's C API (quantforge.h), and the library's loading.

Every struct here mirrors quantforge.h field by field; tests compare their sizes and offsets with
the C compiler's.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, c_char_p, c_double, c_float, c_int32, c_int64, c_size_t, c_void_p

MAX_RANK = 8

# qf_status
OK, INVALID_ARGUMENT, UNSUPPORTED_ISA, BUFFER_TOO_SMALL, WEIGHTS_MISMATCH, COMPILATION_FAILED, INTERNAL_ERROR = range(7)

# qf_type
TYPE_CODES = {"u8": 0, "s8": 1, "int32": 2, "f32": 3, "u16": 4, "s16": 5}
TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}

# qf_output_mode, qf_activation, qf_a_quantization, qf_step_kind, qf_layout, qf_granularity
OUTPUT_INT32, OUTPUT_REQUANTIZED, OUTPUT_DEQUANTIZED, OUTPUT_CHAIN = range(4)
ACTIVATION_CODES = {"none": 0, "relu": 1, "clamp": 2, "gelu": 3, "sigmoid": 4, "tanh": 5}
A_CONSTANT, A_DYNAMIC_PER_TENSOR, A_DYNAMIC_PER_ROW = range(3)
STEP_BIAS, STEP_SCALE, STEP_ACTIVATION, STEP_RESIDUAL_ADD = range(4)
LAYOUT_NHWC, LAYOUT_NCHW = range(2)
PER_TENSOR, PER_AXIS, BLOCKED = range(3)
BINARY_ADD, BINARY_MUL = range(2)

Shape = c_int64 * MAX_RANK


class EpilogueStep(ctypes.Structure):
    _fields_ = [("kind", c_int32), ("count", c_int64), ("values", POINTER(c_float)), ("activation", c_int32),
                ("clamp_min", c_float), ("clamp_max", c_float), ("residual_type", c_int32), ("residual_scale", c_float),
                ("residual_zero_point", c_int32)]


_OUTPUT_FIELDS = [("output", c_int32), ("output_type", c_int32), ("y_scale", c_float), ("y_zero_point", c_int32),
                  ("bias", c_void_p), ("activation", c_int32), ("clamp_min", c_float), ("clamp_max", c_float)]


class MatMulDesc(ctypes.Structure):
    _fields_ = [("m", c_int64), ("k", c_int64), ("n", c_int64), ("a_type", c_int32), ("b_type", c_int32),
                ("a_scale", c_float), ("a_zero_point", c_int32), ("b_channels", c_int64), ("b_scales", POINTER(c_float)),
                ("b_zero_points", POINTER(c_int32))] + _OUTPUT_FIELDS + [
                ("a_quantization", c_int32), ("steps", POINTER(EpilogueStep)), ("step_count", c_int64)]


class ConvDesc(ctypes.Structure):
    _fields_ = [(name, c_int64) for name in ("batch", "channels", "height", "width", "out_channels", "kernel_h", "kernel_w",
                                             "stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left",
                                             "pad_bottom", "pad_right", "groups")] + [
                ("layout", c_int32), ("x_type", c_int32), ("w_type", c_int32), ("x_scale", c_float), ("x_zero_point", c_int32),
                ("w_channels", c_int64), ("w_scales", POINTER(c_float)), ("w_zero_points", POINTER(c_int32))] + _OUTPUT_FIELDS + [
                ("steps", POINTER(EpilogueStep)), ("step_count", c_int64)]


class QuantizeDesc(ctypes.Structure):
    _fields_ = [("rank", c_int32), ("shape", Shape), ("type", c_int32), ("granularity", c_int32), ("axis", c_int32),
                ("block_size", c_int64), ("parameter_count", c_int64), ("scales", POINTER(c_float)),
                ("zero_points", POINTER(c_int32))]


class BinaryDesc(ctypes.Structure):
    _fields_ = [("kind", c_int32), ("type", c_int32), ("a_rank", c_int32), ("b_rank", c_int32), ("a_shape", Shape),
                ("b_shape", Shape), ("a_scale", c_float), ("b_scale", c_float), ("y_scale", c_float),
                ("a_zero_point", c_int32), ("b_zero_point", c_int32), ("y_zero_point", c_int32)]


class LookupDesc(ctypes.Structure):
    _fields_ = [("function", c_int32), ("clamp_min", c_float), ("clamp_max", c_float), ("count", c_int64),
                ("x_type", c_int32), ("y_type", c_int32), ("x_scale", c_float), ("y_scale", c_float),
                ("x_zero_point", c_int32), ("y_zero_point", c_int32)]


class NBitsDesc(ctypes.Structure):
    _fields_ = [("k", c_int64), ("n", c_int64), ("bits", c_int32), ("block_size", c_int32), ("has_zero_points", c_int32),
                ("compute", c_int32), ("has_bias", c_int32), ("activation", c_int32), ("clamp_min", c_float),
                ("clamp_max", c_float)]


NBITS_COMPUTE = {"int8": 0, "f32": 1}


class LayerNormDesc(ctypes.Structure):
    _fields_ = [("columns", c_int64), ("epsilon", c_float), ("has_residual", c_int32), ("quantized_output", c_int32),
                ("output_type", c_int32), ("y_scale", c_float), ("y_zero_point", c_int32)]

class AttentionDesc(ctypes.Structure):
    _fields_ = [("heads", c_int32), ("head_size", c_int32), ("scale", c_float)]

Handle = c_void_p
_STATUS = c_int32

# name: (result, argument types)
_SIGNATURES = {
    "qf_last_error": (c_char_p, []),
    "qf_version": (c_char_p, []),
    "qf_context_create": (_STATUS, [c_char_p, c_int32, POINTER(Handle)]),
    "qf_context_create_with_database": (_STATUS, [c_char_p, c_int32, c_char_p, POINTER(Handle)]),
    "qf_context_destroy": (None, [Handle]),
    "qf_context_isa": (c_char_p, [Handle]),
    "qf_matmul_desc_init": (None, [POINTER(MatMulDesc), c_int64, c_int64, c_int64]),
    "qf_kernel_compile": (_STATUS, [Handle, POINTER(MatMulDesc), POINTER(Handle)]),
    "qf_kernel_destroy": (None, [Handle]),
    "qf_kernel_pack": (_STATUS, [Handle, c_void_p, c_int64, POINTER(Handle)]),
    "qf_weights_bytes": (c_int64, [Handle]),
    "qf_weights_destroy": (None, [Handle]),
    "qf_kernel_run": (_STATUS, [Handle, c_void_p, c_int64, c_size_t, Handle, c_void_p, c_int64, c_size_t, c_int64]),
    "qf_kernel_run_residual": (_STATUS, [Handle, c_void_p, c_int64, c_size_t, Handle, c_void_p, c_int64, c_size_t,
                                         c_void_p, c_int64, c_size_t, c_int64]),
    "qf_conv_desc_init": (None, [POINTER(ConvDesc)] + [c_int64] * 7),
    "qf_conv_compile": (_STATUS, [Handle, POINTER(ConvDesc), POINTER(Handle)]),
    "qf_conv_output_size": (_STATUS, [Handle, POINTER(c_int64), POINTER(c_int64)]),
    "qf_conv_pack": (_STATUS, [Handle, c_void_p, c_size_t, POINTER(Handle)]),
    "qf_conv_run": (_STATUS, [Handle, c_void_p, c_size_t, Handle, c_void_p, c_size_t, c_void_p, c_size_t]),
    "qf_quantize_compile": (_STATUS, [Handle, POINTER(QuantizeDesc), POINTER(Handle)]),
    "qf_dequantize_compile": (_STATUS, [Handle, POINTER(QuantizeDesc), POINTER(Handle)]),
    "qf_quantize_run": (_STATUS, [Handle, c_void_p, c_size_t, c_void_p, c_size_t]),
    "qf_dequantize_run": (_STATUS, [Handle, c_void_p, c_size_t, c_void_p, c_size_t]),
    "qf_dynamic_quantize_compile": (_STATUS, [Handle, c_int64, c_int64, c_int32, POINTER(Handle)]),
    "qf_dynamic_quantize_run": (_STATUS, [Handle, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p, c_void_p, c_int64]),
    "qf_binary_compile": (_STATUS, [Handle, POINTER(BinaryDesc), POINTER(Handle)]),
    "qf_binary_run": (_STATUS, [Handle, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p, c_size_t]),
    "qf_lookup_compile": (_STATUS, [Handle, POINTER(LookupDesc), POINTER(Handle)]),
    "qf_lookup_run": (_STATUS, [Handle, c_void_p, c_size_t, c_void_p, c_size_t]),
    "qf_nbits_compile": (_STATUS, [Handle, POINTER(NBitsDesc), POINTER(Handle)]),
    "qf_nbits_pack": (_STATUS, [Handle, c_void_p, c_size_t, c_void_p, c_size_t, c_int32, c_void_p, c_size_t, c_void_p, c_size_t,
                                POINTER(Handle)]),
    "qf_nbits_run": (_STATUS, [Handle, c_void_p, c_size_t, Handle, c_void_p, c_size_t]),
    "qf_layernorm_compile": (_STATUS, [Handle, POINTER(LayerNormDesc), POINTER(Handle)]),
    "qf_layernorm_run": (_STATUS, [Handle, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p,
                                   c_size_t]),
    "qf_softmax_compile": (_STATUS, [Handle, c_float, POINTER(Handle)]),
    "qf_softmax_run": (_STATUS, [Handle, c_void_p, c_size_t, c_int64, c_int64, c_void_p, c_size_t]),
    "qf_attention_compile": (_STATUS, [Handle, POINTER(AttentionDesc), POINTER(Handle)]),
    "qf_f32_attention_compile": (_STATUS, [Handle, POINTER(AttentionDesc), POINTER(Handle)]),
    "qf_attention_run": (_STATUS, [Handle, c_void_p, c_size_t, c_int64, c_int64, c_void_p, c_size_t]),
    "qf_autotune": (_STATUS, [Handle, POINTER(MatMulDesc), c_char_p, c_double, POINTER(c_double), POINTER(c_double)]),
    "qf_kernel_output": (_STATUS, [Handle, c_int64, POINTER(c_int64), POINTER(c_int32)]),
    "qf_kernel_describe": (c_char_p, [Handle]),
}


def _library_path() -> str:
    """libquantforge.so bundled next to this file; $QFORGE_LIBRARY overrides it (a development
    build). Only a file owned by this user or root, in a folder others cannot write, is loaded."""
    path = os.environ.get("QFORGE_LIBRARY") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "libquantforge.so")
    if not os.path.isfile(path):
        raise ImportError(f"libquantforge.so not found at {path}: install the package with pip (it builds the library) "
                          "or set QFORGE_LIBRARY to a built libquantforge.so")
    for candidate in (path, os.path.dirname(os.path.abspath(path))):
        info = os.stat(candidate)
        if info.st_uid not in (0, os.getuid()) or info.st_mode & 0o022:
            raise ImportError(f"refusing to load {path}: {candidate} is writable by other users or owned by someone else")
    return path


def load() -> ctypes.CDLL:
    library = ctypes.CDLL(_library_path())
    for name, (result, arguments) in _SIGNATURES.items():
        function = getattr(library, name)
        function.restype = result
        function.argtypes = arguments
    return library


lib = load()
