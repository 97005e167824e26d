"""`stylecast eval --video`: styles' flicker on a clip, raw and stabilised, measured in one run.

Frames are decoded and stylized one at a time, in order, with no pipeline threads: the timings are then the
networks' and the stabilisers' own, not mixed with decoding and encoding running alongside. Each frame goes
through each network once and its stabiliser works on that same output, so raw and stabilised figures (and their
speeds) come from the same frames; several styles share one decode and one optical flow per frame, so their
figures differ only by the networks and their speeds are measured under the same load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from .convert import fit
from .stabilizer import Stabilizer
from .temporal import TemporalMeter, TemporalSummary
from .video_io import VideoReader

# Ghosting proxy: after a blur that removes brush-stroke detail (sigma in pixels), where does the stabilised
# picture still differ from the raw one by more than this many grey levels? Trails of moving objects do.
GHOST_SIGMA, GHOST_LEVELS = 3.0, 16.0

# (index, input, each style's raw stylized frame, each one stabilised or None): lets a caller keep a few frames,
# e.g. for a picture strip.
FrameHook = Callable[[int, np.ndarray, "list[np.ndarray]", "list[np.ndarray] | None"], None]


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


def measure(clip: Path, stylizers: Sequence[Callable[[np.ndarray], np.ndarray]],
            size: tuple[int, int] | None = None, frames: int | None = None,
            stabilizers: Sequence[Stabilizer] | None = None, on_frame: FrameHook | None = None) -> list[FlickerReport]:
    """Stylize up to ``frames`` frames of ``clip`` (resized to ``size``) with each stylizer and score their flicker.

    ``stabilizers``, when given, holds one per stylizer (each keeps its own style's previous output). Returns one
    report per stylizer, in order."""
    n = len(stylizers)
    if stabilizers is not None and len(stabilizers) != n:
        raise ValueError(f"{len(stabilizers)} stabilizers for {n} stylizers")
    meter = TemporalMeter(outputs=n if stabilizers is None else 2 * n)
    network, stab, deviation, ghost = (np.zeros(n) for _ in range(4))
    count = 0
    with VideoReader(clip) as reader:
        for item in reader.items(with_audio=False):
            if frames and count >= frames:
                break
            image = fit(item.image, size)
            raws, steadies = [], None if stabilizers is None else []
            for k, stylize in enumerate(stylizers):
                if count == 0:
                    stylize(image)  # warm-up: the first run at a new size pays for ORT's allocations
                start = time.perf_counter()
                raw = stylize(image)
                network[k] += time.perf_counter() - start
                raws.append(raw)
                if steadies is not None:
                    start = time.perf_counter()
                    steady = stabilizers[k](image, raw)
                    stab[k] += time.perf_counter() - start
                    steadies.append(steady)
                    deviation[k] += float(np.abs(steady.astype(np.float32) - raw.astype(np.float32)).mean())
                    ghost[k] += ghost_area(steady, raw)
            meter.feed(image, *raws, *(steadies or ()))
            if on_frame:
                on_frame(count, image, raws, steadies)
            count += 1
    height, width = image.shape[:2]
    if stabilizers is None:
        return [FlickerReport(clip, (width, height), count, meter.summary(k), None, float(network[k]), 0.0, None,
                              None) for k in range(n)]
    return [FlickerReport(clip, (width, height), count, meter.summary(k), meter.summary(n + k), float(network[k]),
                          float(stab[k]), float(deviation[k] / count), float(ghost[k] / count)) for k in range(n)]


def _cell(value: float | None, spec: str, width: int = 10) -> str:
    return format("n/a" if value is None else format(value, spec), f">{width}")


def _heading(report: FlickerReport, label: str) -> str:
    cuts = f", {report.raw.cuts} scene cut(s) skipped" if report.raw.cuts else ""
    return (f"clip {report.clip.name} at {report.size[0]}x{report.size[1]}, {report.frames} frames, {label}; "
            f"{report.raw.pairs} frame pairs scored{cuts}")


_LEGEND = ["warping error: mean squared difference of each stylized frame and the previous one moved by the input's",
           "  optical flow, over non-occluded pixels, intensities in [0, 1]; input floor: the same for the input",
           "change ratio: mean frame-to-frame change of the output over the input's"]


def format_report(report: FlickerReport, model_label: str) -> str:
    """One style: its figures, raw and (when measured) stabilised side by side with their ratio."""
    raw, steady = report.raw, report.stabilized
    lines = [_heading(report, model_label)]
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
    lines += [f"{'input floor':<22} {_cell(raw.input_floor, '.3g')}", *_LEGEND,
              "fps: the network (and the stabilizer) alone, without decoding or measuring"]
    return "\n".join(lines)


def format_comparison(reports: Sequence[FlickerReport], labels: Sequence[str], placement: str) -> str:
    """Several styles measured on the same frames: a row per style (and per stabilised style), with each warping
    error as a ratio to the first style's raw one."""
    first = reports[0].raw.warping_error
    rows = [(label, r.raw, r.raw_fps) for label, r in zip(labels, reports, strict=True)]
    rows += [(f"{label}, stabilized", r.stabilized, r.stabilized_fps)
             for label, r in zip(labels, reports, strict=True) if r.stabilized is not None]
    width = max(22, *(len(label) for label, _, _ in rows))
    lines = [_heading(reports[0], f"{len(reports)} styles on {placement}"),
             f"{'':<{width}} {'warping error':>13} {'vs first':>8} {'change ratio':>12} {'fps':>7}"]
    for label, summary, fps in rows:
        ratio = summary.warping_error / first if first else None
        lines.append(f"{label:<{width}} {_cell(summary.warping_error, '.3g', 13)} {_cell(ratio, '.2f', 8)} "
                     f"{_cell(summary.change_ratio, '.2f', 12)} {_cell(fps, '.1f', 7)}")
    lines += [f"{'input floor':<{width}} {_cell(reports[0].raw.input_floor, '.3g', 13)}", *_LEGEND,
              "vs first: the warping error over the first style's raw one",
              "fps: each network (and its stabilizer) alone, the styles taking turns on every frame"]
    return "\n".join(lines)
