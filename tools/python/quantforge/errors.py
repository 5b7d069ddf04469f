"""The C API's status codes as Python exceptions; the message is the library's own."""

from __future__ import annotations

from . import _native


class QuantForgeError(Exception):
    """Any failure reported by libquantforge: `status` is the C status code, str() the message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class InvalidArgumentError(QuantForgeError, ValueError):
    """A bad shape, type, parameter, stride or handle (QF_STATUS_INVALID_ARGUMENT)."""


class UnsupportedISAError(QuantForgeError):
    """The CPU (or this build) cannot run the requested instruction set."""


class BufferTooSmallError(QuantForgeError, ValueError):
    """An input or output holds fewer elements than the operator needs."""


class WeightsMismatchError(QuantForgeError, ValueError):
    """Weights packed for another kernel."""


class CompilationError(QuantForgeError):
    """LLVM failed to compile a kernel."""


class InternalError(QuantForgeError):
    """A failure inside the library that is not the caller's input."""


_BY_STATUS = {
    _native.INVALID_ARGUMENT: InvalidArgumentError,
    _native.UNSUPPORTED_ISA: UnsupportedISAError,
    _native.BUFFER_TOO_SMALL: BufferTooSmallError,
    _native.WEIGHTS_MISMATCH: WeightsMismatchError,
    _native.COMPILATION_FAILED: CompilationError,
    _native.INTERNAL_ERROR: InternalError,
}


def check(status: int) -> None:
    """Raises the exception of a failed call's status with the library's message."""
    if status != _native.OK:
        message = (_native.lib.qf_last_error() or b"").decode("utf-8", "replace")
        raise _BY_STATUS.get(status, QuantForgeError)(status, message)
