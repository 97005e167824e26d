"""`stylecast bench`: where the time goes, per stage, on this machine.

Runs the real conversion pipeline (PyAV decode -> ONNX Runtime -> libx264 encode to a scratch file) on a clip
at each requested size and reports each stage's busy time per frame and the end-to-end frame rate. Because the
stages run concurrently, end-to-end fps is set by the slowest stage, not by the sum.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from .convert import convert_video
from .engine import StyleModel
from .pipeline import RunStats


@dataclass(frozen=True)
class BenchResult:
    size: tuple[int, int]
    stats: RunStats


def run_bench(clip: Path, model: StyleModel, sizes: list[tuple[int, int]], frames: int,
              warmup: int = 2) -> list[BenchResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="stylecast-bench-") as scratch:
        for size in sizes:
            out = Path(scratch) / "bench.mp4"
            # Warm-up: the first runs at a new shape pay for ORT's allocations and kernel choice.
            convert_video(clip, out, model.run, size=size, progress=False, frames=warmup, with_audio=False)
            stats = convert_video(clip, out, model.run, size=size, progress=False, frames=frames, with_audio=False)
            results.append(BenchResult(size, stats))
    return results


def format_results(results: list[BenchResult], model: StyleModel, clip: Path) -> str:
    lines = [f"model {model.name} ({model.path.name}), device {model.placement}, clip {clip.name}",
             f"{'size':>10} {'frames':>6} {'decode ms':>10} {'infer ms':>9} {'encode ms':>10} {'end-to-end fps':>15}"]
    for r in results:
        by_name = {s.name: s for s in r.stats.stages}
        size = f"{r.size[0]}x{r.size[1]}"
        lines.append(f"{size:>10} {r.stats.frames:>6} {by_name['decode'].ms_per_item:>10.1f} "
                     f"{by_name['inference'].ms_per_item:>9.1f} {by_name['encode'].ms_per_item:>10.1f} "
                     f"{r.stats.fps:>15.1f}")
    return "\n".join(lines)
