"""QuantForge: JIT-compiled int8 kernels for CPUs, on NumPy arrays.

    import numpy as np, quantforge
    context = quantforge.Context(threads=1)                 # the best ISA of this CPU
    linear = context.matmul(768, 768, a_scale=0.02, a_zero_point=128, b_scale=0.01,
                            output="u8", y_scale=0.05, y_zero_point=128)
    weights = linear.pack(b)                                # b: int8 [768, 768], packed once
    c = linear(a, weights)                                  # a: uint8 [M, 768] -> uint8 [M, 768]

Every operator of the C API is here: `Context.matmul`, `dynamic_linear`, `conv`, `quantize`,
`dequantize`, `dynamic_quantize`, `qlinear_add`, `qlinear_mul`, `lookup`, `nbits_linear` (MatMulNBits),
`layer_norm`, `softmax` and `autotune`. The
library's errors are `QuantForgeError` subclasses carrying its message.
"""

from ._native import lib as _lib
from .errors import (BufferTooSmallError, CompilationError, InternalError, InvalidArgumentError, QuantForgeError,
                     UnsupportedISAError, WeightsMismatchError)
from .kernels import (AttentionKernel, BinaryKernel, Context, ConvKernel, DynamicQuantizeKernel, LayerNormKernel, LookupKernel,
                      MatMulKernel, NBitsKernel, QuantizeKernel, SoftmaxKernel, Weights)

__version__ = _lib.qf_version().decode()

__all__ = ["Context", "MatMulKernel", "ConvKernel", "QuantizeKernel", "DynamicQuantizeKernel", "BinaryKernel", "LookupKernel",
           "NBitsKernel", "LayerNormKernel", "SoftmaxKernel", "AttentionKernel", "Weights", "QuantForgeError", "InvalidArgumentError", "UnsupportedISAError", "BufferTooSmallError",
           "WeightsMismatchError", "CompilationError", "InternalError", "__version__"]
