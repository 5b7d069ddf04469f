"""The ctypes declarations match the C compiler's layout of quantforge.h, the autotuner writes a
database a later context compiles from, and the package reports the library's version."""

from __future__ import annotations

import ctypes
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

import quantforge
from quantforge import _native

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADER = ROOT / "Sources" / "CQuantForgeAPI" / "include"
STRUCTS = {"qf_epilogue_step": _native.EpilogueStep, "qf_matmul_desc": _native.MatMulDesc, "qf_conv_desc": _native.ConvDesc,
           "qf_quantize_desc": _native.QuantizeDesc, "qf_binary_desc": _native.BinaryDesc, "qf_lookup_desc": _native.LookupDesc}


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_struct_layouts_match_the_header(tmp_path):
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <quantforge.h>", "int main(void) {"]
    for name, struct in STRUCTS.items():
        lines.append(f'printf("{name} size %zu\\n", sizeof({name}));')
        for field, _ in struct._fields_:
            lines.append(f'printf("{name}.{field} %zu\\n", offsetof({name}, {field}));')
    lines += ["return 0;", "}"]
    source = tmp_path / "layout.c"
    source.write_text("\n".join(lines))
    subprocess.run(["cc", "-I", str(HEADER), str(source), "-o", str(tmp_path / "layout")], check=True)
    printed = dict(line.rsplit(" ", 1) for line in subprocess.run([str(tmp_path / "layout")], check=True, capture_output=True,
                                                                     text=True).stdout.splitlines())
    for name, struct in STRUCTS.items():
        assert int(printed[f"{name} size"]) == ctypes.sizeof(struct), name
        for field, _ in struct._fields_:
            assert int(printed[f"{name}.{field}"]) == getattr(struct, field).offset, f"{name}.{field}"


def test_version_is_the_packages():
    source = (ROOT / "Sources" / "QuantForge" / "QuantForgeVersion.swift").read_text()
    assert f'public static let package = "{quantforge.__version__}"' in source


def test_autotune_then_compile_from_the_database(tmp_path, rng):
    database = tmp_path / "tuning.sqlite"
    context = quantforge.Context(threads=1)
    best_us, default_us = context.autotune(database, 96, 64, 16, seconds=0.5, a_zero_point=5, b_scale=0.01, a_scale=0.1,
                                           output="u8", y_scale=0.3, y_zero_point=9)
    assert best_us > 0 and default_us > 0 and best_us <= default_us * 1.5
    tuned = quantforge.Context(context.isa, tuning_database=database)
    kernel = tuned.matmul(96, 64, 16, a_zero_point=5, b_scale=0.01, a_scale=0.1, output="u8", y_scale=0.3, y_zero_point=9)
    plain = context.matmul(96, 64, 16, a_zero_point=5, b_scale=0.01, a_scale=0.1, output="u8", y_scale=0.3, y_zero_point=9)
    a = rng.integers(0, 256, (16, 96), dtype=np.uint8)
    b = rng.integers(-128, 128, (96, 64), dtype=np.int8)
    np.testing.assert_array_equal(kernel(a, kernel.pack(b)), plain(a, plain.pack(b)))
    foreign = tmp_path / "notes.txt"
    foreign.write_bytes(b"not a database")
    with pytest.raises(quantforge.QuantForgeError):
        context.autotune(foreign, 96, 64, 16, seconds=0.2)
    assert foreign.read_bytes() == b"not a database"
    with pytest.raises(quantforge.InvalidArgumentError, match="fixed M"):
        context.autotune(database, 96, 64, None)
