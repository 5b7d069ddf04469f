#!/usr/bin/env python3
"""The cost of one Python call over the same C call (issue #16's ≤ 5 µs): a small matmul
(M=1, K=N=64, u8 x s8 -> int32) and a 64-element lookup, run through the `quantforge` package and
through a C program linked to the same libquantforge.so, alternated, best of 5 rounds each.

    python3 tools/python_call_overhead.py        # the installed package (pip install tools/python)
"""

import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

import quantforge
from quantforge import _native

ROOT = pathlib.Path(__file__).resolve().parents[1]
CALLS = 200_000

C_PROGRAM = r"""
#include <quantforge.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
    long calls = atol(argv[1]);
    qf_context *context; qf_kernel *matmul, *lookup; qf_weights *weights;
    qf_matmul_desc desc; qf_matmul_desc_init(&desc, 0, 64, 64);
    qf_lookup_desc table = {0}; table.function = QF_ACTIVATION_RELU; table.count = 64;
    table.x_scale = table.y_scale = 0.1f;
    static unsigned char a[64], x[64], y[64]; static signed char b[64 * 64]; static int c[64];
    if (qf_context_create(NULL, 1, &context) || qf_kernel_compile(context, &desc, &matmul) ||
        qf_kernel_pack(matmul, b, 64, &weights) || qf_lookup_compile(context, &table, &lookup)) { puts(qf_last_error()); return 1; }
    for (int round = 0; round < 5; round++) {
        double start = now();
        for (long i = 0; i < calls; i++) qf_kernel_run(matmul, a, 64, 64, weights, c, 64, sizeof c, 1);
        double middle = now();
        for (long i = 0; i < calls; i++) qf_lookup_run(lookup, x, 64, y, 64);
        printf("%.4f %.4f\n", (middle - start) / calls * 1e6, (now() - middle) / calls * 1e6);
    }
    return 0;
}
"""


def c_times(library: str) -> tuple:
    with tempfile.TemporaryDirectory() as folder:
        source, program = os.path.join(folder, "overhead.c"), os.path.join(folder, "overhead")
        pathlib.Path(source).write_text(C_PROGRAM)
        subprocess.run(["cc", "-O2", "-I", str(ROOT / "Sources/CQuantForgeAPI/include"), source, "-o", program, library,
                        f"-Wl,-rpath,{os.path.dirname(library)}"], check=True)
        rounds = [tuple(map(float, line.split())) for line in
                  subprocess.run([program, str(CALLS)], check=True, capture_output=True, text=True).stdout.split("\n") if line]
    return min(r[0] for r in rounds), min(r[1] for r in rounds)


def python_times() -> tuple:
    context = quantforge.Context(threads=1)
    matmul = context.matmul(64, 64)
    weights = matmul.pack(np.zeros((64, 64), np.int8))
    lookup = context.lookup("relu", (64,), x_scale=0.1, y_scale=0.1)
    a, c = np.zeros((1, 64), np.uint8), np.zeros((1, 64), np.int32)
    x, y = np.zeros(64, np.uint8), np.zeros(64, np.uint8)
    best = [float("inf")] * 3
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(CALLS):
            matmul(a, weights, out=c)
        middle = time.perf_counter()
        for _ in range(CALLS):
            matmul(a, weights)
        late = time.perf_counter()
        for _ in range(CALLS):
            lookup(x, out=y)
        end = time.perf_counter()
        best = [min(best[0], (middle - start) / CALLS * 1e6), min(best[1], (late - middle) / CALLS * 1e6),
                min(best[2], (end - late) / CALLS * 1e6)]
    return tuple(best)


def main() -> int:
    library = _native._library_path()
    print(f"quantforge {quantforge.__version__}, {library}, {quantforge.Context().isa}, {CALLS} calls per round")
    c_matmul, c_lookup = c_times(library)
    py_matmul_out, py_matmul, py_lookup = python_times()
    c_matmul2, c_lookup2 = c_times(library)  # again, after Python: the machine's noise shows
    c_matmul, c_lookup = min(c_matmul, c_matmul2), min(c_lookup, c_lookup2)
    print(f"matmul 1x64x64: C {c_matmul:.2f} us, Python (out=) {py_matmul_out:.2f} us -> overhead {py_matmul_out - c_matmul:.2f} us; "
          f"Python (allocating C) {py_matmul:.2f} us -> {py_matmul - c_matmul:.2f} us")
    print(f"lookup 64: C {c_lookup:.2f} us, Python (out=) {py_lookup:.2f} us -> overhead {py_lookup - c_lookup:.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
