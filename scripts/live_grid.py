"""The live-window picture of models/README.md: `stylecast webcam` on the sample clip with its default styles
(each painting once, in its real-time tier), switched to the grid view, shot from a private Xvfb display.

    .venv/bin/python scripts/live_grid.py -o docs/images/live-grid.jpg

The window is left to settle for ``--settle`` seconds in the grid view before the shot, so the frame rate in its
overlay is a steady one; the run's average frame rate is printed too (put both in the caption). Needs Xvfb,
xdotool and imagemagick, as the live-window tests do.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime.errors import StylecastError, run_script  # noqa: E402
from realtime.outputs import check_output_path, write_image  # noqa: E402
from realtime.sample import sample_clip  # noqa: E402
from tests.headless import (MISSING_TOOLS, WHY_MISSING, Live, capture, display_env, find_window,  # noqa: E402
                            press, virtual_display)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds in the grid view before the shot")
    args = parser.parse_args()
    check_output_path(args.output)  # before minutes of painting, not after
    if MISSING_TOOLS:
        raise StylecastError(WHY_MISSING)
    with virtual_display() as display, tempfile.TemporaryDirectory() as tmp:
        if display is None:
            raise StylecastError("Xvfb did not start")
        env = display_env(dict(os.environ), display)
        with Live(env, ["--source", str(sample_clip()), "--loop"]) as live:
            try:
                average = grid_shot(env, live, Path(tmp) / "live.png", args.settle)
            except AssertionError as exc:  # a line the window should have printed never came
                raise StylecastError(f"the live window: {str(exc).splitlines()[0][:300]}") from None
        write_image(args.output, cv2.imread(str(Path(tmp) / "live.png")), jpeg_quality=85)
    print(f"wrote {args.output}; the whole run: {average}")
    return 0


def grid_shot(env: dict[str, str], live: Live, shot: Path, settle: float) -> str:
    """Switch the running window to its grid, shoot it after ``settle`` seconds, quit; the run's summary line."""
    live.wait_for("style: ", timeout=120)
    window = find_window(env)
    press(env, window, "g")
    live.wait_for("grid: on")
    time.sleep(settle)
    if not capture(env, window, shot, tries=3):
        raise StylecastError("the live window stayed black on the virtual display")
    press(env, window, "q")
    live.proc.wait(timeout=60)
    return live.wait_for("shown ")


if __name__ == "__main__":
    run_script("live_grid", main)
