"""Temporal stability trained in, without an optical-flow dataset.

Feed-forward style networks flicker on video because tiny input changes (sensor noise, compression, a pixel of
motion) flip their textures. Following the idea of Gupta et al. 2017 and ReCoNet, we show the network a photo and
a slightly perturbed copy of it - a small random affine warp (sub-pixel to a few pixels of shift, a fraction of a
degree of rotation, ~1% zoom) plus sensor-like noise - and penalise the difference between the perturbed copy's
output and the original output moved by the same warp. A network that satisfies this paints the same strokes on
the same scene content from frame to frame: exactly what video needs, learnt from still photos.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class Perturbation:
    """How far a "next frame" may differ from the current one (in pixels, degrees, fraction, [0,1] units)."""

    shift: float = 2.0
    rotate: float = 0.5
    zoom: float = 0.01
    noise: float = 0.02


def random_warps(batch: int, size: tuple[int, int], p: Perturbation, generator: torch.Generator) -> torch.Tensor:
    """Affine matrices (N, 2, 3) for ``F.affine_grid`` in normalised coordinates."""
    h, w = size
    u = torch.rand(batch, 4, generator=generator) * 2 - 1
    angle = u[:, 0] * math.radians(p.rotate)
    scale = 1 + u[:, 1] * p.zoom
    tx, ty = u[:, 2] * p.shift * 2 / w, u[:, 3] * p.shift * 2 / h
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    return torch.stack([torch.stack([cos, -sin * h / w, tx], 1), torch.stack([sin * w / h, cos, ty], 1)], 1)


def warp(images: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``images`` moved by ``theta``, and a mask of the pixels that came from inside the frame."""
    grid = F.affine_grid(theta.to(images.device, torch.float32), list(images.shape), align_corners=False)
    moved = F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
    inside = (grid.abs() <= 1).all(-1, keepdim=True).permute(0, 3, 1, 2).float()
    return moved, inside


def stability_term(net: torch.nn.Module, content: torch.Tensor, out: torch.Tensor, style_weights: torch.Tensor,
                   p: Perturbation, generator: torch.Generator) -> torch.Tensor:
    """Per-sample mean squared difference (in [0,1] units) between net(perturbed photo) and the warped output.

    Gradients flow through both outputs: the network is asked to be consistent, not to chase a fixed target."""
    theta = random_warps(content.shape[0], tuple(content.shape[2:]), p, generator)
    moved, inside = warp(content, theta)
    noise = torch.randn(moved.shape, generator=generator).to(moved.device) * p.noise
    perturbed = (moved + noise).clamp(0, 1).to(content.dtype).contiguous(memory_format=torch.channels_last)
    out_perturbed = net(perturbed, style_weights)
    expected, _ = warp(out, theta)
    squared = (out_perturbed.float() - expected).pow(2) * inside
    return squared.sum((1, 2, 3)) / (inside.sum((1, 2, 3)) * out.shape[1]).clamp_min(1.0)
