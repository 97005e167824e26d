"""Flicker removal for any style network, after the fact: blend each stylized frame with the previous output,
moved along the input's optical flow.

A feed-forward style network paints each frame on its own, so small input changes (noise, compression, motion)
repaint the strokes differently every frame: flicker. The output at time t is

    out_t = w * warp(out_t-1) + (1 - w) * stylized_t

per pixel, a running average along motion paths. The weight ``w`` is ``strength`` where the previous output can
be trusted to show the same scene point, and falls to 0 where it cannot, which is what stops ghosting (moving
objects leaving trails):
- the flow fails its forward-backward check or points outside the frame (occlusions, frame edges);
- the photometric check fails: the previous INPUT frame, warped by the same flow, does not match the current
  input (a disoccluded background, a wrong match, a lighting change) — ``tolerance`` grey levels to zero weight;
- a scene cut (large mean input change, or little of the frame followed): no blending at all, a fresh start.
Flow is computed with the long side reduced to ``flow_side`` pixels (DIS ultrafast) and upscaled, which keeps the
stabiliser a few percent of a frame's time; the photometric check runs at full size so small movers are caught.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from .errors import StylecastError
from .flow import FlowEstimator, grey

DEFAULT_STRENGTH = 0.8


class Stabilizer:
    """Feed frames in order: ``stabilizer(frame, stylized)`` returns the stabilised stylized frame."""

    def __init__(self, strength: float = DEFAULT_STRENGTH, tolerance: float = 16.0, flow_side: int = 240) -> None:
        if not 0.0 <= strength < 1.0:
            raise StylecastError(f"stabiliser strength must be at least 0 and below 1, not {strength}")
        self.strength = strength
        self.tolerance = tolerance
        self.estimator = FlowEstimator("ultrafast", max_side=flow_side)
        self.cuts = 0
        self._previous: tuple[np.ndarray, np.ndarray] | None = None   # input grey, output

    def reset(self) -> None:
        """Forget the past (a new clip, a style switch): the next frame is passed through unchanged."""
        self._previous = None

    def __call__(self, frame: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        current = grey(frame)
        previous, self._previous = self._previous, (current, stylized)
        if (previous is None or self.strength == 0.0 or previous[0].shape != current.shape
                or previous[1].shape != stylized.shape):
            return stylized
        prev_grey, prev_out = previous
        flow = self.estimator(prev_grey, current)
        if flow.is_cut:
            self.cuts += 1
            return stylized
        mismatch = cv2.absdiff(flow.warp(prev_grey), current).astype(np.float32)
        weight = flow.confidence * np.clip(1.0 - mismatch / self.tolerance, 0.0, 1.0) * self.strength
        out = cv2.blendLinear(flow.warp(prev_out), stylized, weight, 1.0 - weight)
        self._previous = (current, out)
        return out

    def wrap(self, stylize: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        """``stylize`` followed by this stabiliser, as one frame -> frame function (frames must come in order)."""
        return lambda frame: self(frame, stylize(frame))
