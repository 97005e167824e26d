"""Rebuild a stylecast .onnx model as the torch network it was exported from.

A distillation teacher is a shipped .onnx file (the recipe names it, so a student can be reproduced from what
ships). Run through ONNX Runtime it is CPU-only in the trainer and caps a GPU run at the CPU's pace; rebuilt as a
StyleNet it runs wherever the student trains, GPU included. The file holds everything needed: the architecture in
its metadata and the weights as initializers named after the torch parameters (stored as fp16 with a ``__fp16``
suffix by storage.py). Two things export changed are undone here: the BGR and /255 input scaling folded into the
first convolution and the RGB->BGR and x255 output scaling folded into the last one (export.fold_io). A
single-style model's instance-norm scales and shifts were constant-folded into anonymous initializers; they are
read from the InstanceNormalization nodes, which the graph holds in the network's own order.

The rebuilt network is checked against ONNX Runtime on random frames before it is used, so a graph this code does
not understand is refused with one line instead of teaching a student the wrong thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from google.protobuf.message import DecodeError
from onnx import numpy_helper

from realtime.contract import ContractError, ModelInfo, parse_metadata
from realtime.errors import StylecastError

from .export import BGR, ContractModel, parity
from .network import Architecture, ConditionalInstanceNorm, StyleNet, build_network

FP16_SUFFIX = "__fp16"
PARITY_LEVELS = 2   # max |torch - ORT| in uint8 levels on the check frames (both compute in fp32)


def load_stylenet(path: Path) -> tuple[StyleNet, ModelInfo]:
    """The torch network inside a stylecast .onnx (fp32, eval mode, on the CPU) and the model's metadata."""
    if not Path(path).is_file():
        raise StylecastError(f"teacher model not found: {path}")
    try:
        model = onnx.load(str(path))
        info = parse_metadata({p.key: p.value for p in model.metadata_props})
        net = build_network(Architecture.from_dict(info.architecture)).eval()
    except (OSError, DecodeError, ContractError, KeyError, ValueError, TypeError) as e:
        raise StylecastError(f"{path}: not a stylecast model this trainer can rebuild ({e})") from None
    values = _initializers(model)
    state = net.state_dict()
    loaded = {key: values.pop(f"net.{key}") for key in state if f"net.{key}" in values}
    loaded.update(_folded_norms(model, net, values, loaded))
    missing = sorted(set(state) - set(loaded))
    if missing:
        raise StylecastError(f"{path}: cannot find {', '.join(missing[:3])} among the model's weights")
    try:
        net.load_state_dict({k: torch.from_numpy(v.astype(np.float32)).reshape(state[k].shape)
                             for k, v in loaded.items()})
    except RuntimeError as e:
        raise StylecastError(f"{path}: its weights do not fit its architecture ({e})") from None
    _unfold_io(net)
    _check_against_runtime(net, path)
    return net, info


def continuation_state(path: Path) -> dict[str, Any]:
    """A model file as the checkpoint its run would have left at its last step, less the optimiser's moments.

    A shipped model keeps its recipe (steps reached included) but not its checkpoint, which stays on the machine
    that trained it (a lent GPU's is gone when the lease ends). This lets any later run, on any device, pick the
    training up where the file left it instead of starting again from random weights."""
    net, info = load_stylenet(path)
    if "steps" not in info.recipe:
        raise StylecastError(f"{path}: the model records no recipe, so there is no run to continue")
    return {"model": net.state_dict(), "recipe": dict(info.recipe), "step": int(info.recipe["steps"])}


def _initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {init.name.removesuffix(FP16_SUFFIX): numpy_helper.to_array(init) for init in model.graph.initializer}


def _folded_norms(model: onnx.ModelProto, net: StyleNet, values: dict[str, np.ndarray],
                  loaded: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Scale and shift of each instance norm that export folded into a constant (single-style models)."""
    norms = [name for name, m in net.named_modules() if isinstance(m, ConditionalInstanceNorm)
             if f"{name}.scale" not in loaded]
    if not norms:
        return {}
    source = {out: node.input[0] for node in model.graph.node if node.op_type == "Cast" for out in node.output}
    nodes = [n for n in model.graph.node if n.op_type == "InstanceNormalization"]
    if len(nodes) != len(norms):
        return {}
    found = {}
    for name, node in zip(norms, nodes, strict=True):
        scale, shift = (values.get(source.get(i, i).removesuffix(FP16_SUFFIX)) for i in node.input[1:3])
        if scale is None or shift is None:
            return {}
        found[f"{name}.scale"], found[f"{name}.shift"] = scale[None], shift[None]
    return found


def _unfold_io(net: StyleNet) -> None:
    """Undo export.fold_io: the network reads and writes RGB in [0, 1] again."""
    with torch.no_grad():
        net.first_conv.weight.copy_(net.first_conv.weight[:, BGR] * 255.0)
        net.last_conv.weight.copy_(net.last_conv.weight[BGR] / 255.0)
        net.last_conv.bias.copy_(net.last_conv.bias[BGR] / 255.0)


def _check_against_runtime(net: StyleNet, path: Path) -> None:
    """The export's own parity check (ORT vs torch on frames of awkward sizes), with the rebuild's tighter limit."""
    diff = max(max_abs for max_abs, _ in parity(ContractModel(net), path).values())
    if diff > PARITY_LEVELS:
        raise StylecastError(f"{path}: the rebuilt network differs from the model by {diff} levels "
                             f"(limit {PARITY_LEVELS}); this graph is not one stylecast can rebuild")
