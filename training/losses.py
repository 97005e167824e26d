"""Perceptual losses (Johnson et al. 2016; Gatys et al. 2016) with per-layer normalisation.

Every term is a *relative* error, so weights mean the same thing at every layer and image size:
- content: ||F(out) - F(content)||² / ||F(content)||² at one VGG layer;
- style: for each layer, ||G(out) - G(style)||² / ||G(style)||², averaged over layers, where the Gram matrix is
  normalised by C·H·W (an average over positions, hence independent of image size);
- total variation: mean squared difference of neighbouring output pixels (in [0, 1] units).
Relative terms are also why defaults transfer between styles: a style weight of 5 means "a 1% Gram error costs
as much as a 5% feature error", whatever the painting's contrast.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .vgg import VGGFeatures


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix averaged over positions: (N, C, H, W) -> (N, C, C), computed in fp32 for stability."""
    n, c, h, w = features.shape
    f = features.float().reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def energy(x: torch.Tensor) -> torch.Tensor:
    """Per-sample squared norm; shape (N,)."""
    return x.float().pow(2).sum(tuple(range(1, x.dim())))


def relative_error(value: torch.Tensor, target: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    """||value - target||² / ||target||² per sample, shape (N,); or divided by a fixed ``scale`` instead."""
    err = energy(value.float() - target.float())
    return err / (energy(target) if scale is None else torch.tensor(scale)).clamp_min(1e-12)


def total_variation(img: torch.Tensor) -> torch.Tensor:
    """Per-sample mean squared neighbour difference; shape (N,)."""
    dh = (img[:, :, 1:, :] - img[:, :, :-1, :]).float().pow(2).mean((1, 2, 3))
    dw = (img[:, :, :, 1:] - img[:, :, :, :-1]).float().pow(2).mean((1, 2, 3))
    return dh + dw


@dataclass(frozen=True)
class LossWeights:
    content: float = 1.0
    style: float = 5.0
    tv: float = 10.0
    content_layer: str = "relu2_2"
    style_layers: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
    distill_pixel: float = 1.0     # distilled runs only (recipe with a teacher): see training/distill.py
    distill_feature: float = 1.0
    distill_style: float = 0.0     # distilled runs: style loss against the paintings too (texture; see distill.py)
    stability: float = 0.0         # temporal stability on perturbed copies (training/stability.py); 0 = off


@dataclass
class LossTerms:
    """Per-sample terms (already weighted) so callers can average, log or compare them."""

    content: torch.Tensor
    style: torch.Tensor
    tv: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        return (self.content + self.style + self.tv).mean()

    def named(self) -> dict[str, torch.Tensor]:
        return {"content": self.content, "style": self.style, "tv": self.tv}


class StyleTargets(nn.Module):
    """The paintings' Gram matrices at the style layers, and the style term of any batch against them.

    Shared by perceptual training and by distillation with a style term, so both score texture the same way
    (and the same way ``stylecast eval`` does)."""

    def __init__(self, vgg: VGGFeatures, layers: tuple[str, ...], style_images: list[torch.Tensor]) -> None:
        super().__init__()
        self.layers = layers
        with torch.no_grad():
            grams = [{k: gram(v) for k, v in vgg(img.unsqueeze(0), layers).items()} for img in style_images]
        for layer in layers:
            self.register_buffer(f"target_{layer}", torch.cat([g[layer] for g in grams]))

    def forward(self, feats: dict[str, torch.Tensor], style_index: torch.Tensor | None = None) -> torch.Tensor:
        """Per-sample mean over layers of the relative Gram error; ``style_index`` (N,) picks each sample's
        painting (None: the first for all)."""
        return self.by_layer(feats, style_index).mean(0)

    def by_layer(self, feats: dict[str, torch.Tensor], style_index: torch.Tensor | None = None) -> torch.Tensor:
        """The relative Gram error of each layer, shape (layers, N): where a network misses the texture (fine
        strokes at relu1_2, large shapes at relu4_3), which the mean alone hides."""
        n = next(iter(feats.values())).shape[0]
        idx = torch.zeros(n, dtype=torch.long, device=feats[self.layers[0]].device) if style_index is None \
            else style_index
        return torch.stack([relative_error(gram(feats[layer]), getattr(self, f"target_{layer}")[idx])
                            for layer in self.layers])


class PerceptualLoss(nn.Module):
    """Scores stylised images against their content images and a fixed set of target Gram matrices."""

    def __init__(self, vgg: VGGFeatures, weights: LossWeights, style_images: list[torch.Tensor],
                 content_scale: float | None = None) -> None:
        """``content_scale``: a fixed content-feature energy to divide by (training: the mean over a sample of
        training crops, see ``content_energy``). None divides each image by its own, which suits one picture
        (Gatys, eval) but lets a near-flat crop's tiny energy turn a small error into a loss spike in training."""
        super().__init__()
        self.vgg = vgg
        self.weights = weights
        self.content_scale = content_scale
        self.style_targets = StyleTargets(vgg, weights.style_layers, style_images)

    def forward(self, out: torch.Tensor, content: torch.Tensor, style_index: torch.Tensor | None = None) -> LossTerms:
        """``style_index`` (N,) picks each sample's target style; None means style 0 for all."""
        w = self.weights
        layers = tuple(dict.fromkeys((w.content_layer, *w.style_layers)))
        out_feats = self.vgg(out, layers)
        with torch.no_grad():
            target = self.vgg(content, (w.content_layer,))[w.content_layer]
        content_term = relative_error(out_feats[w.content_layer], target, self.content_scale)
        style_term = self.style_targets(out_feats, style_index)
        return LossTerms(content=w.content * content_term, style=w.style * style_term, tv=w.tv * total_variation(out))

    @torch.no_grad()
    def style_by_layer(self, out: torch.Tensor) -> dict[str, float]:
        """Unweighted style error of each style layer for one image (batch of 1), against the first painting."""
        errors = self.style_targets.by_layer(self.vgg(out, self.weights.style_layers))[:, 0]
        return dict(zip(self.weights.style_layers, map(float, errors), strict=True))

    @torch.no_grad()
    def content_energy(self, photos: torch.Tensor) -> float:
        """Mean content-feature energy of ``photos``: the fixed training denominator (identical on every rank)."""
        return float(energy(self.vgg(photos, (self.weights.content_layer,))[self.weights.content_layer]).mean())
