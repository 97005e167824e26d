"""Dense optical flow between consecutive input frames, and where it can be trusted.

Both the flicker metric (temporal.py) and the stabiliser (stabilizer.py) ask the same question: for each pixel
of the current frame, where was it in the previous frame, and is that answer reliable? Flow is computed on the
INPUT frames (the stylized ones flicker, which is what we measure), with OpenCV's DIS (fast, no model to ship).
It is the backward flow current -> previous, so ``cv2.remap`` can pull the previous frame's pixels into place.

Pixels are untrusted where the forward-backward check fails (occlusions, disocclusions, bad matches; Sundaram et
al. 2010 thresholds) or where the flow points outside the previous frame. The estimator can work at a reduced
resolution and upscale its answer: the stabiliser must cost a small fraction of a frame, the metric need not.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
           "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
# Forward-backward consistency: |b + f(x + b)|^2 <= ALPHA (|b|^2 + |f(x + b)|^2) + BETA (pixels at flow scale).
ALPHA, BETA = 0.01, 0.5
# A scene cut: the input changes a lot on average, or too little of the frame can be followed (0-255 grey levels).
CUT_CHANGE, CUT_CONFIDENCE = 40.0, 0.3
# DIS refuses frames under 12 px and crashes (OpenCV 5.0, segfault) on thin ones such as 24x400: flow is computed
# with each side at least this long (a thin or tiny frame is stretched, each axis on its own, then scaled back).
MIN_SIDE = 32


def grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


@dataclass(frozen=True)
class Flow:
    """Backward flow from the current frame to the previous one, at full frame size."""

    map_x: np.ndarray        # HxW float32: the current pixel (y, x) was at (map_y, map_x) in the previous frame
    map_y: np.ndarray
    confidence: np.ndarray   # HxW float32 in [0, 1]: 1 where consistent and inside the previous frame
    change: float            # mean |current - previous| grey level (0-255), at the flow's resolution

    def warp(self, previous: np.ndarray) -> np.ndarray:
        """The previous frame (or anything aligned with it) moved into the current frame's place."""
        return cv2.remap(previous, self.map_x, self.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    @property
    def trusted_fraction(self) -> float:
        return float(self.confidence.mean())

    @property
    def is_cut(self) -> bool:
        """Consecutive frames from different shots: nothing in the previous frame predicts the current one."""
        return self.change > CUT_CHANGE or self.trusted_fraction < CUT_CONFIDENCE


class FlowEstimator:
    """DIS flow on greyscale frames, optionally computed with the long side reduced to ``max_side`` pixels."""

    def __init__(self, preset: str = "medium", max_side: int | None = None) -> None:
        self.dis = cv2.DISOpticalFlow_create(PRESETS[preset])
        self.max_side = max_side
        self._grids: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def _grid(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        if (height, width) not in self._grids:
            self._grids[(height, width)] = (np.tile(np.arange(width, dtype=np.float32), (height, 1)),
                                            np.tile(np.arange(height, dtype=np.float32)[:, None], (1, width)))
        return self._grids[(height, width)]

    def _flow_size(self, height: int, width: int) -> tuple[int, int]:
        """(width, height) to compute the flow at."""
        scale = min(1.0, self.max_side / max(height, width)) if self.max_side else 1.0
        return max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale))

    def __call__(self, previous: np.ndarray, current: np.ndarray) -> Flow:
        """Flow between two greyscale uint8 frames of the same size."""
        h, w = current.shape
        ws, hs = self._flow_size(h, w)
        prev_s, cur_s = previous, current
        if (hs, ws) != (h, w):
            prev_s, cur_s = (cv2.resize(x, (ws, hs), interpolation=cv2.INTER_AREA) for x in (previous, current))
        backward = self.dis.calc(cur_s, prev_s, None)
        forward = self.dis.calc(prev_s, cur_s, None)
        bx, by = cv2.split(backward)  # separate planes: numpy is several times faster on contiguous arrays
        gx, gy = self._grid(hs, ws)
        fx, fy = cv2.split(cv2.remap(forward, gx + bx, gy + by, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
        mismatch = (bx + fx) ** 2 + (by + fy) ** 2
        bound = ALPHA * (bx * bx + by * by + fx * fx + fy * fy) + BETA
        consistent = (mismatch <= bound).astype(np.float32)
        change = float(cv2.absdiff(prev_s, cur_s).mean())
        if (hs, ws) != (h, w):
            bx = cv2.resize(bx, (w, h), interpolation=cv2.INTER_LINEAR) * (w / ws)
            by = cv2.resize(by, (w, h), interpolation=cv2.INTER_LINEAR) * (h / hs)
            consistent = cv2.resize(consistent, (w, h), interpolation=cv2.INTER_LINEAR)
        gx, gy = self._grid(h, w)
        map_x, map_y = gx + bx, gy + by
        inside = cv2.inRange(map_x, 0, w - 1) & cv2.inRange(map_y, 0, h - 1)  # 255 inside the previous frame
        consistent[inside == 0] = 0
        return Flow(map_x, map_y, consistent, change)
