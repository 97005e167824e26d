"""What HDR input costs the decoder: the same frames as SDR, HLG and PQ clips, decoded by `VideoReader` (with
its tone mapping for the HDR ones), in interleaved rounds; each HDR decode as a ratio to the SDR one measured in
the same round.

    .venv/bin/python scripts/bench_hdr.py --size 1920x1080 --frames 24 --rounds 3

The clips are made from the generated sample clip's frames with the test suite's HDR encoder (forward formulas
from the standards), in a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from realtime.cli import parse_size, positive_int  # noqa: E402
from realtime.errors import run_script  # noqa: E402
from realtime.sample import frames as sample_frames  # noqa: E402
from realtime.video_io import VideoFrame, VideoReader  # noqa: E402
from tests.media_factory import encoded_clip, hdr_video, sdr_as_hdr  # noqa: E402


def decode_ms(path: Path) -> float:
    """Milliseconds per frame to decode ``path`` to the BGR frames the network gets."""
    started, count = time.perf_counter(), 0
    with VideoReader(path) as reader:
        for item in reader.items(with_audio=False):
            count += isinstance(item, VideoFrame)
    return (time.perf_counter() - started) * 1000 / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=(1920, 1080), help="frame size (default 1920x1080)")
    parser.add_argument("--frames", type=positive_int, default=24, help="frames per clip (default 24)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="interleaved rounds (default 3)")
    args = parser.parse_args()
    pictures = [cv2.resize(image, args.size, interpolation=cv2.INTER_CUBIC)
                for image in sample_frames()[:args.frames]]
    with tempfile.TemporaryDirectory(prefix="stylecast-hdr-bench-") as scratch:
        clips = {"SDR": encoded_clip(Path(scratch) / "sdr.mp4", pictures, lambda stream: None)}
        for transfer in ("HLG", "PQ"):
            clips[transfer] = hdr_video(Path(scratch) / f"{transfer}.mp4",
                                        [sdr_as_hdr(image, transfer) for image in pictures], transfer,
                                        lossless=False)
        times: dict[str, list[float]] = {name: [] for name in clips}
        for _ in range(args.rounds):
            for name, clip in clips.items():
                times[name].append(decode_ms(clip))
    print(f"{len(pictures)} frames at {args.size[0]}x{args.size[1]}, {args.rounds} interleaved rounds; "
          "ratio = decode time / SDR decode time in the same round, median")
    for name, spent in times.items():
        ratio = statistics.median(mine / base for mine, base in zip(spent, times["SDR"], strict=True))
        print(f"{name:>4}: {statistics.median(spent):7.1f} ms per frame  ratio {ratio:4.2f}")
    return 0


if __name__ == "__main__":
    run_script("bench_hdr", main)
