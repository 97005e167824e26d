"""Quality as numbers: a model's content and style losses on held-out photos, against the Gatys optimum.

For each photo the feed-forward model's output is scored with the unweighted perceptual terms (relative content
error at the content layer, mean relative Gram error over the style layers). The same photo is then stylised by
per-image optimisation (gatys.py) under the model's own training objective; its scores are the ceiling. The
ratio model/optimum of the style error says how much of the achievable style the network captured (1.0 = all),
read next to the content ratio (a model can buy style by dropping content, and vice versa).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from realtime.engine import StyleModel
from realtime.errors import StylecastError

from .data import load_rgb, resize_long_side, split_images, to_unit
from .gatys import stylize_by_optimisation
from .losses import LossWeights, PerceptualLoss
from .vgg import VGGFeatures


@dataclass(frozen=True)
class Scores:
    content: float
    style: float


@dataclass(frozen=True)
class PhotoResult:
    photo: str
    model: Scores
    optimum: Scores


def _run_model(model: StyleModel, rgb: torch.Tensor) -> torch.Tensor:
    """(3, H, W) RGB [0, 1] through a contract model, exactly as the runtime runs it; same layout back."""
    bgr = (rgb.flip(0).permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    out = model.run(np.ascontiguousarray(bgr))
    return torch.from_numpy(out.copy()).permute(2, 0, 1).flip(0).float() / 255.0


def _scores(measure: PerceptualLoss, image: torch.Tensor, content: torch.Tensor) -> Scores:
    with torch.no_grad():
        terms = measure(image.unsqueeze(0), content.unsqueeze(0))
    return Scores(content=float(terms.content), style=float(terms.style))


def evaluate(model_path: Path, style_image: Path, content_dir: Path, vgg_weights: Path | None,
             images: int = 4, size: int = 256, gatys_steps: int = 150) -> list[PhotoResult]:
    model = StyleModel(model_path, device="cpu")
    info = model.info
    if info.is_multi_style:
        raise StylecastError("eval scores single-style models; export one style at a time")
    recipe = info.recipe
    try:
        objective = LossWeights(**{k: tuple(v) if k == "style_layers" else v
                                   for k, v in recipe.get("losses", {}).items()})
    except TypeError:
        raise StylecastError(f"{model_path}: the recipe in its metadata has unknown loss fields") from None
    _, held_out = split_images(content_dir, int(recipe.get("holdout_every", 10)))
    if not held_out:
        raise StylecastError(f"no held-out photos in {content_dir} for this model's split")
    style = to_unit(load_rgb(style_image, max_side=int(recipe.get("style_size", 384))))
    vgg = VGGFeatures(vgg_weights)
    target = PerceptualLoss(vgg, objective, [style])
    measure = PerceptualLoss(vgg, replace(objective, content=1.0, style=1.0, tv=0.0), [style])
    results = []
    for path in tqdm(held_out[:images], desc="scoring (model, then Gatys optimum)", unit="photo"):
        photo = to_unit(resize_long_side(load_rgb(path), size))
        stylized = _run_model(model, photo)
        optimum = stylize_by_optimisation(photo, target, steps=gatys_steps).image
        results.append(PhotoResult(path.name, _scores(measure, stylized, photo), _scores(measure, optimum, photo)))
    return results


def summary(results: list[PhotoResult]) -> dict[str, float]:
    mean = lambda xs: float(np.mean(xs))  # noqa: E731
    model_style = mean([r.model.style for r in results])
    model_content = mean([r.model.content for r in results])
    opt_style = mean([r.optimum.style for r in results])
    opt_content = mean([r.optimum.content for r in results])
    return {"content": model_content, "style": model_style, "optimum_content": opt_content,
            "optimum_style": opt_style, "style_ratio": model_style / opt_style,
            "content_ratio": model_content / opt_content}


def format_report(results: list[PhotoResult]) -> str:
    lines = [f"{'photo':<24} {'content':>8} {'style':>8} {'opt.content':>12} {'opt.style':>10}"]
    for r in results:
        lines.append(f"{r.photo:<24} {r.model.content:8.3f} {r.model.style:8.4f} {r.optimum.content:12.3f} "
                     f"{r.optimum.style:10.4f}")
    s = summary(results)
    lines.append(f"{'mean':<24} {s['content']:8.3f} {s['style']:8.4f} {s['optimum_content']:12.3f} "
                 f"{s['optimum_style']:10.4f}")
    lines.append(f"style loss = {s['style_ratio']:.2f}x the Gatys optimum at {s['content_ratio']:.2f}x its content "
                 f"loss ({len(results)} held-out photos)")
    lines.append("json: " + json.dumps({k: round(v, 5) for k, v in s.items()}))
    return "\n".join(lines)
