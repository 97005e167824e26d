"""Half-size model files: weights stored as float16, computed in float32.

Every float32 weight tensor is stored as float16 and followed by a Cast back to float32. ONNX Runtime folds those
Casts into float32 weights when it loads the model, so inference speed and numerics are the fp32 model's up to
the weights' rounding (a relative 2^-11), while the file is half the size. Unlike a full fp16 graph this runs at
full speed on CPUs, which have no fast fp16 convolutions.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FP16_MAX = float(np.finfo(np.float16).max)
MIN_ELEMENTS = 64   # tiny tensors (norm scales, shapes) stay fp32: no size to win, only precision to lose


def store_weights_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` whose large float32 initializers are stored as float16."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    kept, casts = [], []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < MIN_ELEMENTS:
            kept.append(init)
            continue
        values = numpy_helper.to_array(init)
        if not np.isfinite(values).all() or np.abs(values).max() > FP16_MAX:
            kept.append(init)
            continue
        half = numpy_helper.from_array(values.astype(np.float16), f"{init.name}__fp16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                      name=f"{init.name}__to_fp32"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return model
