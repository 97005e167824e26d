"""Fixed-shape buckets: frames of changing size reach a GPU as a handful of shapes, each tuned once.

cuDNN's EXHAUSTIVE search benchmarks every convolution algorithm for each new input shape, and TensorRT builds a
new engine (seconds to minutes) when a shape falls outside the one it built for. The network's input size changes
in the live window (stroke scale, grid view, a source that reconnects at another resolution), so each side is
rounded up to a multiple of ``step`` with edge (replicate) padding on the bottom/right, and the output is cropped
back to the frame's size. The few bucket shapes are tuned once per process, and TensorRT's engine cache keeps
them across runs.

The cost: up to ``step - 1`` extra rows and columns of work, and a small colour shift, because instance
normalisation takes its statistics over the padded picture too. Measured on the CPU with the shipped real-time
models on the sample clip's landscape (mean difference against the unpadded run, 0-255 levels; session 5's
more textured models): with a step of 32, 1.6-2.5 levels at 480x270 and 470x360 and 4.7-5.6 at 200x150; with
64, 3.4-5.3 and 10-11.5. Reflect padding instead of edge padding measured within 0.3 levels of it. Hence a step
of 32. Buckets are on by default only under TensorRT: on the CPU there is nothing to tune, and under CUDA with the
heuristic search a new shape costs little while the padding cost 15-22% at 720p and 1080p on an H200
(docs/PERFORMANCE.md).
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from .errors import StylecastError

DEFAULT_STEP = 32
MAX_STEP = 1024


def check_step(step: int) -> int:
    """A bucket step is 0 (off) or 1..MAX_STEP pixels; anything else is a user error."""
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
        raise StylecastError(f"bucket step must be a whole number of pixels from 0 (off) to {MAX_STEP}, not {step!r}")
    return step


def bucket_size(height: int, width: int, step: int) -> tuple[int, int]:
    """(height, width) rounded up to multiples of ``step``; unchanged when ``step`` is 0."""
    if step <= 0:
        return height, width
    return -(-height // step) * step, -(-width // step) * step


def run_in_bucket(run: Callable[[np.ndarray], np.ndarray], frame: np.ndarray, step: int) -> np.ndarray:
    """``run`` on ``frame`` edge-padded to its bucket, cropped back to exactly the frame's height and width."""
    height, width = frame.shape[:2]
    padded_height, padded_width = bucket_size(height, width, step)
    if (padded_height, padded_width) == (height, width):
        return run(frame)
    padded = cv2.copyMakeBorder(frame, 0, padded_height - height, 0, padded_width - width, cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(run(padded)[:height, :width])
