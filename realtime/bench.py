"""`stylecast bench`: where the time goes, per stage, on this machine; and side-by-side comparisons.

Runs the real conversion pipeline (PyAV decode -> ONNX Runtime -> libx264 encode to a scratch file) on a clip
at each requested size and reports each stage's busy time per frame and the end-to-end frame rate. Because the
stages run concurrently, end-to-end fps is set by the slowest stage, not by the sum.

``--compare`` runs several stylizers (stylecast's fast and quality tiers, a peer tool when installed) through the
same pipeline in interleaved rounds and reports each one's speed as a ratio to the first, taken round by round:
on a shared, noisy machine a ratio measured side by side survives where absolute figures do not.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .convert import convert_video
from .engine import StyleModel
from .peers import Stylizer
from .pipeline import RunStats
from .video_io import VideoReader


@dataclass(frozen=True)
class BenchResult:
    size: tuple[int, int]
    stats: RunStats


@dataclass(frozen=True)
class Contestant:
    label: str
    stylize: Stylizer
    detail: str = ""


def _timed_run(clip: Path, out: Path, stylize: Stylizer, size: tuple[int, int] | None, frames: int,
               warmup: int) -> RunStats:
    # A warm-up conversion first, then the timed one: the first runs at a new shape pay for ORT's allocations and
    # kernel choice.
    for count in (warmup, frames):
        with VideoReader(clip) as reader:
            stats = convert_video(reader, out, stylize, size=size, progress=False, frames=count, with_audio=False)
    return stats


def run_bench(clip: Path, model: StyleModel, sizes: list[tuple[int, int]], frames: int,
              warmup: int = 2) -> list[BenchResult]:
    with tempfile.TemporaryDirectory(prefix="stylecast-bench-") as scratch:
        return [BenchResult(size, _timed_run(clip, Path(scratch) / "bench.mp4", model.run, size, frames, warmup))
                for size in sizes]


def _stage_ms(stats: RunStats, name: str) -> float:
    return next(s.ms_per_item for s in stats.stages if s.name == name)


def format_results(results: list[BenchResult], model: StyleModel, clip: Path) -> str:
    lines = [f"model {model.name} ({model.path.name}), device {model.placement}, clip {clip.name}",
             f"{'size':>10} {'frames':>6} {'decode ms':>10} {'infer ms':>9} {'encode ms':>10} {'end-to-end fps':>15}"]
    for r in results:
        size = f"{r.size[0]}x{r.size[1]}"
        lines.append(f"{size:>10} {r.stats.frames:>6} {_stage_ms(r.stats, 'decode'):>10.1f} "
                     f"{_stage_ms(r.stats, 'inference'):>9.1f} {_stage_ms(r.stats, 'encode'):>10.1f} "
                     f"{r.stats.fps:>15.1f}")
    return "\n".join(lines)


@dataclass(frozen=True)
class CompareRow:
    contestant: Contestant
    fps: float              # median end-to-end fps over the rounds
    infer_ms: float         # median inference busy time per frame
    ratio: float            # median over rounds of (this fps / first contestant's fps in the same round)


def compare(clip: Path, contestants: list[Contestant], size: tuple[int, int] | None, frames: int,
            rounds: int = 3, warmup: int = 2) -> list[CompareRow]:
    runs: dict[str, list[RunStats]] = {c.label: [] for c in contestants}
    with tempfile.TemporaryDirectory(prefix="stylecast-bench-") as scratch:
        for _ in range(rounds):
            for c in contestants:
                runs[c.label].append(_timed_run(clip, Path(scratch) / "bench.mp4", c.stylize, size, frames, warmup))
    base = runs[contestants[0].label]
    rows = []
    for c in contestants:
        mine = runs[c.label]
        rows.append(CompareRow(
            contestant=c,
            fps=statistics.median(s.fps for s in mine),
            infer_ms=statistics.median(_stage_ms(s, "inference") for s in mine),
            ratio=statistics.median(m.fps / b.fps for m, b in zip(mine, base, strict=True) if b.fps),
        ))
    return rows


def format_compare(rows: list[CompareRow], clip: Path, size: tuple[int, int] | None, frames: int,
                   rounds: int) -> str:
    where = f"{size[0]}x{size[1]}" if size else "native size"
    lines = [f"clip {clip.name} at {where}, {frames} frames x {rounds} interleaved rounds; ratio = end-to-end fps "
             f"relative to {rows[0].contestant.label}, median of per-round ratios"]
    width = max(28, *(len(r.contestant.label) for r in rows))
    lines.append(f"{'contestant':<{width}} {'infer ms':>9} {'end-to-end fps':>15} {'ratio':>7}  detail")
    for r in rows:
        lines.append(f"{r.contestant.label:<{width}} {r.infer_ms:>9.1f} {r.fps:>15.1f} {r.ratio:>7.2f}  "
                     f"{r.contestant.detail}")
    return "\n".join(lines)
