"""VGG16 feature extractor for the perceptual losses, loadable offline.

Weights come from ``--vgg-weights PATH`` (a state dict for ``torchvision.models.vgg16().features``, fp32 or fp16),
else the ``STYLECAST_VGG_WEIGHTS`` environment variable, else torchvision's weights API (IMAGENET1K_V1), which
needs the internet once. Files are loaded with ``weights_only=True``: a weights file can never run code.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn
from torchvision.models import VGG16_Weights, vgg16

from realtime.errors import StylecastError

VGG_ENV = "STYLECAST_VGG_WEIGHTS"
LAYER_INDEX = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _load_state_dict(path: Path | None) -> dict[str, torch.Tensor]:
    if path is None and os.environ.get(VGG_ENV):
        path = Path(os.environ[VGG_ENV])
    if path is not None:
        if not path.is_file():
            raise StylecastError(f"VGG weights not found: {path}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a weights file"
            raise StylecastError(f"cannot read VGG weights {path}: {exc}".splitlines()[0]) from None
        return {k: v.float() for k, v in state.items()}
    try:
        full = VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=True)
    except Exception as exc:  # noqa: BLE001 - offline machines end up here
        raise StylecastError(
            f"VGG16 weights are not available offline ({type(exc).__name__}); pass --vgg-weights PATH "
            f"or set {VGG_ENV}"
        ) from None
    return {k.removeprefix("features."): v for k, v in full.items() if k.startswith("features.")}


def vgg16_features(weights: Path | None = None) -> nn.Sequential:
    """All of VGG16's feature layers with these weights (a file, $STYLECAST_VGG_WEIGHTS, else torchvision's),
    refusing with one line a file that is not VGG16 features.

    Built at random first (~1.6 s of initialisation), on purpose: that draws from torch's global generator after the
    trainer seeds it, so every recipe's network starts from the weights it started from when it was trained. Built
    on the meta device instead, the networks started elsewhere (session 21: two seeded tests' margins failed)."""
    features = vgg16(weights=None).features
    try:
        features.load_state_dict(_load_state_dict(weights), strict=True)
    except RuntimeError as exc:
        # torch's first line only names the module; the next names the first tensor missing or of the wrong shape.
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise StylecastError(f"VGG weights do not fit VGG16 features: {detail}") from None
    return features


class VGGFeatures(nn.Module):
    """Frozen VGG16 up to relu4_3; returns the requested activations for RGB input in [0, 1]."""

    def __init__(self, weights: Path | None = None) -> None:
        super().__init__()
        self.layers = vgg16_features(weights)[: max(LAYER_INDEX.values()) + 1].eval()
        for p in self.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, rgb: torch.Tensor, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
        wanted = {LAYER_INDEX[n]: n for n in names}
        last = max(wanted)
        x = (rgb - self.mean) / self.std
        out: dict[str, torch.Tensor] = {}
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in wanted:
                out[wanted[i]] = x
            if i == last:
                break
        return out
