"""The README's demo figure: frames of the generated sample clip (top row) above the same frames of the demo's
output (bottom row), so a reader sees what `bash scripts/demo.sh` makes before running it.

    bash scripts/demo.sh && .venv/bin/python scripts/demo_frames.py stylecast-demo.mp4 -o docs/images/demo-frames.jpg

Both clips are decoded with the runtime's own reader (no torch needed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime.cli import positive_int  # noqa: E402
from realtime.errors import run_script  # noqa: E402
from realtime.outputs import check_output_path, write_image  # noqa: E402
from realtime.sample import sample_clip  # noqa: E402
from realtime.video_io import VideoFrame, VideoReader  # noqa: E402


def picked_frames(path: Path, count: int, width: int) -> list[np.ndarray]:
    """``count`` frames spread evenly over the clip (first to last), scaled to ``width`` pixels wide."""
    with VideoReader(path) as reader:
        decoded = [item.image for item in reader.items(with_audio=False) if isinstance(item, VideoFrame)]
    chosen = np.linspace(0, len(decoded) - 1, count).round().astype(int)
    out = []
    for i in chosen:
        image = decoded[i]
        height = round(image.shape[0] * width / image.shape[1])
        out.append(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stylized", type=Path, help="the demo's output (stylecast-demo.mp4)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the picture to write (.jpg or .png)")
    p.add_argument("--frames", type=positive_int, default=3, help="frames per row (default 3)")
    p.add_argument("--width", type=positive_int, default=320, help="width of each frame in pixels (default 320)")
    args = p.parse_args()
    check_output_path(args.output, inputs=[args.stylized])  # before any decoding
    # The demo's output first: a bad one fails before the sample clip is made.
    stylized = np.hstack(picked_frames(args.stylized, args.frames, args.width))
    source = sample_clip()
    original = np.hstack(picked_frames(source, args.frames, args.width))
    write_image(args.output, np.vstack([original, stylized]), inputs=(source, args.stylized))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    run_script("demo_frames", main)
