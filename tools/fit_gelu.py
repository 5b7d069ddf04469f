#!/usr/bin/env python3
"""Fits the table behind QuantForge's GELU (`RealFunctions.geluCoefficients`) and measures it.

GELU(x) = x·Φ(x) = max(x, 0) - h(|x|) with h(t) = t·Φ(-t), which decays to 6e-9 at t = 6. QuantForge
evaluates h on t = min(|x|, 6) with one cubic per interval: interval i is centred on i/k (k below),
picked by rounding t·k to the nearest integer, and its cubic is written in t itself (no local
coordinate, so a kernel needs no subtraction; interval 0 has no constant term, so GELU(0) = 0).
The table holds the coefficients of -h so that
GELU(x)·r = fma(max(x, 0), r, -h_r(t)), where -h_r has the coefficients times r (rounded to float32).

Usage: python3 tools/fit_gelu.py            # error report
       python3 tools/fit_gelu.py --swift    # also the Swift table
Needs numpy and scipy.
"""
import math
import sys

import numpy as np
from scipy.special import ndtr

INTERVALS, DEGREE, LIMIT = 32, 3, 6.0
K = float(np.float32((INTERVALS - 0.52) / LIMIT))  # 6·k < 31.5: every t ≤ 6 rounds to an index < 32


def h(t):
    return t * ndtr(-t)


def fit():
    """Near-minimax cubics (Lawson's reweighted least squares) in t, rounded to float32."""
    table = np.zeros((DEGREE + 1, INTERVALS))
    for i in range(INTERVALS):
        lo, hi = max(0.0, (i - 0.5) / K), (i + 0.5) / K
        nodes = 0.5 * (lo + hi) - 0.5 * (hi - lo) * np.cos(np.pi * (np.arange(200) + 0.5) / 200)
        t = np.concatenate([[lo, hi], nodes])
        first = 1 if i == 0 else 0  # no constant term on interval 0: GELU(0) = 0 exactly
        a = np.stack([t ** d for d in range(first, DEGREE + 1)], 1)
        weights = np.ones_like(t)
        for _ in range(80):
            root = np.sqrt(weights)
            c = np.linalg.lstsq(a * root[:, None], h(t) * root, rcond=None)[0]
            error = np.abs(a @ c - h(t))
            weights = weights * error / (weights * error).sum()
        table[first:, i] = -c
    return table.astype(np.float32)


def fma32(a, b, c):
    """float32 fma: the float32 product is exact in float64, one rounding of the sum to float32."""
    return np.float32(np.float64(a) * np.float64(b) + np.float64(c))


def gelu(table, x, r=np.float32(1)):
    """What `RealFunctions.gelu` computes, operation for operation (vectorised over x)."""
    t = np.minimum(np.abs(x), np.float32(LIMIT)).astype(np.float32)
    w = (np.float64(t) * np.float64(np.float32(K)) + 8388608.0).astype(np.float32)
    i = w.view(np.uint32) & 31
    c = (table * r).astype(np.float32)
    p = c[DEGREE][i]
    for d in range(DEGREE - 1, -1, -1):
        p = (np.float64(p) * np.float64(t) + np.float64(c[d][i])).astype(np.float32)
    positive = np.maximum(x, np.float32(0))
    return (np.float64(positive) * np.float64(r) + np.float64(p)).astype(np.float32)


def exact(x):
    x = np.float64(x)
    return x * ndtr(x)


def main():
    table = fit()
    x = np.linspace(-8, 8, 4_000_001).astype(np.float32)
    error = np.abs(np.float64(gelu(table, x)) - exact(x))
    worst = int(np.argmax(error))
    print(f"k = {np.float32(K)!r}; max |error| = {error[worst]:.3g} at x = {x[worst]!r}")
    for r in [np.float32(v) for v in (0.37, 3.0, 41.7, 250.0)]:
        scaled = np.abs(np.float64(gelu(table, x, r)) - exact(x) * np.float64(r)) / np.float64(r)
        print(f"scaled by r = {r}: max |error| / r = {scaled.max():.3g}")
    if "--swift" in sys.argv:
        for d in range(DEGREE + 1):
            print("        [")
            values = [repr(float(v)) for v in table[d]]
            for j in range(0, INTERVALS, 4):
                print("            " + ", ".join(values[j:j + 4]) + ",")
            print("        ],")


if __name__ == "__main__":
    main()
