"""Style names -> loaded models, each model file opened once.

A catalog name may stand for a whole model file or for one style inside a multi-style file (``wave`` -> the
``wave`` style of ``paintings.onnx``). Loading by name hides that difference: a single-picture or video job gets a
model already set to the named style; the live window gets one :class:`~realtime.mixer.Style` per name, with
every name that lives in the same file sharing one ONNX Runtime session (one set of weights and threads, and
blends between them happen inside the network).
"""

from __future__ import annotations

from pathlib import Path

from . import catalog
from .engine import StyleModel
from .mixer import Style, styles_of
from .providers import GpuOptions


def load_model(name: str, device: str = "auto", threads: int | None = None,
               gpu: GpuOptions | None = None) -> StyleModel:
    """The model behind a style name, painting that style."""
    return open_entry(catalog.lookup(name), device, threads, gpu)


def open_entry(entry: catalog.CatalogEntry, device: str = "auto", threads: int | None = None,
               gpu: GpuOptions | None = None) -> StyleModel:
    """The model of a catalog entry, set to the entry's style when it names one."""
    model = StyleModel(entry.path, device, threads, gpu)
    if entry.style:
        model.select(entry.style)
        model.name = entry.name
    return model


def load_styles(names: list[str], device: str = "auto", threads: int | None = None,
                gpu: GpuOptions | None = None) -> list[Style]:
    """The styles behind several names, in order. Every name is looked up before any session starts, so a typo
    fails fast; a whole multi-style model contributes all of its styles."""
    entries = [catalog.lookup(n) for n in names]
    models: dict[Path, StyleModel] = {}
    styles: list[Style] = []
    for entry in entries:
        key = entry.path.resolve()
        if key not in models:
            models[key] = StyleModel(entry.path, device, threads, gpu)
        model = models[key]
        if entry.style:
            styles.append(Style(model, model.style_index(entry.style), entry.name))
        else:
            styles += styles_of([model])
    return styles
