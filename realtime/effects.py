"""Pixel effects: strength, original colours, stroke scale (the live window's keys and the same options for files)
and the live window's comparison layouts.

Pure functions on HxWx3 uint8 BGR frames, so they are tested on pixels without a window or a model. Each one is
a handful of vectorised OpenCV calls (no per-pixel Python): the live loop applies them to every frame and they
must cost a small fraction of the network's time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

Frame = np.ndarray
DIVIDER = (255, 255, 255)


def mix(a: Frame, b: Frame, weight_b: float) -> Frame:
    """``(1 - w) * a + w * b``, rounded; the end points return the operand itself (bit-exact, and free)."""
    if weight_b <= 0:
        return a
    if weight_b >= 1:
        return b
    return cv2.addWeighted(a, 1.0 - weight_b, b, weight_b, 0.0)


def apply_strength(stylized: Frame, original: Frame, strength: float) -> Frame:
    """How much of the painting to show: 0 is the camera frame, 1 the network's output."""
    return mix(original, stylized, strength)


def preserve_colour(stylized: Frame, original: Frame) -> Frame:
    """Luminance transfer: the stylized image's brightness (Y of YCrCb) with the original's chroma (Cr, Cb), so the
    strokes and texture of the painting keep the scene's own colours."""
    luma = cv2.cvtColor(stylized, cv2.COLOR_BGR2YCrCb)
    out = cv2.cvtColor(original, cv2.COLOR_BGR2YCrCb)
    out[..., 0] = luma[..., 0]
    return cv2.cvtColor(out, cv2.COLOR_YCrCb2BGR)


def run_at_scale(run: Callable[[Frame], Frame], frame: Frame, scale: float) -> Frame:
    """Run the network on the frame shrunk by ``scale`` and enlarge the result back: a network paints strokes of a
    fixed size in pixels, so a smaller input gives coarser strokes relative to the picture (scale > 1), a larger
    one finer strokes (scale < 1)."""
    if scale == 1:
        return run(frame)
    h, w = frame.shape[:2]
    size = (max(1, round(w / scale)), max(1, round(h / scale)))
    shrink = cv2.INTER_AREA if scale > 1 else cv2.INTER_LINEAR
    out = run(cv2.resize(frame, size, interpolation=shrink))
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)


def paint(run: Callable[[Frame], Frame], frame: Frame, strength: float = 1.0, keep_colour: bool = False,
          stroke_scale: float = 1.0) -> Frame:
    """``frame`` painted by ``run`` with the effects, in the one order both the live window and file conversions
    use, so a look found live renders the same into a file: strokes at ``stroke_scale``, then the original colours
    (``keep_colour``), then ``strength`` (0-1) of the painting over the original. Strength 0 skips the network."""
    if strength <= 0:
        return frame
    out = run_at_scale(run, frame, stroke_scale)
    if keep_colour:
        out = preserve_colour(out, frame)
    return apply_strength(out, frame, strength)


@dataclass(frozen=True)
class Effects:
    """Effect settings fixed for a whole file (the live window changes its own as keys are pressed)."""

    strength: float = 1.0        # 0-1
    keep_colour: bool = False
    stroke_scale: float = 1.0

    def around(self, run: Callable[[Frame], Frame]) -> Callable[[Frame], Frame]:
        """``run`` with these effects; ``run`` itself, bit-exact and free, when there are none."""
        if self == Effects():
            return run
        return lambda frame: paint(run, frame, self.strength, self.keep_colour, self.stroke_scale)


def compose_split(original: Frame, stylized: Frame) -> Frame:
    """Left half the original, right half the stylized frame, with a one-pixel divider."""
    out = stylized.copy()
    half = original.shape[1] // 2
    out[:, :half] = original[:, :half]
    out[:, half] = DIVIDER
    return out


def compose_side_by_side(original: Frame, stylized: Frame, max_width: int = 1920) -> Frame:
    """Original and stylized next to each other at full size, shrunk only if wider than a screen."""
    out = cv2.hconcat([original, stylized])
    if out.shape[1] > max_width:
        factor = max_width / out.shape[1]
        out = cv2.resize(out, (max_width, max(1, round(out.shape[0] * factor))), interpolation=cv2.INTER_AREA)
    return out


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, columns) of the smallest near-square grid that holds ``count`` tiles."""
    cols = max(1, math.ceil(math.sqrt(count)))
    return math.ceil(count / cols), cols


def grid_cells(count: int, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of each tile of a ``count``-tile grid filling a ``width`` x ``height`` canvas."""
    rows, cols = grid_shape(count)
    xs = [width * c // cols for c in range(cols + 1)]
    ys = [height * r // rows for r in range(rows + 1)]
    return [(xs[i % cols], ys[i // cols], xs[i % cols + 1] - xs[i % cols], ys[i // cols + 1] - ys[i // cols])
            for i in range(count)]


def compose_grid(tiles: list[Frame], width: int, height: int) -> Frame:
    """Tiles (each already the size of its cell, see :func:`grid_cells`) on a black canvas of the frame's size."""
    out = np.zeros((height, width, 3), np.uint8)
    for tile, (x, y, w, h) in zip(tiles, grid_cells(len(tiles), width, height), strict=True):
        out[y:y + h, x:x + w] = tile
    return out


def letterbox(image: Frame, width: int, height: int) -> Frame:
    """Fit ``image`` inside ``width`` x ``height`` keeping its aspect ratio, black bars around it: a recording or
    a virtual camera has one fixed size, while the window's layout may change size mid-stream."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    factor = min(width / w, height / h)
    fw, fh = max(1, round(w * factor)), max(1, round(h * factor))
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - fw) // 2, (height - fh) // 2
    out[y:y + fh, x:x + fw] = cv2.resize(image, (fw, fh), interpolation=cv2.INTER_AREA)
    return out
