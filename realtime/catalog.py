"""Finding style models by name: the shipped ones, the user's own folders, or a path.

Shipped models live in the ``models`` package (so they work from a wheel and from a checkout) and are described by
its ``catalog.json``: ``{"default": NAME, "models": [{"name", "file", "tier"}]}``; tier ``quality`` (Johnson-size
networks, for files) or ``fast`` (real time on a CPU, the live window's default set). Folders listed in the
``STYLECAST_MODELS`` environment variable (``os.pathsep``-separated) add every ``*.onnx`` in them under the file's
stem. ``--style`` also takes a path to any .onnx file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import onnx

from .contract import ModelInfo, parse_metadata
from .errors import StylecastError

MODELS_ENV = "STYLECAST_MODELS"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    path: Path
    tier: str = ""


def shipped_folder() -> Path | None:
    try:
        return Path(str(resources.files("models")))
    except ModuleNotFoundError:
        return None


def _shipped() -> tuple[list[CatalogEntry], str | None]:
    folder = shipped_folder()
    catalog = folder / "catalog.json" if folder else None
    if catalog is None or not catalog.is_file():
        return [], None
    try:
        data = json.loads(catalog.read_text())
        entries = [CatalogEntry(m["name"], folder / m["file"], m.get("tier", "")) for m in data["models"]]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise StylecastError(f"shipped catalog {catalog} is damaged ({exc})") from None
    return entries, data.get("default")


def _user() -> list[CatalogEntry]:
    entries = []
    for folder in filter(None, os.environ.get(MODELS_ENV, "").split(os.pathsep)):
        entries += [CatalogEntry(p.stem, p) for p in sorted(Path(folder).glob("*.onnx"))]
    return entries


def installed() -> list[CatalogEntry]:
    """Every model by name; a user model with a shipped model's name is listed after it and not reachable by
    that name (the path still works)."""
    seen: dict[str, CatalogEntry] = {}
    for entry in _shipped()[0] + _user():
        seen.setdefault(entry.name, entry)
    return list(seen.values())


def default_style() -> str:
    _, default = _shipped()
    if default:
        return default
    entries = installed()
    if not entries:
        raise StylecastError(f"no style models installed; train one (stylecast train) or set {MODELS_ENV}")
    return entries[0].name


def live_styles() -> list[str]:
    """Default styles for the live window: the shipped real-time (fast tier) models when there are any, since
    a quality model runs at a few frames per second on a CPU; else every installed model."""
    entries = installed()
    fast = [e.name for e in entries if e.tier == "fast"]
    return fast or [e.name for e in entries]


def tiers(style: str) -> list[CatalogEntry]:
    """The installed models of one style, fast tier first: ``NAME-fast`` and ``NAME`` (or a path as given)."""
    by_name = {e.name: e for e in installed()}
    found = [by_name[n] for n in (f"{style}-fast", style) if n in by_name]
    if not found:
        return [CatalogEntry(Path(style).stem, resolve(style))]
    return found


def resolve(style: str) -> Path:
    """A style name or a path to an .onnx file -> the model's path."""
    candidate = Path(style)
    if candidate.suffix == ".onnx" or os.sep in style:
        if not candidate.is_file():
            raise StylecastError(f"model file not found: {style}")
        return candidate
    for entry in installed():
        if entry.name == style:
            return entry.path
    names = ", ".join(e.name for e in installed()) or "none"
    raise StylecastError(f"unknown style {style!r}; installed: {names}")


def read_info(path: Path) -> ModelInfo:
    """Metadata without starting a session (for listings)."""
    try:
        model = onnx.load(str(path), load_external_data=False)
        return parse_metadata({p.key: p.value for p in model.metadata_props})
    except Exception as exc:  # noqa: BLE001 - protobuf, IO and contract errors all mean 'not usable'
        raise StylecastError(f"{path}: {str(exc).splitlines()[0][:160]}") from None
