"""Flicker benchmark: a style model on the test clips, with and without the stabiliser, measured in one run.

For each clip (the shared test clips that are present, and the bundled sample) every frame goes through the
network once and the stabiliser once (realtime.flicker.measure), so the warping errors, change ratios and
frame rates of the raw and stabilised outputs come from the same frames. Prints one table and writes a picture
strip of a few consecutive frames (rows: input, raw, stabilised, |stabilised - raw| x4) for looking at ghosting.

    .venv/bin/python scripts/bench_temporal.py --size 180 --strip docs/images/flicker-strip.jpg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from realtime import catalog  # noqa: E402
from realtime.cli import parse_size, positive_int, resolve_size  # noqa: E402
from realtime.loader import load_model  # noqa: E402
from realtime.errors import run_script  # noqa: E402
from realtime.outputs import check_output_path, write_image  # noqa: E402
from realtime.flicker import FlickerReport, measure  # noqa: E402
from realtime.sample import sample_clip  # noqa: E402
from realtime.stabilizer import DEFAULT_STRENGTH, Stabilizer  # noqa: E402
from realtime.video_io import VideoReader  # noqa: E402

SHARED_CLIPS = ["fox_640x640.mp4", "opencv_tutorial_box_640x480.mp4", "opencv_tutorial_cup_640x480.mp4",
                "cutBunny.mp4"]
STRIP_FRAMES = 4


def clips(wanted: list[str] | None) -> list[Path]:
    """The shared clips that are present and the bundled sample; only those whose names contain a ``wanted``."""
    folder = REPO.parent / "shared" / "assets" / "videos"
    for name in SHARED_CLIPS:
        if not (folder / name).is_file():
            print(f"skipped {name}: not in {folder}", file=sys.stderr)
    found = [folder / name for name in SHARED_CLIPS if (folder / name).is_file()] + [sample_clip()]
    return [c for c in found if not wanted or any(w in c.name for w in wanted)]


class StripCollector:
    """Keeps ``STRIP_FRAMES`` consecutive frames from ``start`` on, as rows of a picture."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.rows: list[list[np.ndarray]] = [[], [], [], []]

    def __call__(self, index: int, frame: np.ndarray, raws: list[np.ndarray],
                 steadies: list[np.ndarray] | None) -> None:
        if self.start <= index < self.start + STRIP_FRAMES and steadies is not None:
            raw, steady = raws[0], steadies[0]
            diff = np.clip(np.abs(steady.astype(np.int16) - raw.astype(np.int16)) * 4, 0, 255).astype(np.uint8)
            for row, image in zip(self.rows, (frame, raw, steady, diff), strict=True):
                row.append(image)

    def picture(self) -> np.ndarray:
        gap = 4
        rows = []
        for row in self.rows:
            cells = []
            for image in row:
                cells += [image, np.full((image.shape[0], gap, 3), 255, np.uint8)]
            rows += [np.hstack(cells[:-1]), np.full((gap, sum(c.shape[1] for c in cells[:-1]), 3), 255, np.uint8)]
        return np.vstack(rows[:-1])


def table(rows: list[FlickerReport]) -> str:
    head = (f"{'clip':<34} {'size':>8} {'frames':>6} {'warp raw':>9} {'warp stab':>9} {'ratio':>6} {'floor':>8} "
            f"{'chg raw':>7} {'chg stab':>8} {'fps raw':>7} {'fps stab':>8} {'cost':>6} {'cuts':>4} {'|s-r|':>6} "
            f"{'ghost':>6}")
    lines = [head]
    for r in rows:
        raw, steady = r.raw, r.stabilized
        lines.append(f"{r.clip.name:<34} {r.size[0]:>4}x{r.size[1]:<3} {r.frames:>6} {raw.warping_error:>9.5f} "
                     f"{steady.warping_error:>9.5f} {steady.warping_error / raw.warping_error:>6.2f} "
                     f"{raw.input_floor:>8.5f} {raw.change_ratio or 0:>7.2f} {steady.change_ratio or 0:>8.2f} "
                     f"{r.raw_fps:>7.1f} {r.stabilized_fps:>8.1f} {r.fps_cost:>6.1%} {raw.cuts:>4} "
                     f"{r.deviation:>6.2f} {r.ghost_area:>6.2%}")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--style", help="style name or .onnx path (default: the default style)")
    p.add_argument("--size", type=parse_size, default=parse_size("180"), help="WIDTHxHEIGHT or HEIGHT (default 180)")
    p.add_argument("--frames", type=positive_int, help="frames per clip (default: all)")
    p.add_argument("--clips", help="comma-separated parts of clip names to run (default: all clips)")
    p.add_argument("--strength", type=float, default=DEFAULT_STRENGTH)
    p.add_argument("--threads", type=positive_int)
    p.add_argument("--strip", type=Path, help="write the picture strip here (.png)")
    p.add_argument("--strip-clip", default="fox_640x640.mp4", help="clip file name for the strip")
    p.add_argument("--strip-start", type=int, default=126, help="first frame of the strip (default: the fox's "
                                                                     "fastest motion)")
    args = p.parse_args()
    if args.strip:
        check_output_path(args.strip)  # before minutes of measuring, not after
    model = load_model(args.style or catalog.default_style(), "cpu", args.threads)
    print(f"model {model.path.name} on {model.placement}; warping error = masked MSE, intensities in [0, 1]; "
          f"stabilizer strength {args.strength}")
    reports = []
    strip = None
    for clip in clips(args.clips.split(",") if args.clips else None):
        with VideoReader(clip) as reader:
            size = resolve_size(args.size, reader.info.width, reader.info.height)
        collector = StripCollector(args.strip_start) if clip.name == args.strip_clip else None
        reports += measure(clip, [model.run], size, args.frames, [Stabilizer(args.strength)], on_frame=collector)
        strip = strip if collector is None else collector
        print(table(reports[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(reports))
    if args.strip and strip is not None and strip.rows[0]:
        write_image(args.strip, strip.picture())
        print(f"wrote {args.strip} ({args.strip_clip}, frames {args.strip_start}-{args.strip_start + STRIP_FRAMES - 1}"
              f"; rows: input, raw, stabilized, |stabilized - raw| x4)")
    return 0


if __name__ == "__main__":
    run_script("bench_temporal", main)
