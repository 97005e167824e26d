"""Finding style models by name: the shipped ones, the user's own folders, or a path.

Shipped models live in the ``models`` package (so they work from a wheel and from a checkout) and are described by
its ``catalog.json``: ``{"default": NAME, "models": [{"name", "file", "tier", "style"}]}``; tier ``quality``
(Johnson-size networks, for files) or ``fast`` (real time on a CPU, the live window's default set). ``style`` names
one style *inside* a multi-style model, so one file can serve several catalog names (``wave`` -> the ``wave`` style
of ``paintings.onnx``). Any multi-style model's styles are also reachable as ``MODEL/STYLE``. Folders listed in the
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
    style: str = ""  # one style of a multi-style model; empty: the model as a whole (all its styles)


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
        entries = [CatalogEntry(m["name"], folder / m["file"], m.get("tier", ""), m.get("style", ""))
                   for m in data["models"]]
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
    a quality model runs at a few frames per second on a CPU; else every installed model.

    Each painting once: a whole multi-style model is left out when every style it paints is already named on its
    own, by a single-style file (``wave-fast.onnx``) or by a name for one of its styles (``udnie-fast`` -> the
    ``udnie`` style of ``paintings-fast.onnx``; such names still share one session, so blends between them
    happen inside the network)."""
    entries = installed()
    fast = [e for e in entries if e.tier == "fast"]
    painted = {e.name: set(painted_styles(e)) for e in fast}
    alone = set().union(*(painted[e.name] for e in fast if len(painted[e.name]) == 1))
    return [e.name for e in fast if len(painted[e.name]) == 1 or not painted[e.name] <= alone] or \
        [e.name for e in entries]


def painted_styles(entry: CatalogEntry) -> list[str]:
    """The styles a catalog entry paints: its one style of a multi-style file, or every style of its file."""
    return [entry.style] if entry.style else [s.name for s in read_info(entry.path).styles]


def tiers(style: str) -> list[CatalogEntry]:
    """The installed models of one style, fast tier first: ``NAME-fast`` and ``NAME`` (or a path as given)."""
    by_name = {e.name: e for e in installed()}
    found = [by_name[n] for n in (f"{style}-fast", style) if n in by_name]
    return found or [lookup(style)]


def lookup(style: str) -> CatalogEntry:
    """A style name, ``MODEL/STYLE`` (one style of a multi-style model) or a path to an .onnx file -> its entry.

    Names win over paths, so ``paintings/wave`` means the shipped model's style even if such a folder exists."""
    by_name = {e.name: e for e in installed()}
    if style in by_name:
        return by_name[style]
    model, _, inner = style.rpartition("/")
    whole = _whole_model(model, by_name) if inner and not style.endswith(".onnx") else None
    if whole is not None:
        return CatalogEntry(style, whole.path, whole.tier, inner)
    candidate = Path(style)
    if candidate.suffix == ".onnx" or os.sep in style:
        if not candidate.is_file():
            raise StylecastError(f"model file not found: {style}")
        return CatalogEntry(candidate.stem, candidate)
    raise StylecastError(f"unknown style {style!r}; installed: {', '.join(by_name) or 'none'}")


def _whole_model(name: str, by_name: dict[str, CatalogEntry]) -> CatalogEntry | None:
    """The model that ``name`` (an installed name or an existing .onnx file) denotes as a whole, if any."""
    entry = by_name.get(name)
    if entry is not None:
        return CatalogEntry(entry.path.stem, entry.path, entry.tier) if entry.style else entry
    path = Path(name)
    return CatalogEntry(path.stem, path) if path.suffix == ".onnx" and path.is_file() else None


def read_info(path: Path) -> ModelInfo:
    """Metadata without starting a session (for listings)."""
    try:
        model = onnx.load(str(path), load_external_data=False)
        return parse_metadata({p.key: p.value for p in model.metadata_props})
    except Exception as exc:  # noqa: BLE001 - protobuf, IO and contract errors all mean 'not usable'
        raise StylecastError(f"{path}: {str(exc).splitlines()[0][:160]}") from None
