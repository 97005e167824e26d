"""Damaged and awkward video files for the tests: a good clip cut short or corrupted, and small clips made here the
way phones and discs make them (variable frame rate, a display rotation, non-square pixels, HDR tags)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np
import pytest


def index_first_copy(src: Path, dst: Path) -> Path:
    """The same clip remuxed with its index at the front ("faststart"), as streaming-ready files are: cut short,
    such a file still opens and decodes up to the cut, so only the stated duration gives the truncation away."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", "mp4", options={"movflags": "faststart"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return dst


def cut_copy(src: Path, dst: Path) -> Path:
    """The first half of an index-first copy of ``src``: a download or copy that stopped half-way."""
    whole = index_first_copy(src, dst).read_bytes()
    dst.write_bytes(whole[: len(whole) // 2])
    return dst


def damaged_copy(src: Path, dst: Path, span: int = 20000) -> Path:
    """``src`` with every 7th byte of ``span`` bytes in its middle inverted: damaged frames, intact index."""
    data = bytearray(src.read_bytes())
    middle = slice(len(data) // 2, len(data) // 2 + span, 7)
    data[middle] = bytes(b ^ 0xFF for b in data[middle])
    dst.write_bytes(bytes(data))
    return dst


def zero_frame_video(path: Path) -> Path:
    """An MP4 with a video track header and not a single frame."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()
    return path


def encoded_clip(path: Path, images: list[np.ndarray], setup: Callable[[av.video.stream.VideoStream], None],
                 times_ms: list[int] | None = None) -> Path:
    """H.264 MP4 of ``images`` (BGR, all one size) at 30 fps, or at ``times_ms``; ``setup`` adjusts the stream
    (its tags, rotation, pixel shape) before the first frame is encoded."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(30))
        stream.height, stream.width = images[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        if times_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        setup(stream)
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i if times_ms is None else times_ms[i]
            if times_ms is not None:
                frame.time_base = Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def variable_rate_video(path: Path, times_ms: list[int]) -> Path:
    """An MP4 whose frames come at the given times (milliseconds), as a phone records in dim light, with a
    moving bar so every frame differs."""
    images = []
    for i in range(len(times_ms)):
        image = np.full((48, 64, 3), 40, np.uint8)
        image[:, (4 * i) % 60:(4 * i) % 60 + 4] = 220
        images.append(image)
    return encoded_clip(path, images, lambda stream: None, times_ms)


def rotated_video(path: Path, degrees: int) -> Path:
    """An MP4 stored as a landscape 96x64 picture (a red band along its top, a green one down its left side) with
    a display rotation of ``degrees`` counter-clockwise in the container, as phones store portrait clips."""
    def rotate(stream: av.video.stream.VideoStream) -> None:
        if not hasattr(stream, "set_display_rotation"):
            pytest.skip("writing a display rotation needs PyAV >= 18 (Python >= 3.11)")
        stream.set_display_rotation(degrees)

    image = np.full((64, 96, 3), 90, np.uint8)
    image[:12, :, 2] = 240
    image[:, :12, 1] = 240
    return encoded_clip(path, [image] * 3, rotate)


def anamorphic_video(path: Path) -> Path:
    """An MP4 stored 72x64 with 16:9 pixels (shown 128x64, as a widescreen DVD is), holding a white disc of
    radius 20 in display pixels: drawn squeezed in the stored picture."""
    import cv2

    def widen(stream: av.video.stream.VideoStream) -> None:
        stream.codec_context.sample_aspect_ratio = Fraction(16, 9)

    image = np.zeros((64, 72, 3), np.uint8)
    cv2.ellipse(image, (36, 32), (round(20 * 9 / 16), 20), 0, 0, 360, (255, 255, 255), -1)
    return encoded_clip(path, [image] * 3, widen)


def hlg_video(path: Path) -> Path:
    """A small MP4 tagged as a phone's HDR capture: BT.2020 colours with the HLG transfer."""
    def tag(stream: av.video.stream.VideoStream) -> None:
        context = stream.codec_context
        context.colorspace, context.color_primaries, context.color_trc = 9, 9, 18  # H.273: BT.2020, HLG

    return encoded_clip(path, [np.full((48, 64, 3), 60 * i, np.uint8) for i in range(3)], tag)
