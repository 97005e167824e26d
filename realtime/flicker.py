"""`stylecast eval --video`: a style's flicker on a clip, raw and stabilised, measured in one run.

Frames are decoded and stylized one at a time, in order, with no pipeline threads: the timings are then the
network's and the stabiliser's own, not mixed with decoding and encoding running alongside. Each frame goes
through the network once and the stabiliser works on that same output, so raw and stabilised figures (and their
speeds) come from the same frames.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .convert import fit
from .stabilizer import Stabilizer
from .temporal import TemporalMeter, TemporalSummary
from .video_io import VideoReader

# Ghosting proxy: after a blur that removes brush-stroke detail (sigma in pixels), where does the stabilised
# picture still differ from the raw one by more than this many grey levels? Trails of moving objects do.
GHOST_SIGMA, GHOST_LEVELS = 3.0, 16.0

# (index, input, raw stylized, stabilised or None): lets a caller keep a few frames, e.g. for a picture strip.
FrameHook = Callable[[int, np.ndarray, np.ndarray, "np.ndarray | None"], None]


@dataclass(frozen=True)
class FlickerReport:
    clip: Path
    size: tuple[int, int]
    frames: int
    raw: TemporalSummary
    stabilized: TemporalSummary | None
    network_seconds: float
    stabilizer_seconds: float
    deviation: float | None    # mean |stabilised - raw| in grey levels (0-255): how far the pictures were changed
    ghost_area: float | None   # mean share of pixels changed at object scale (see GHOST_SIGMA), in [0, 1]

    @property
    def raw_fps(self) -> float:
        return self.frames / self.network_seconds if self.network_seconds else 0.0

    @property
    def stabilized_fps(self) -> float:
        total = self.network_seconds + self.stabilizer_seconds
        return self.frames / total if total else 0.0

    @property
    def fps_cost(self) -> float:
        """Share of the raw frame rate lost to the stabiliser."""
        return 1.0 - self.stabilized_fps / self.raw_fps if self.raw_fps else 0.0


def ghost_area(stabilized: np.ndarray, raw: np.ndarray) -> float:
    """Share of pixels where the stabilised frame differs from the raw one at object scale, not stroke scale."""
    a, b = (cv2.GaussianBlur(x.astype(np.float32), (0, 0), GHOST_SIGMA) for x in (stabilized, raw))
    return float((np.abs(a - b).max(axis=2) > GHOST_LEVELS).mean())


def measure(clip: Path, stylize: Callable[[np.ndarray], np.ndarray], size: tuple[int, int] | None = None,
            frames: int | None = None, stabilizer: Stabilizer | None = None,
            on_frame: FrameHook | None = None) -> FlickerReport:
    """Stylize up to ``frames`` frames of ``clip`` (resized to ``size``) and score their flicker."""
    meter = TemporalMeter(outputs=1 if stabilizer is None else 2)
    network = stab = deviation = ghost = 0.0
    count = 0
    with VideoReader(clip) as reader:
        for item in reader.items(with_audio=False):
            if frames and count >= frames:
                break
            image = fit(item.image, size)
            if count == 0:
                stylize(image)  # warm-up: the first run at a new size pays for ORT's allocations
            start = time.perf_counter()
            raw = stylize(image)
            network += time.perf_counter() - start
            steady = None
            if stabilizer is not None:
                start = time.perf_counter()
                steady = stabilizer(image, raw)
                stab += time.perf_counter() - start
                deviation += float(np.abs(steady.astype(np.float32) - raw.astype(np.float32)).mean())
                ghost += ghost_area(steady, raw)
                meter.feed(image, raw, steady)
            else:
                meter.feed(image, raw)
            if on_frame:
                on_frame(count, image, raw, steady)
            count += 1
    height, width = image.shape[:2]
    if stabilizer is None:
        return FlickerReport(clip, (width, height), count, meter.summary(0), None, network, 0.0, None, None)
    return FlickerReport(clip, (width, height), count, meter.summary(0), meter.summary(1), network, stab,
                         deviation / count, ghost / count)


def _cell(value: float | None, spec: str, width: int = 10) -> str:
    return format("n/a" if value is None else format(value, spec), f">{width}")


def format_report(report: FlickerReport, model_label: str) -> str:
    raw, steady = report.raw, report.stabilized
    cuts = f", {raw.cuts} scene cut(s) skipped" if raw.cuts else ""
    lines = [f"clip {report.clip.name} at {report.size[0]}x{report.size[1]}, {report.frames} frames, {model_label}; "
             f"{raw.pairs} frame pairs scored{cuts}"]
    rows = [("warping error", raw.warping_error, steady and steady.warping_error, ".3g"),
            ("change ratio (out/in)", raw.change_ratio, steady and steady.change_ratio, ".2f"),
            ("fps", report.raw_fps, steady and report.stabilized_fps, ".1f")]
    if steady is None:
        lines += [f"{label:<22} {_cell(a, spec)}" for label, a, _, spec in rows]
    else:
        lines.append(f"{'':<22} {'raw':>10} {'stabilized':>10} {'ratio':>6}")
        for label, a, b, spec in rows:
            ratio = b / a if a and b is not None else None
            lines.append(f"{label:<22} {_cell(a, spec)} {_cell(b, spec)} {_cell(ratio, '.2f', 6)}")
        lines += [f"{'stabilizer cost':<22} {'':>10} {report.fps_cost:>10.1%}  of the network's frame rate",
                  f"{'|stabilized - raw|':<22} {'':>10} {report.deviation:>10.2f}  grey levels (mean); "
                  f"{report.ghost_area:.2%} of pixels differ at object scale (ghosting proxy)"]
    lines += [f"{'input floor':<22} {_cell(raw.input_floor, '.3g')}",
              "warping error: mean squared difference of each stylized frame and the previous one moved by the input's",
              "  optical flow, over non-occluded pixels, intensities in [0, 1]; input floor: the same for the input",
              "change ratio: mean frame-to-frame change of the output over the input's",
              "fps: the network (and the stabilizer) alone, without decoding or measuring"]
    return "\n".join(lines)
