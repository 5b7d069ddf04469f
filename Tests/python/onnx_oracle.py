"""Runs single ONNX nodes in ONNX Runtime (one thread, optimizations off) as the oracle."""

from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

_ELEMENT = {np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.int8): TensorProto.INT8,
            np.dtype(np.uint16): TensorProto.UINT16, np.dtype(np.int16): TensorProto.INT16,
            np.dtype(np.int32): TensorProto.INT32, np.dtype(np.float32): TensorProto.FLOAT}


def run_node(op_type: str, inputs: Dict[str, np.ndarray], outputs: Dict[str, type], *, domain: str = "",
             opset: int = 21, initializers: Sequence[str] = (), **attributes) -> List[np.ndarray]:
    """One node `op_type` over `inputs` (in order; names in `initializers` become constants) →
    its `outputs` (name: NumPy dtype)."""
    names = list(inputs)
    node = helper.make_node(op_type, names, list(outputs), domain=domain, **attributes)
    graph_inputs, feeds, constants = [], {}, []
    for name, value in inputs.items():
        value = np.asarray(value)
        if name in initializers:
            constants.append(numpy_helper.from_array(value, name))
        else:
            graph_inputs.append(helper.make_tensor_value_info(name, _ELEMENT[value.dtype], value.shape))
            feeds[name] = value
    graph_outputs = [helper.make_tensor_value_info(name, _ELEMENT[np.dtype(dtype)], None) for name, dtype in outputs.items()]
    graph = helper.make_graph([node], "oracle", graph_inputs, graph_outputs, initializer=constants)
    imports = [helper.make_opsetid("", opset)]
    if domain:
        imports.append(helper.make_opsetid(domain, 1))
    model = helper.make_model(graph, opset_imports=imports)
    model.ir_version = min(model.ir_version, 10)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(list(outputs), feeds)
