"""Flicker as numbers: how much a stylized video changes beyond what the input's motion explains.

Feed (input frame, stylized frame...) in order to a ``TemporalMeter``; it keeps only the previous frames, so it
runs inside a video pipeline at constant memory. Per consecutive pair it computes:

- **warping error** (Lai et al. 2018, "Learning Blind Video Temporal Consistency"): the previous stylized frame is
  warped to the current one by the optical flow of the INPUT frames, and the mean squared difference is taken
  over the pixels the flow can be trusted for (consistent forward/backward, inside the frame). Intensities are
  scaled to [0, 1], so 0.001 is an RMS difference of about 8 grey levels. A perfectly stable stylization of a
  scene whose motion the flow explains scores the same as the input itself:
- **input floor**: the same warping error of the input frames; what the flow (interpolation, lighting, noise)
  leaves unexplained even without any stylization.
- **change ratio**: mean |output_t - output_t-1| over mean |input_t - input_t-1| (all pixels, no flow): how much
  the stylization amplifies frame-to-frame change. Undefined (None) when the input does not change.

Several stylizations of the same input (raw and stabilised) can be scored in one pass: the flow, the expensive
part, is computed once. Pairs across a scene cut are skipped and counted: no flow relates them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .flow import FlowEstimator, grey


@dataclass(frozen=True)
class TemporalSummary:
    pairs: int                 # consecutive frame pairs scored
    cuts: int                  # pairs skipped as scene cuts
    warping_error: float       # mean over pairs of the masked MSE, intensities in [0, 1]
    input_floor: float         # the same for the input frames
    output_change: float       # mean |output_t - output_t-1|, intensities in [0, 1]
    input_change: float        # mean |input_t - input_t-1|, intensities in [0, 1]

    @property
    def change_ratio(self) -> float | None:
        return self.output_change / self.input_change if self.input_change > 0 else None


def masked_mse(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared difference of two uint8 images over the mask's pixels, intensities scaled to [0, 1]."""
    d = (a.astype(np.float32) - b.astype(np.float32)).reshape(mask.shape + (-1,))[mask]
    return float(np.mean(d * d)) / 255.0 ** 2 if d.size else 0.0


def mean_change(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.float32) - b.astype(np.float32)))) / 255.0


class TemporalMeter:
    """Streaming flicker metric for ``outputs`` stylizations of one input sequence."""

    def __init__(self, outputs: int = 1) -> None:
        self.estimator = FlowEstimator("medium")  # full resolution: accuracy over speed
        self.outputs = outputs
        self._previous: tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]] | None = None
        self._pairs = self._cuts = 0
        self._input = np.zeros(2)                 # floor, change
        self._output = np.zeros((outputs, 2))     # warping error, change

    def feed(self, frame: np.ndarray, *stylized: np.ndarray) -> None:
        """Add the next input frame and its stylization(s). A change of frame size starts a new sequence."""
        if len(stylized) != self.outputs:
            raise ValueError(f"expected {self.outputs} stylized frame(s), got {len(stylized)}")
        current = grey(frame)
        previous, self._previous = self._previous, (frame, current, stylized)
        if previous is None or previous[1].shape != current.shape:
            return
        prev_frame, prev_grey, prev_stylized = previous
        flow = self.estimator(prev_grey, current)
        if flow.is_cut:
            self._cuts += 1
            return
        mask = flow.confidence > 0.5
        self._pairs += 1
        self._input += (masked_mse(frame, flow.warp(prev_frame), mask), mean_change(frame, prev_frame))
        for i, (out, prev_out) in enumerate(zip(stylized, prev_stylized, strict=True)):
            self._output[i] += (masked_mse(out, flow.warp(prev_out), mask), mean_change(out, prev_out))

    def summary(self, output: int = 0) -> TemporalSummary:
        n = max(self._pairs, 1)
        floor, in_change = self._input / n
        error, out_change = self._output[output] / n
        return TemporalSummary(self._pairs, self._cuts, float(error), float(floor), float(out_change),
                               float(in_change))
