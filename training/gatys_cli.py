"""`stylecast image IN -o OUT --optimize --style-image S`: per-image optimisation from the command line.

realtime/cli.py parses the arguments (the `image` command is shared with the fast path) and hands them here
lazily, so only this mode needs torch.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from realtime.errors import StylecastError

from .data import load_rgb, resize_long_side, to_unit
from .gatys import stylize_by_optimisation
from .losses import LossWeights, PerceptualLoss
from .trainer import pick_device
from .vgg import VGGFeatures

DEFAULT_SIZE = 512


def stylize_file(content_path: Path, args: argparse.Namespace) -> np.ndarray:
    """Optimise the picture at ``content_path`` as ``args`` describe; returns the result as a BGR uint8 image."""
    if getattr(args, "style_image", None) is None:
        raise StylecastError("--optimize needs --style-image PAINTING")
    device = pick_device(getattr(args, "device", "auto"))
    size = getattr(args, "max_side", None) or DEFAULT_SIZE
    content = to_unit(resize_long_side(load_rgb(content_path), size) if size else load_rgb(content_path))
    style = to_unit(load_rgb(Path(args.style_image), max_side=max(content.shape[1:])))
    weights = LossWeights()
    overrides = {k: v for k, v in (("content", getattr(args, "content_weight", None)),
                                   ("style", getattr(args, "style_weight", None))) if v is not None}
    weights = replace(weights, **overrides)
    loss_fn = PerceptualLoss(VGGFeatures(getattr(args, "vgg_weights", None)), weights, [style.to(device)]).to(device)
    with tqdm(total=args.steps, unit="step", desc="optimising", dynamic_ncols=True) as bar:
        def progress(step: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")

        result = stylize_by_optimisation(content.to(device), loss_fn, steps=args.steps, progress=progress)
    rgb = (result.image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return np.ascontiguousarray(rgb[..., ::-1])
