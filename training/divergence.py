"""Noticing that a run has diverged, before it overwrites its good checkpoints.

Perceptual training can blow up late: the six-painting model's loss sat near 3 for 2900 steps, then went to
10^3-10^6 within 30 steps (batch 2, bf16, lr 1e-3) and never came back. Adam keeps stepping, the checkpoints
saved after that point are worthless, and with three checkpoints kept the good ones are rotated away within
600 steps. A finite-loss check cannot see it (the losses stay finite); a jump against the run's own recent
level can. The guard compares the median of the last ``window`` losses with the median of the ``history``
before them: medians, so single hard batches (a near-flat crop) do not trigger it.

A run can also collapse without blowing up. Session 26's Composition VII, continued at 3e-4 in bf16 with dilated
blocks, began painting flat pictures at step ~26636: its loss spiked for a few steps, then settled 2.7x above its
level, and every later checkpoint was of the flat network. The guard's threshold was 10x then, and the 20-step
median peaked at 7.8x, so it ran on. Healthy runs stay well below 2x (1.3x at most for its undilated twin at the
same rate, noisy as it was), so 2x is the threshold now: twice the run's own level, for half a window, is not
training.
"""

from __future__ import annotations

import statistics
from collections import deque


class DivergenceGuard:
    def __init__(self, window: int = 20, history: int = 200, factor: float = 2.0) -> None:
        self.window = window
        self.history = history
        self.factor = factor
        self._recent: deque[float] = deque(maxlen=window)
        self._before: deque[float] = deque(maxlen=history)

    def diverged(self, loss: float) -> float | None:
        """Record one step's loss; the jump ratio when the recent level is ``factor`` times the earlier one."""
        if len(self._recent) == self.window:
            self._before.append(self._recent[0])
        self._recent.append(loss)
        if len(self._before) < self.history // 2:
            return None  # too little history to know the run's level
        ratio = statistics.median(self._recent) / max(statistics.median(self._before), 1e-12)
        return ratio if ratio > self.factor else None
