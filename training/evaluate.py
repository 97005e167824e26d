"""Quality as numbers: models' content and style losses on held-out photos, against the Gatys optimum.

For each photo a feed-forward model's output is scored with the unweighted perceptual terms (relative content
error at the content layer, mean relative Gram error over the style layers). The same photo is then stylised by
per-image optimisation (gatys.py) under the model's own training objective; its scores are the ceiling. The
ratio model/optimum of the style error says how much of the achievable style the network captured (1.0 = all),
read next to the content ratio (a model can buy style by dropping content, and vice versa). The objective ratio
settles that trade-off in one number: the weighted sum content_weight*content + style_weight*style that the
optimum minimises, model over optimum, so two models that trade style for content differently are compared on
the very quantity both (and the optimum) were built to lower. Two more views of the same scores: the style ratio
of each VGG layer (fine strokes at relu1_2 to large shapes at relu4_3: where a network falls short), and how many
optimiser steps the optimum needs to get its whole training loss as low as the model's (Johnson et al.'s
comparison, quality put in optimisation time: a network worth 30 steps paints in one pass what the optimiser
reaches after 30 steps, each a forward and backward pass of VGG).

Several models of one painting (fast and quality tiers, a peer tool) are scored in one run against the same
optima. Optima are cached on disk (keyed by painting, photo, size, steps and objective), because each one costs a
minute of CPU and the same photos are scored again whenever a model changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from realtime.catalog import lookup
from realtime.loader import open_entry
from realtime.outputs import atomic_output
from realtime.paths import cache_dir
from realtime.errors import StylecastError

from .data import load_rgb, resize_long_side, split_images, to_unit
from .gatys import stylize_by_optimisation
from .losses import LossWeights, PerceptualLoss
from .vgg import VGGFeatures

DEFAULT_STYLE_SIZE = 384
DEFAULT_HOLDOUT = 10


@dataclass(frozen=True)
class Scores:
    content: float
    style: float
    objective: float  # the perceptual part of the training objective: weighted content + weighted style
    layers: dict[str, float] = field(default_factory=dict)  # style error per VGG layer; ``style`` is their mean


@dataclass(frozen=True)
class PhotoResult:
    photo: str
    model: Scores
    optimum: Scores
    # Optimiser steps (L-BFGS, from the photo) after which the optimum's whole training loss is already as low as
    # the model's; None if it never is within its ``optimiser_run`` steps.
    optimiser_steps: int | None = None
    optimiser_run: int = 0


@dataclass(frozen=True)
class Candidate:
    """Something that stylises BGR uint8 frames, and the objective/split it should be judged by."""

    label: str
    stylize: Callable[[np.ndarray], np.ndarray]
    objective: LossWeights = LossWeights()
    holdout_every: int = DEFAULT_HOLDOUT
    style_size: int = DEFAULT_STYLE_SIZE


def model_candidate(name: str, painting: str = "") -> Candidate:
    """A shipped style name, ``MODEL/STYLE`` or an .onnx path, judged by the objective in its own metadata.

    A whole multi-style model is scored on the style named like the painting file (``wave.jpg`` -> ``wave``)."""
    entry = lookup(name)
    model = open_entry(entry, device="cpu")
    label = entry.name
    if model.info.is_multi_style and not entry.style:
        if painting not in model.style_names:
            raise StylecastError(f"{name} paints {', '.join(model.style_names)}; name one as {name}/STYLE "
                                 f"(or use a painting file named after it)")
        model.select(painting)
        label = f"{entry.name}/{painting}"
    recipe = model.info.recipe
    try:
        objective = LossWeights(**{k: tuple(v) if k == "style_layers" else v
                                   for k, v in recipe.get("losses", {}).items()})
    except TypeError:
        raise StylecastError(f"{name}: the recipe in its metadata has unknown loss fields") from None
    return Candidate(label, model.run, objective, int(recipe.get("holdout_every", DEFAULT_HOLDOUT)),
                     int(recipe.get("style_size", DEFAULT_STYLE_SIZE)))


def distinct_labels(candidates: list[Candidate], names: list[str]) -> list[Candidate]:
    """Candidates whose model names clash (a shipped model and a retrained file of the same name) are labelled
    by what the user typed instead, so each keeps its own rows rather than being pooled into one."""
    labels = [c.label for c in candidates]
    return [replace(c, label=name) if labels.count(c.label) > 1 else c
            for c, name in zip(candidates, names, strict=True)]


def _run(stylize: Callable[[np.ndarray], np.ndarray], rgb: torch.Tensor) -> torch.Tensor:
    """(3, H, W) RGB [0, 1] through a frame stylizer, exactly as the runtime runs it; same layout back."""
    bgr = (rgb.flip(0).permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    out = stylize(np.ascontiguousarray(bgr))
    if out.shape != bgr.shape:
        raise StylecastError(f"a stylizer returned {out.shape} for a {bgr.shape} frame")
    return torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1).flip(0).float() / 255.0


def _scores(measure: PerceptualLoss, image: torch.Tensor, content: torch.Tensor, weights: LossWeights) -> Scores:
    with torch.no_grad():
        terms = measure(image.unsqueeze(0), content.unsqueeze(0))
    c, s = float(terms.content), float(terms.style)
    return Scores(content=c, style=s, objective=weights.content * c + weights.style * s,
                  layers=measure.style_by_layer(image.unsqueeze(0)))


def gatys_cache_dir() -> Path:
    """Gatys optima, reused across eval runs (minutes per photo to compute)."""
    return cache_dir() / "gatys"


def gatys_objective(objective: LossWeights) -> LossWeights:
    """The part of a model's training objective that defines its Gatys optimum: the perceptual weights and layers.
    Training-only terms (distillation, stability) are reset, so models that differ only in how they were trained
    share one optimum (and one cache entry) per photo."""
    return LossWeights(content=objective.content, style=objective.style, tv=objective.tv,
                       content_layer=objective.content_layer, style_layers=objective.style_layers)


def _optimum(photo_path: Path, photo: torch.Tensor, style_path: Path, objective: LossWeights, style_size: int,
             steps: int, target: PerceptualLoss, vgg_id: str) -> tuple[torch.Tensor, np.ndarray]:
    """The optimum's picture and its loss after 0..steps optimiser steps, from the cache when there.

    A picture cached before the loss history was kept gets its history computed again (the same optimisation);
    the picture itself is kept, so earlier figures stay reproducible."""
    key = hashlib.sha256(json.dumps({
        "photo": hashlib.sha256(photo_path.read_bytes()).hexdigest(),
        "style": hashlib.sha256(style_path.read_bytes()).hexdigest(), "shape": list(photo.shape),
        "objective": asdict(objective), "style_size": style_size, "steps": steps, "vgg": vgg_id, "v": 3,
    }, sort_keys=True).encode()).hexdigest()[:32]
    image_path = gatys_cache_dir() / f"{key}.npy"
    history_path = gatys_cache_dir() / f"{key}.history.npy"
    image, history = _load(image_path), _load(history_path)
    if image is None or history is None:
        result = stylize_by_optimisation(photo, target, steps=steps)
        history = np.asarray(result.history, np.float64)
        _store(history_path, history)
        if image is None:
            image = result.image.numpy().astype(np.float16)
            _store(image_path, image)
    return torch.from_numpy(image.astype(np.float32)), history


def _load(path: Path) -> np.ndarray | None:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None  # missing or damaged: recomputed


def _store(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        np.save(tmp, array, allow_pickle=False)


def steps_to_match(history: np.ndarray, loss: float) -> int | None:
    """The fewest optimiser steps after which the optimum's loss is at most ``loss`` (None: never, in its run):
    Johnson et al.'s way of putting a network's quality in optimisation time."""
    reached = np.flatnonzero(history <= loss)
    return int(reached[0]) if reached.size else None


def evaluate(candidates: list[Candidate], style_image: Path, content_dir: Path, vgg_weights: Path | None,
             images: int = 4, size: int = 256, gatys_steps: int = 150) -> dict[str, list[PhotoResult]]:
    if len({c.holdout_every for c in candidates}) > 1:
        raise StylecastError("these models were trained on different photo splits; evaluate them separately")
    _, held_out = split_images(content_dir, candidates[0].holdout_every)
    if not held_out:
        raise StylecastError(f"no held-out photos in {content_dir} for this split")
    vgg = VGGFeatures(vgg_weights)
    vgg_id = f"{vgg_weights.name}:{vgg_weights.stat().st_size}" if vgg_weights else "torchvision"
    results: dict[str, list[PhotoResult]] = {c.label: [] for c in candidates}
    measures: dict[tuple, tuple[PerceptualLoss, PerceptualLoss]] = {}
    for path in tqdm(held_out[:images], desc="scoring (models, then the Gatys optimum)", unit="photo"):
        photo = to_unit(resize_long_side(load_rgb(path), size))
        for c in candidates:
            key = (gatys_objective(c.objective), c.style_size)
            if key not in measures:
                style = to_unit(load_rgb(style_image, max_side=c.style_size))
                measures[key] = (PerceptualLoss(vgg, key[0], [style]),
                                 PerceptualLoss(vgg, replace(key[0], content=1.0, style=1.0, tv=0.0), [style]))
            target, measure = measures[key]
            optimum, history = _optimum(path, photo, style_image, key[0], c.style_size, gatys_steps, target,
                                        vgg_id)
            stylized = _run(c.stylize, photo)
            with torch.no_grad():
                model_loss = float(target(stylized.unsqueeze(0), photo.unsqueeze(0)).total)
            results[c.label].append(PhotoResult(path.name, _scores(measure, stylized, photo, key[0]),
                                                _scores(measure, optimum, photo, key[0]),
                                                steps_to_match(history, model_loss), len(history) - 1))
    return results


def summary(results: list[PhotoResult]) -> dict[str, float]:
    mean = lambda xs: float(np.mean(xs))  # noqa: E731
    model_style = mean([r.model.style for r in results])
    model_content = mean([r.model.content for r in results])
    opt_style = mean([r.optimum.style for r in results])
    opt_content = mean([r.optimum.content for r in results])
    objective_ratio = mean([r.model.objective for r in results]) / mean([r.optimum.objective for r in results])
    by_layer = {f"style_ratio_{layer}": mean([r.model.layers[layer] for r in results])
                / mean([r.optimum.layers[layer] for r in results]) for layer in results[0].model.layers}
    return {"content": model_content, "style": model_style, "optimum_content": opt_content,
            "optimum_style": opt_style, "style_ratio": model_style / opt_style,
            "content_ratio": model_content / opt_content,
            "objective_ratio": objective_ratio, **by_layer, **_median_steps(results)}


def _median_steps(results: list[PhotoResult]) -> dict[str, float]:
    """The median optimiser steps to match, where every photo has one (a photo where the model beats the whole
    optimisation run has no number to take a median of)."""
    steps = [r.optimiser_steps for r in results]
    return {"optimiser_steps": float(np.median(steps))} if None not in steps else {}


def format_report(label: str, results: list[PhotoResult]) -> str:
    lines = [f"== {label}", f"{'photo':<24} {'content':>8} {'style':>8} {'opt.content':>12} {'opt.style':>10}"]
    for r in results:
        lines.append(f"{r.photo:<24} {r.model.content:8.3f} {r.model.style:8.4f} {r.optimum.content:12.3f} "
                     f"{r.optimum.style:10.4f}")
    s = summary(results)
    lines.append(f"{'mean':<24} {s['content']:8.3f} {s['style']:8.4f} {s['optimum_content']:12.3f} "
                 f"{s['optimum_style']:10.4f}")
    lines.append(f"style loss = {s['style_ratio']:.2f}x the Gatys optimum at {s['content_ratio']:.2f}x its content "
                 f"loss; weighted objective {s['objective_ratio']:.2f}x ({len(results)} held-out photos)")
    layers = [(k.removeprefix("style_ratio_"), v) for k, v in s.items() if k.startswith("style_ratio_")]
    lines.append("style loss by VGG layer, x the optimum's: " + ", ".join(f"{k} {v:.2f}x" for k, v in layers))
    steps = ", ".join(f"{r.optimiser_steps}" if r.optimiser_steps is not None else f">{r.optimiser_run}"
                      for r in results)
    lines.append(f"the optimiser's loss is as low as this model's after {steps} L-BFGS steps (per photo)")
    lines.append("json: " + json.dumps({"model": label, **{k: round(v, 5) for k, v in s.items()}}))
    return "\n".join(lines)


def format_table(all_results: dict[str, list[PhotoResult]]) -> str:
    """One line per model: the figures the README tables carry."""
    lines = [f"{'model':<40} {'style/opt':>10} {'content/opt':>12} {'objective/opt':>14} {'style':>8} {'content':>8} "
             f"{'L-BFGS steps':>12}"]
    for label, results in all_results.items():
        s = summary(results)
        steps = f"{s['optimiser_steps']:12.1f}" if "optimiser_steps" in s else f"{'-':>12}"
        lines.append(f"{label:<40} {s['style_ratio']:10.2f} {s['content_ratio']:12.2f} {s['objective_ratio']:14.2f} "
                     f"{s['style']:8.4f} {s['content']:8.3f} {steps}")
    return "\n".join(lines)
