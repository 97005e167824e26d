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

import torch
from torch import nn

from realtime.errors import StylecastError

from .losses import StyleTargets, relative_error
from .onnx_import import load_stylenet
from .vgg import VGGFeatures

FEATURE_LAYER = "relu2_2"


class Teacher:
    """A shipped style model painting training crops (RGB [0, 1] tensors in and out) on the trainer's device.

    The .onnx file is rebuilt as its torch network (onnx_import.py), so a GPU run is not held to the CPU's pace by
    ONNX Runtime. It runs in fp32 whatever the student's autocast, and its output is rounded to uint8 levels:
    exactly what the runtime shows a user, which is what the student should learn."""

    def __init__(self, path: Path, device: torch.device) -> None:
        self.net, info = load_stylenet(Path(path))
        self.net = self.net.to(device).to(memory_format=torch.channels_last).requires_grad_(False)
        self.style_names = [s.name for s in info.styles]
        self.device = device
        self.style_codes = torch.eye(len(self.style_names), device=device)  # made once: see the trainer's

    @torch.no_grad()
    def __call__(self, rgb: torch.Tensor, style_index: int = 0) -> torch.Tensor:
        with torch.autocast(self.device.type, enabled=False):
            out = self.net(rgb.float(), self.style_codes[style_index] if len(self.style_names) > 1 else None)
        return out.clamp(0, 1).mul(255).round().div(255)


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


def teacher_styles(teacher: Teacher, style_names: list[str]) -> list[int]:
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
