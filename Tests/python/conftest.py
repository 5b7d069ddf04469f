"""Shared fixtures of the Python suite: one context per ISA this CPU runs, seeded generators, and
ONNX Runtime sessions built from single nodes."""

from __future__ import annotations

import os

import numpy as np
import pytest

import quantforge


def _isas() -> list:
    """Every instruction set this machine (or $QFORGE_PYTHON_ISAS) runs, best first."""
    named = os.environ.get("QFORGE_PYTHON_ISAS")
    candidates = named.split(",") if named else ["avx512vnni", "avxvnni", "avx2", "portable"]
    usable = []
    for isa in candidates:
        try:
            quantforge.Context(isa)
        except quantforge.UnsupportedISAError:
            continue
        usable.append(isa)
    return usable


ISAS = _isas()


@pytest.fixture(scope="session", params=ISAS)
def context(request) -> quantforge.Context:
    """A one-thread context per ISA of this machine."""
    return quantforge.Context(request.param, threads=1)


@pytest.fixture(scope="session")
def best() -> quantforge.Context:
    """A context on the best ISA."""
    return quantforge.Context(threads=1)


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator seeded from the test's name, so a failure reproduces."""
    return np.random.default_rng(_stable_seed(request.node.nodeid))


def _stable_seed(text: str) -> int:
    seed = 2166136261
    for byte in text.encode():
        seed = ((seed ^ byte) * 16777619) % 2**32
    return seed
