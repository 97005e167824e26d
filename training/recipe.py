"""Training recipes: every number that decides what a style model looks like, in one JSON file.

A recipe in models/recipes/ plus the shared assets reproduces a shipped model with one command. Command-line
flags override recipe fields; the final recipe is stored in every checkpoint and in the .onnx metadata.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from realtime.errors import StylecastError

from .losses import LossWeights
from .network import Architecture


@dataclass(frozen=True)
class StyleSpec:
    """One style to learn: the painting's file and the credits that travel into the model's metadata."""

    image: str
    name: str = ""
    title: str = ""
    artist: str = ""
    year: str = ""
    licence: str = ""
    source: str = ""

    @property
    def style_name(self) -> str:
        return self.name or Path(self.image).stem

    def credit(self) -> dict[str, str]:
        return {"name": self.style_name, "title": self.title, "artist": self.artist, "year": self.year,
                "licence": self.licence, "source": self.source}


# The command-line flag that sets each recipe field (training/cli.py builds its overrides from this table), so that
# a setting a resumed or continued run cannot take is named as the user typed it.
FLAGS = {
    "styles": "--style-image", "content_dir": "--content-dir", "steps": "--steps", "batch_size": "--batch-size",
    "size": "--size", "style_size": "--style-size", "lr": "--lr", "lr_schedule": "--lr-schedule", "seed": "--seed",
    "checkpoint_every": "--checkpoint-every", "preview_every": "--preview-every", "amp": "--amp",
    "losses.content": "--content-weight", "losses.style": "--style-weight", "losses.tv": "--tv-weight",
    "losses.stability": "--stability-weight", "losses.distill_style": "--distill-style-weight",
    "losses.content_layer": "--content-layer", "arch.channels": "--channels", "arch.res_blocks": "--res-blocks",
    "arch.kind": "--network", "arch.dilations": "--dilations", "teacher": "--teacher",
}

# What a resumed run (`train --resume`, the same run) may change besides the step budget, later learning-rate
# schedule entries, checkpoint cadence and precision (Recipe.resumed_from): where the photos are on this machine.
RESUME_CHANGES = ("content_dir",)

# What a model file's continuation (`train --from-model`, a new run from trained weights) may change as well: how
# the network is trained — crops, batch, stroke scale, seed, the residual blocks' dilations, the loss weights, the
# teacher — but not what it is (no weight changes shape) nor what it paints.
CONTINUATION_CHANGES = ("size", "batch_size", "style_size", "seed", "arch.dilations", "losses.content",
                        "losses.style", "losses.tv", "losses.stability", "losses.distill_style",
                        "losses.content_layer", "teacher")


def shown(value: Any) -> str:
    """A setting as it is typed on the command line (``16,32,96``, not ``(16, 32, 96)``)."""
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def _resolved(path: str) -> str:
    return str(Path(path).resolve()) if path else ""


@dataclass(frozen=True)
class Recipe:
    styles: tuple[StyleSpec, ...] = ()
    content_dir: str = ""
    size: int = 256              # training crop side; also the "trained for" resolution in metadata
    style_size: int = 384        # long side the painting is resized to: sets the brush-stroke scale
    batch_size: int = 4
    steps: int = 3000
    lr: float = 1e-3
    # (step, lr) pairs: from that step on, train at that learning rate. A schedule lets a run that has gone as far
    # as a constant rate takes it (and would diverge past it) go on at a lower rate, and still be one recipe.
    lr_schedule: tuple[tuple[int, float], ...] = ()
    seed: int = 0
    holdout_every: int = 10      # every Nth photo (by a hash of its name) is never trained on
    amp: str = "auto"            # auto (bf16 on CUDA and on bf16 CPUs, else fp32), bf16, fp16 (CUDA), none
    checkpoint_every: int = 200
    preview_every: int = 200
    losses: LossWeights = field(default_factory=LossWeights)
    arch: Architecture = field(default_factory=Architecture)
    teacher: str = ""            # a stylecast .onnx to distil from instead of training against the paintings;
                                 # it paints every recipe style by name (a multi-style teacher may paint more)

    def lr_at(self, step: int) -> float:
        """The learning rate for the step that follows ``step`` completed steps."""
        lr = self.lr
        for start, value in self.lr_schedule:
            if step >= start:
                lr = value
        return lr

    def resumed_from(self, stored: "Recipe", step: int) -> "Recipe":
        """The recipe a run resumed at ``step`` goes on with: the stored one (a resumed run must be the same run),
        except that the step budget may grow and the learning-rate schedule may change from ``step`` on. How this
        invocation runs (checkpoint and preview cadence, mixed precision) is its own: a GPU run's bf16 must not
        follow it to a CPU without bf16, nor its sparse checkpoints to a slow machine."""
        past = tuple(e for e in stored.lr_schedule if e[0] < step)
        rewritten = [e for e in self.lr_schedule if e[0] < step and e not in past]
        if rewritten:
            raise StylecastError(f"the learning-rate schedule before step {step} is the stored run's; "
                                 f"entries {rewritten} would rewrite it")
        return replace(stored, steps=max(self.steps, step),
                       lr_schedule=past + tuple(e for e in self.lr_schedule if e[0] >= step),
                       checkpoint_every=self.checkpoint_every, preview_every=self.preview_every, amp=self.amp)

    def setting(self, key: str) -> Any:
        """The field a flag sets (``FLAGS``'s keys), in a form two spellings of one setting share: paths resolved,
        a painting by its file, dilations one per residual block."""
        if key == "styles":
            return tuple(_resolved(s.image) for s in self.styles)
        if key in ("content_dir", "teacher"):
            return _resolved(getattr(self, key))
        if key == "arch.dilations":
            return self.arch.block_dilations
        value: Any = self
        for part in key.split("."):
            value = getattr(value, part)
        return value

    def not_taken(self, given: dict[str, Any]) -> list[str]:
        """The keys of ``given`` (recipe field -> a flag's value) whose value this recipe does not have."""
        def taken(key: str, value: Any) -> bool:
            try:
                return self.with_overrides(**{key: value}).setting(key) == self.setting(key)
            except StylecastError:  # e.g. a block count the stored dilations do not fit: not this run's either
                return False

        return [key for key, value in given.items() if not taken(key, value)]

    def continuation_changes_from(self, before: "Recipe") -> list[str]:
        """``CONTINUATION_CHANGES`` that differ from ``before``, as "flag old -> new" for the run's log."""
        return [f"{FLAGS[key]} {shown(before.setting(key))} -> {shown(self.setting(key))}"
                for key in CONTINUATION_CHANGES if before.setting(key) != self.setting(key)]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lr_schedule"] = [list(e) for e in self.lr_schedule]
        d["styles"] = [asdict(s) for s in self.styles]
        d["losses"]["style_layers"] = list(self.losses.style_layers)
        d["arch"] = self.arch.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Recipe":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise StylecastError(f"unknown recipe field(s): {', '.join(sorted(unknown))}")
        d = dict(d)
        if "styles" in d:
            d["styles"] = tuple(StyleSpec(**s) for s in d["styles"])
        if "losses" in d:
            losses = dict(d["losses"])
            if "style_layers" in losses:
                losses["style_layers"] = tuple(losses["style_layers"])
            d["losses"] = LossWeights(**losses)
        if "arch" in d:
            try:
                d["arch"] = Architecture.from_dict(d["arch"])
            except (KeyError, ValueError, TypeError) as exc:
                raise StylecastError(f"bad recipe: its network: {exc}") from None
        if "lr_schedule" in d:
            d["lr_schedule"] = lr_schedule(d["lr_schedule"])
        try:
            return cls(**d)
        except TypeError as exc:
            raise StylecastError(f"bad recipe: {exc}") from None

    def with_overrides(self, **overrides: Any) -> "Recipe":
        """Apply non-None overrides; dotted names reach into losses/arch (e.g. ``losses.style``)."""
        top, losses, arch = {}, {}, {}
        for key, value in overrides.items():
            if value is None:
                continue
            if key.startswith("losses."):
                losses[key.split(".", 1)[1]] = value
            elif key.startswith("arch."):
                arch[key.split(".", 1)[1]] = value
            else:
                top[key] = value
        recipe = replace(self, **top)
        if losses:
            recipe = replace(recipe, losses=replace(recipe.losses, **losses))
        if arch:
            try:
                recipe = replace(recipe, arch=replace(recipe.arch, **arch))
            except ValueError as exc:
                raise StylecastError(str(exc)) from None
        return recipe


def lr_schedule(entries: Any) -> tuple[tuple[int, float], ...]:
    """A checked schedule from ``[[step, lr], ...]``."""
    try:
        schedule = tuple((int(step), float(lr)) for step, lr in entries)
    except (TypeError, ValueError):
        raise StylecastError("lr_schedule should be a list of [step, learning rate] pairs") from None
    if any(step < 0 or lr <= 0 for step, lr in schedule) or list(schedule) != sorted(schedule):
        raise StylecastError("lr_schedule needs increasing steps >= 0 and learning rates > 0")
    return schedule


def load_recipe(path: Path | None) -> Recipe:
    if path is None:
        return Recipe()
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise StylecastError(f"recipe not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise StylecastError(f"recipe {path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise StylecastError(f"recipe {path} should hold a JSON object")
    return Recipe.from_dict(data)
