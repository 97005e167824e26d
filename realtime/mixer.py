"""Blends of styles: one stylized frame from a weighted set of styles, blended as deep inside as the models allow.

The live window's styles are the styles *in* the loaded models: a multi-style model (input ``style_weights``)
contributes each of its styles. A blend of styles of one multi-style model is mixed in feature space, by passing
the mixed weights to a single run (the network paints one coherent picture, at the cost of one run); styles of
different models can only be mixed by blending their outputs (one run per model). Cross-fades between styles are
blends whose weights change over time, so they use the same path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from . import catalog
from .effects import mix
from .engine import StyleModel
from .errors import StylecastError

Mix = Mapping["Style", float]


@dataclass(frozen=True, eq=False)
class Style:
    """One style of one loaded model (``index`` into the model's ``style_weights``)."""

    model: StyleModel
    index: int
    name: str


def option_name(style: Style) -> str:
    """How ``--style`` or ``--blend`` names this style: its catalog name when that finds this very model, else the
    model's path (with ``/STYLE`` for one style of a multi-style model)."""
    try:
        if catalog.lookup(style.name).path.resolve() == style.model.path.resolve():
            return style.name
    except StylecastError:
        pass
    names = style.model.style_names
    return str(style.model.path) if len(names) == 1 else f"{style.model.path}/{names[style.index]}"


def styles_of(models: list[StyleModel]) -> list[Style]:
    """Every style of every model, in order; a multi-style model's styles are named ``MODEL/STYLE``."""
    styles = []
    for model in models:
        names = model.style_names
        if len(names) == 1:
            styles.append(Style(model, 0, model.name))
        else:
            styles += [Style(model, i, f"{model.name}/{n}") for i, n in enumerate(names)]
    return styles


def combine(a: Mix, b: Mix, weight_b: float) -> dict[Style, float]:
    """``(1 - w) * a + w * b`` as a mix (weights of a style present in both add up)."""
    out: dict[Style, float] = {}
    for mixture, weight in ((a, 1.0 - weight_b), (b, weight_b)):
        for style, w in mixture.items():
            if w * weight > 0:
                out[style] = out.get(style, 0.0) + w * weight
    return out


def describe_mix(styles: Mix) -> str:
    """'red' or 'red 75% + blue 25%'."""
    if len(styles) == 1:
        return next(iter(styles)).name
    total = sum(styles.values())
    return " + ".join(f"{s.name} {round(100 * w / total)}%" for s, w in styles.items())


def render(frame: np.ndarray, styles: Mix) -> np.ndarray:
    """The frame painted in a blend of styles (weights need not sum to 1): one run per model involved."""
    per_model: dict[StyleModel, np.ndarray] = {}
    for style, weight in styles.items():
        if weight > 0:
            weights = per_model.setdefault(style.model, np.zeros(len(style.model.style_names), np.float32))
            weights[style.index] += weight
    if not per_model:
        raise ValueError("a mix needs at least one style with a positive weight")
    out: np.ndarray | None = None
    total = 0.0
    for model, weights in per_model.items():
        if model.has_weights_input:
            model.set_style_weights(weights)
        painted = model.run(frame)
        share = float(weights.sum())
        total += share
        out = painted if out is None else mix(out, painted, share / total)
    return out
