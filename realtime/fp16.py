"""fp16 compute for GPUs: a model's float graph converted to float16 in memory when a CUDA session opens it.

Why: on a GPU, half-precision convolutions run on the tensor cores and move half the bytes per activation; the
style networks are convolution-bound. Why in memory, not as a shipped file: the .onnx file stays the one interface
between training and running, every variant of a style is one file, and the conversion takes tens of ms.

The contract is kept: ``frame`` and ``stylized`` stay uint8 and ``style_weights`` float32 (the ecosystem converter's
``keep_io_types`` puts casts behind float inputs). Three things it does not do by itself for stylecast graphs:
- it names the casts it inserts after the nodes they feed, so unnamed nodes (valid ONNX) would give two casts the
  same output name; every node gets a unique name first.
- fp16-*stored* weights (the default export: float16 initializers each behind a Cast to float) look to it like an
  already converted model. They are folded back into float32 initializers first; float16 -> float32 is exact, so
  the converter's float32 -> float16 gives back the very same weights.
- a Cast *to* float (the uint8 frame's Cast at the top of the graph) keeps its ``to`` attribute while the
  converter retypes its output to float16; such Casts are retargeted to float16, so the types agree. The result
  must pass ``onnx.checker`` with full type checking, or the user gets one line suggesting ``--precision fp32``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import onnx
from onnx import TensorProto, numpy_helper
from onnxconverter_common.float16 import convert_float_to_float16

from .errors import StylecastError


def _fold_stored_fp16_weights(model: onnx.ModelProto) -> None:
    """Replace each ``float16 initializer -> Cast(to=float)`` pair by one float32 initializer (exact)."""
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    kept, folded = [], []
    for node in graph.node:
        source = initializers.get(node.input[0]) if node.op_type == "Cast" and node.input else None
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        if source is not None and source.data_type == TensorProto.FLOAT16 and to == TensorProto.FLOAT:
            weights = numpy_helper.to_array(source).astype("float32")
            folded.append(numpy_helper.from_array(weights, node.output[0]))
        else:
            kept.append(node)
    if not folded:
        return
    used = {name for node in kept for name in node.input} | {o.name for o in graph.output}
    remaining = [i for i in graph.initializer if i.name in used]
    del graph.node[:], graph.initializer[:]
    graph.node.extend(kept)
    graph.initializer.extend(remaining + folded)


def _name_unnamed_nodes(model: onnx.ModelProto) -> None:
    taken = {node.name for node in model.graph.node}
    for index, node in enumerate(model.graph.node):
        if not node.name:
            name = f"{node.op_type}_{index}"
            while name in taken:
                name += "_"
            node.name = name
            taken.add(name)


def _retarget_float_casts(model: onnx.ModelProto) -> None:
    """Casts to float whose output the converter retyped to float16 now cast to float16."""
    graph = model.graph
    types = {v.name: v.type.tensor_type.elem_type for v in [*graph.value_info, *graph.output]}
    for node in graph.node:
        if node.op_type != "Cast" or types.get(node.output[0]) != TensorProto.FLOAT16:
            continue
        for attribute in node.attribute:
            if attribute.name == "to" and attribute.i == TensorProto.FLOAT:
                attribute.i = TensorProto.FLOAT16


def fp16_compute_model(model: onnx.ModelProto, name: str = "model") -> onnx.ModelProto:
    """A float16-compute copy of a stylecast model (inputs and outputs unchanged); ``model`` is left as it was."""
    work = onnx.ModelProto()
    work.CopyFrom(model)
    _fold_stored_fp16_weights(work)
    _name_unnamed_nodes(work)
    try:
        with warnings.catch_warnings():
            # "the float32 number 1e-08 will be truncated to 1e-07": tiny weights clamp to fp16's range, by design.
            warnings.simplefilter("ignore", UserWarning)
            converted = convert_float_to_float16(work, keep_io_types=True)
        _retarget_float_casts(converted)
        onnx.checker.check_model(converted, full_check=True)
    except Exception as exc:  # noqa: BLE001 - converter and checker raise ValueError, ValidationError, ...
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise StylecastError(f"cannot make an fp16 graph of {name} ({reason}); use --precision fp32") from None
    return converted


def fp16_compute_bytes(path: Path) -> bytes:
    """The serialised fp16-compute graph of a model file, for ``onnxruntime.InferenceSession``."""
    return fp16_compute_model(onnx.load(str(path)), Path(path).name).SerializeToString()
