"""Builds libquantforge (swift build -c release) and bundles it into the quantforge package.

`pip install tools/python` from a checkout does everything; $QFORGE_LIBRARY names an already built
libquantforge.so to bundle instead. The library finds the Swift runtime through its RUNPATH (the
toolchain that built it) and LLVM and SQLite in the system's library path.
"""

import os
import re
import shutil
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def package_version() -> str:
    """The one version of QuantForge (Sources/QuantForge/QuantForgeVersion.swift)."""
    with open(os.path.join(ROOT, "Sources", "QuantForge", "QuantForgeVersion.swift"), encoding="utf-8") as source:
        match = re.search(r'public static let package = "([^"]+)"', source.read())
    if not match:
        raise RuntimeError("no package version in Sources/QuantForge/QuantForgeVersion.swift")
    return match.group(1)


def built_library() -> str:
    library = os.environ.get("QFORGE_LIBRARY")
    if library:
        return library
    scratch = os.path.join(ROOT, ".build-python")
    command = ["swift", "build", "-c", "release", "--product", "quantforge", "--scratch-path", scratch]
    subprocess.run(command, cwd=ROOT, check=True)
    bin_path = subprocess.run(command[:4] + ["--scratch-path", scratch, "--show-bin-path"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    return os.path.join(bin_path, "libquantforge.so")


class BuildWithLibrary(build_py):
    """build_py that also builds and copies libquantforge.so into the package."""

    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "quantforge", "libquantforge.so")
        shutil.copyfile(built_library(), target)
        os.chmod(target, 0o755)


class BinaryDistribution(Distribution):
    """A platform wheel: the package carries a native library."""

    def has_ext_modules(self):
        return True


setup(version=package_version(), cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
