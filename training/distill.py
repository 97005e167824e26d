"""Distillation: teach a small, fast network to paint like a trained quality model.

Perceptual training spends ~90% of its arithmetic in VGG16 (through relu4_3, forward and backward), whatever
the size of the network being trained, so a fast model trained that way costs as much as a quality one. A fast
model distilled from a shipped quality model (its *teacher*, any stylecast .onnx) only needs VGG up to relu2_2
for a feature-matching term, plus the teacher's forward pass: about a third of the cost per step, and the
student inherits the teacher's look instead of finding its own local optimum.

Loss (per sample, all relative so the weights read the same for every style):
- pixel: mean |student - teacher| in [0, 1] units, divided by the teacher's mean |value - 0.5| contrast;
- feature: ||F(student) - F(teacher)||² / ||F(teacher)||² at VGG relu2_2 (textures, edges, strokes);
- style (optional, ``distill_style`` > 0): the perceptual style term against the paintings themselves. Matching
  the teacher pixel by pixel rewards a small student for painting the teacher's *average* stroke where it cannot
  place each stroke exactly, which smooths the texture away (measured: the distilled starry_night-fast had 2.5x
  its teacher's style loss). A Gram term does not care where a stroke lands, only that the strokes are there, so
  it pulls the texture back while the pixel and feature terms keep the teacher's composition. It costs VGG up to
  relu4_3 on the student (still no VGG pass on the content photo).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from realtime.engine import StyleModel
from realtime.errors import StylecastError

from .losses import StyleTargets, relative_error
from .vgg import VGGFeatures

FEATURE_LAYER = "relu2_2"


class OnnxTeacher:
    """A shipped style model run by ONNX Runtime on training crops (RGB [0, 1] tensors in and out)."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self.model = StyleModel(Path(path), device="cpu", threads=threads)

    @property
    def style_names(self) -> list[str]:
        return self.model.style_names

    @torch.no_grad()
    def __call__(self, rgb: torch.Tensor, style_index: int = 0) -> torch.Tensor:
        if self.model.has_weights_input:
            self.model.set_style_weights(np.eye(len(self.style_names), dtype=np.float32)[style_index])
        frames = (rgb.float().clamp(0, 1) * 255).round().to(torch.uint8).flip(1).permute(0, 2, 3, 1).numpy()
        out = np.stack([self.model.run(np.ascontiguousarray(f)) for f in frames])
        return torch.from_numpy(out).permute(0, 3, 1, 2).flip(1).float().div(255.0).to(rgb.device)


@dataclass
class DistillTerms:
    """Per-sample distillation terms (already weighted); ``style`` only when the run has a style term."""

    pixel: torch.Tensor
    feature: torch.Tensor
    style: torch.Tensor | None = None

    def named(self) -> dict[str, torch.Tensor]:
        terms = {"pixel": self.pixel, "feature": self.feature}
        return terms if self.style is None else {**terms, "style": self.style}


@dataclass
class StyleTerm:
    """The optional style term of a distillation: the paintings' Gram targets and how much they weigh."""

    weight: float
    targets: StyleTargets


class DistillLoss(nn.Module):
    def __init__(self, vgg: VGGFeatures, pixel: float = 1.0, feature: float = 1.0,
                 style: StyleTerm | None = None) -> None:
        super().__init__()
        self.vgg = vgg
        self.pixel_weight = pixel
        self.feature_weight = feature
        self.style = style

    def forward(self, student: torch.Tensor, teacher: torch.Tensor,
                style_index: torch.Tensor | None = None) -> DistillTerms:
        contrast = (teacher.float() - 0.5).abs().mean((1, 2, 3)).clamp_min(1e-3)
        pixel = (student.float() - teacher.float()).abs().mean((1, 2, 3)) / contrast
        with torch.no_grad():
            target = self.vgg(teacher, (FEATURE_LAYER,))[FEATURE_LAYER]
        layers = (FEATURE_LAYER,) if self.style is None else \
            tuple(dict.fromkeys((FEATURE_LAYER, *self.style.targets.layers)))
        feats = self.vgg(student, layers)
        terms = DistillTerms(pixel=self.pixel_weight * pixel,
                             feature=self.feature_weight * relative_error(feats[FEATURE_LAYER], target))
        if self.style is not None:
            terms.style = self.style.weight * self.style.targets(feats, style_index)
        return terms


def teacher_styles(teacher: OnnxTeacher, style_names: list[str]) -> list[int]:
    """The teacher's index of each style the student learns, matched by name.

    A student may learn any subset of its teacher's styles in any order: a single-style fast model distilled
    from one style of the multi-style quality model (``composition_vii-fast`` from ``paintings``) gets the whole
    capacity of its small network for that one painting.
    """
    missing = [name for name in style_names if name not in teacher.style_names]
    if missing:
        raise StylecastError(f"the teacher paints {', '.join(teacher.style_names)}, but the recipe asks for "
                             f"{', '.join(missing)}")
    return [teacher.style_names.index(name) for name in style_names]
