#!/usr/bin/env python3
"""Extracts the ONNX node test cases of the quantized operators into JSON fixtures.

The `onnx` package (PyPI) ships each operator's test cases as Python under
onnx/backend/test/case/node/. This runs their export() functions with `expect` replaced by a
recorder and writes one JSON file per test case: the node's op type and attributes, and every
input and output as {name, dtype, shape, data}. The fixtures are committed; rerun this script
(`pip install onnx`) to regenerate them.

usage: tools/extract_onnx_fixtures.py OUT_DIR
"""
import importlib
import json
import os
import sys

import numpy as np
import onnx

MODULES = {
    "matmulinteger": "MatMulInteger",
    "qlinearmatmul": "QLinearMatMul",
    "quantizelinear": "QuantizeLinear",
    "dequantizelinear": "DequantizeLinear",
    "dynamicquantizelinear": "DynamicQuantizeLinear",
    "convinteger": "ConvInteger",
    "qlinearconv": "QLinearConv",
}


def tensor(name, value):
    array = np.asarray(value)
    dtype = str(array.dtype)
    if array.dtype == np.float16:
        data = [float(x) for x in array.astype(np.float32).ravel()]
    elif array.dtype.kind == "f":
        data = [float(x) for x in array.ravel()]
    elif array.dtype.kind in "iub":
        data = [int(x) for x in array.ravel()]
    else:
        return None  # float8/int4 variants: not QuantForge's types
    return {"name": name, "dtype": dtype, "shape": list(array.shape), "data": data}


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    written = 0
    for module_name, class_name in MODULES.items():
        module = importlib.import_module(f"onnx.backend.test.case.node.{module_name}")
        recorded = []

        def expect(node, inputs, outputs, name, **kwargs):
            recorded.append((node, inputs, outputs, name))

        module.expect = expect
        cls = getattr(module, class_name)
        for attr in sorted(dir(cls)):
            if attr.startswith("export"):
                getattr(cls, attr)()
        for node, inputs, outputs, name in recorded:
            ins = [tensor(n, v) for n, v in zip(node.input, inputs)]
            outs = [tensor(n, v) for n, v in zip(node.output, outputs)]
            if any(t is None for t in ins + outs):
                continue
            attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            attributes = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attributes.items()}
            case = {"name": name, "op_type": node.op_type, "attributes": attributes, "inputs": ins, "outputs": outs,
                    "onnx_version": onnx.__version__}
            with open(os.path.join(out_dir, name + ".json"), "w") as f:
                json.dump(case, f, indent=1, sort_keys=True)
                f.write("\n")
            written += 1
    print(f"wrote {written} fixtures to {out_dir}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/QuantOpsTests/Fixtures/onnx")
