"""Export a trained StyleNet to the stylecast .onnx contract, and prove the export is faithful.

The exported graph takes OpenCV frames as they come (uint8 BGR NHWC, any size) and returns the same, so the
runtime does no per-frame arithmetic. Two folds keep that free: the BGR->RGB swap and the /255 scaling are folded
into the first convolution's weights, and the RGB->BGR swap and x255 into the last one's, so the graph holds no
extra full-resolution ops for them. Sizes that are not a multiple of the network's stride (or smaller than its
receptive padding allows) are edge-padded inside the graph and cropped back; edge rather than reflect padding
because reflection is undefined for sides of 1-2 pixels and the contract promises every size.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn
from torch.nn import functional as F

from realtime.contract import INPUT_FRAME, INPUT_STYLE_WEIGHTS, OUTPUT_STYLIZED, ModelInfo, StyleCredit
from realtime.errors import StylecastError
from realtime.outputs import atomic_output

from .network import StyleNet
from .recipe import Recipe
from .storage import store_weights_fp16

BGR = [2, 1, 0]
PARITY_SIZES = ((1, 1), (3, 5), (37, 61), (64, 64), (121, 203))
# ORT vs the fp32 torch model, in uint8 levels; the mean is pooled over all sizes' pixels. fp32 weights may round
# a handful of pixels differently; fp16-stored weights (rounded to 11 significant bits) move a few more by a level.
PARITY = {"fp32": (2, 0.05), "fp16": (4, 0.25)}   # weight format -> (max |diff|, mean |diff|)


def fold_io(net: StyleNet) -> StyleNet:
    """A copy of ``net`` that reads BGR in [0, 255] and writes BGR in [0, 255]."""
    # Training keeps weights channels_last; exporting from that layout specialises the batch dimension.
    net = copy.deepcopy(net).float().eval().to(memory_format=torch.contiguous_format)
    first = net.first_conv
    last = net.last_conv
    with torch.no_grad():
        first.weight.copy_(first.weight[:, BGR] / 255.0)
        last.weight.copy_(last.weight[BGR] * 255.0)
        last.bias.copy_(last.bias[BGR] * 255.0)
    return net


class ContractModel(nn.Module):
    """uint8 BGR NHWC frame (+ style weights) -> uint8 BGR NHWC stylized frame of the same size."""

    def __init__(self, net: StyleNet) -> None:
        super().__init__()
        self.net = fold_io(net)
        self.multiple = net.arch.size_multiple
        self.min_size = net.arch.min_size

    def _padded(self, side: torch.SymInt | int) -> torch.SymInt | int:
        rounded = (side + self.multiple - 1) // self.multiple * self.multiple
        return torch.sym_max(rounded, self.min_size)

    def forward(self, frame: torch.Tensor, style_weights: torch.Tensor | None = None) -> torch.Tensor:
        x = frame.permute(0, 3, 1, 2).float()
        h, w = x.shape[2], x.shape[3]
        x = F.pad(x, (0, self._padded(w) - w, 0, self._padded(h) - h), mode="replicate")
        y = self.net(x, style_weights)[:, :, :h, :w]
        return y.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1)


def model_info(recipe: Recipe, variant: str = "fp32") -> ModelInfo:
    return ModelInfo(
        styles=tuple(StyleCredit(**s.credit()) for s in recipe.styles),
        architecture=recipe.arch.to_dict(),
        recipe=recipe.to_dict(),
        train_size=recipe.size,
        variant=variant,
    )


def _export_graph(contract: ContractModel, multi: bool, path: Path) -> None:
    frame = torch.randint(0, 256, (1, 64, 96, 3), dtype=torch.uint8)
    dims = {0: torch.export.Dim("batch", max=64), 1: torch.export.Dim("height", max=16384),
            2: torch.export.Dim("width", max=16384)}
    args: tuple = (frame,)
    shapes: dict = {"frame": dims}
    names = [INPUT_FRAME]
    if multi:
        args = (frame, torch.full((contract.net.arch.num_styles,), 1.0 / contract.net.arch.num_styles))
        shapes["style_weights"] = None
        names.append(INPUT_STYLE_WEIGHTS)
    program = torch.onnx.export(contract, args, dynamo=True, dynamic_shapes=shapes, input_names=names,
                                output_names=[OUTPUT_STYLIZED], optimize=True, verbose=False)
    program.save(str(path), external_data=False)


def parity(contract: ContractModel, path: Path, seed: int = 0) -> dict[tuple[int, int], tuple[int, float]]:
    """Max and mean absolute uint8 difference, ORT vs torch, on random frames of awkward sizes."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    multi = contract.net.arch.num_styles > 1
    rng = np.random.default_rng(seed)
    results = {}
    for h, w in PARITY_SIZES:
        frame = rng.integers(0, 256, (1, h, w, 3), dtype=np.uint8)
        feeds = {INPUT_FRAME: frame}
        weights = None
        if multi:
            weights = rng.dirichlet(np.ones(contract.net.arch.num_styles)).astype(np.float32)
            feeds[INPUT_STYLE_WEIGHTS] = weights
        got = session.run([OUTPUT_STYLIZED], feeds)[0]
        with torch.no_grad():
            want = contract(torch.from_numpy(frame), None if weights is None else torch.from_numpy(weights)).numpy()
        if got.shape != want.shape:
            raise StylecastError(f"export parity: output shape {got.shape} != {want.shape} at {h}x{w}")
        diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
        results[(h, w)] = (int(diff.max()), float(diff.mean()))
    return results


WEIGHT_FORMATS = tuple(PARITY)


def export_model(net: StyleNet, recipe: Recipe, out: Path, check: bool = True, weights: str = "fp16") -> dict:
    """Write ``out`` atomically; with ``check``, refuse to write a model that disagrees with torch.
    ``weights="fp16"`` stores the weights in half precision (half the file, fp32 compute; see storage.py)."""
    if weights not in WEIGHT_FORMATS:
        raise StylecastError(f"unknown weight format {weights!r}; choose one of {', '.join(WEIGHT_FORMATS)}")
    contract = ContractModel(net.cpu()).eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out) as tmp:
        _export_graph(contract, recipe.arch.num_styles > 1, tmp)
        model = onnx.load(str(tmp))
        if weights == "fp16":
            model = store_weights_fp16(model)
        del model.metadata_props[:]
        for key, value in model_info(recipe, variant=f"{weights}-weights").to_metadata().items():
            model.metadata_props.add(key=key, value=value)
        model.producer_name = "stylecast"
        onnx.checker.check_model(model)
        onnx.save(model, str(tmp))
        report = parity(contract, tmp) if check else {}
        max_limit, mean_limit = PARITY[weights]
        for size, (max_abs, _) in report.items():
            if max_abs > max_limit:
                raise StylecastError(f"export parity ({weights} weights) failed at {size[0]}x{size[1]}: "
                                     f"max |diff| {max_abs} (limit {max_limit})")
        if report and pooled_mean(report) > mean_limit:
            raise StylecastError(f"export parity ({weights} weights) failed: mean |diff| {pooled_mean(report):.3f} "
                                 f"over all sizes (limit {mean_limit})")
    return report


def pooled_mean(report: dict[tuple[int, int], tuple[int, float]]) -> float:
    """Mean |diff| over every pixel of every size (a 3x5 frame alone is too few pixels to judge a mean by)."""
    pixels = {size: size[0] * size[1] for size in report}
    return sum(report[s][1] * n for s, n in pixels.items()) / sum(pixels.values())
