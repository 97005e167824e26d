"""What paints a file: one style, or a blend of two, with the live window's effects, and what to call it.

``image`` and ``video`` take the live window's settings as options (``--blend``, ``--strength``, ...), so a look found
live renders the same into a file; this is where those options become one frame -> frame function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .effects import Effects
from .errors import StylecastError
from .loader import load_model, load_styles
from .mixer import describe_mix, render
from .providers import GpuOptions


@dataclass(frozen=True)
class Painter:
    """Paints pictures or a clip's frames (``run``), and is named as the user is told: ``the_scream``, or
    ``starry_night 70% + wave 30%``, on ``placement``."""

    run: Callable[[np.ndarray], np.ndarray]
    name: str
    placement: object


def open_painter(style: str, blend: tuple[str, float] | None, effects: Effects, device: str = "auto",
                 threads: int | None = None, gpu: GpuOptions | None = None) -> Painter:
    """``style`` alone, or mixed with ``blend`` (another style and its share) as the live window's ``b`` mixes:
    styles of one multi-style model inside the network, others by mixing the two paintings."""
    if blend is None:
        model = load_model(style, device, threads, gpu)
        return Painter(effects.around(model.run), model.name, model.placement)
    other, share = blend
    styles = load_styles([style, other], device, threads, gpu)
    if len(styles) != 2:
        raise StylecastError("--style and --blend must name one style each; a multi-style model's styles are "
                             "MODEL/STYLE (`stylecast models` lists them)")
    mixture = {styles[0]: 1 - share, styles[1]: share}
    return Painter(effects.around(lambda frame: render(frame, mixture)), describe_mix(mixture),
                   styles[0].model.placement)
