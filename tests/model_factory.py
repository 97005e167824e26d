"""Tiny but real contract models, built with the onnx helper API (no torch needed).

A "tint" model multiplies and offsets each BGR channel: output = round(clip(frame * scale + offset, 0, 255)).
Each tint's effect on a pixel is known exactly, so tests can tell which style painted a frame by its pixels.
A two-style variant takes ``style_weights`` and blends its tints' parameters, like conditional instance norm
blends in feature space.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from realtime.contract import INPUT_FRAME, INPUT_STYLE_WEIGHTS, KEY_STYLES, OUTPUT_STYLIZED, ModelInfo, StyleCredit

Tint = tuple[Sequence[float], Sequence[float]]  # (scale per BGR channel, offset per BGR channel)

RED = ((0.5, 0.5, 1.0), (0.0, 0.0, 80.0))
BLUE = ((1.0, 0.5, 0.5), (80.0, 0.0, 0.0))
GREY = ((0.0, 0.0, 0.0), (128.0, 128.0, 128.0))


def apply_tint(frame: np.ndarray, tint: Tint) -> np.ndarray:
    scale, offset = (np.asarray(v, np.float32) for v in tint)
    return np.round(np.clip(frame.astype(np.float32) * scale + offset, 0, 255)).astype(np.uint8)


def tint_model(path: Path, tints: Sequence[Tint], names: Sequence[str], metadata: bool = True) -> Path:
    multi = len(tints) > 1
    frame = helper.make_tensor_value_info(INPUT_FRAME, TensorProto.UINT8, ["N", "H", "W", 3])
    out = helper.make_tensor_value_info(OUTPUT_STYLIZED, TensorProto.UINT8, ["N", "H", "W", 3])
    scales = np.array([t[0] for t in tints], np.float32)
    offsets = np.array([t[1] for t in tints], np.float32)
    inits = [numpy_helper.from_array(np.float32(0), "lo"), numpy_helper.from_array(np.float32(255), "hi")]
    nodes = [helper.make_node("Cast", [INPUT_FRAME], ["f"], to=TensorProto.FLOAT)]
    inputs = [frame]
    if multi:
        inputs.append(helper.make_tensor_value_info(INPUT_STYLE_WEIGHTS, TensorProto.FLOAT, [len(tints)]))
        inits += [numpy_helper.from_array(scales, "scales"), numpy_helper.from_array(offsets, "offsets")]
        nodes += [helper.make_node("MatMul", [INPUT_STYLE_WEIGHTS, "scales"], ["scale"]),
                  helper.make_node("MatMul", [INPUT_STYLE_WEIGHTS, "offsets"], ["offset"])]
    else:
        inits += [numpy_helper.from_array(scales[0], "scale"), numpy_helper.from_array(offsets[0], "offset")]
    nodes += [
        helper.make_node("Mul", ["f", "scale"], ["m"]),
        helper.make_node("Add", ["m", "offset"], ["a"]),
        helper.make_node("Clip", ["a", "lo", "hi"], ["c"]),
        helper.make_node("Round", ["c"], ["r"]),
        helper.make_node("Cast", ["r"], [OUTPUT_STYLIZED], to=TensorProto.UINT8),
    ]
    graph = helper.make_graph(nodes, "tint", inputs, [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="stylecast-tests")
    model.ir_version = 8
    if metadata:
        info = ModelInfo(styles=tuple(StyleCredit(name=n, title=f"{n} tint", artist="stylecast tests",
                                                  year="2026", licence="CC0") for n in names),
                         architecture={"name": "tint"}, recipe={"kind": "test"}, train_size=64)
        for key, value in info.to_metadata().items():
            model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def off_contract_model(path: Path) -> Path:
    """A valid ONNX file with stylecast metadata whose input is float32, not the contract's uint8 frame."""
    frame = helper.make_tensor_value_info(INPUT_FRAME, TensorProto.FLOAT, ["N", "H", "W", 3])
    out = helper.make_tensor_value_info(OUTPUT_STYLIZED, TensorProto.FLOAT, ["N", "H", "W", 3])
    graph = helper.make_graph([helper.make_node("Identity", [INPUT_FRAME], [OUTPUT_STYLIZED])], "off", [frame], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    tinted = onnx.load(str(tint_model(path, [RED], ["off"])))
    model.metadata_props.extend(tinted.metadata_props)
    onnx.save(model, str(path))
    return path


def garbled_metadata_model(path: Path) -> Path:
    """A contract model whose style list is not JSON: the metadata parser must refuse it, not crash on it."""
    model = onnx.load(str(tint_model(path, [RED], ["garbled"])))
    next(p for p in model.metadata_props if p.key == KEY_STYLES).value = "[{'name': oops"
    onnx.save(model, str(path))
    return path


def model_folder(folder: Path) -> dict[str, Path]:
    """A folder of tint models, found through STYLECAST_MODELS like a user's own folder."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "red": tint_model(folder / "red.onnx", [RED], ["red"]),
        "blue": tint_model(folder / "blue.onnx", [BLUE], ["blue"]),
        "grey": tint_model(folder / "grey.onnx", [GREY], ["grey"]),
        "duo": tint_model(folder / "duo.onnx", [RED, BLUE], ["red", "blue"]),
    }
    return paths
