"""Offline conversion: one picture, or a whole video file with its audio, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from tqdm import tqdm

from . import pipeline
from .engine import StyleModel
from .errors import StylecastError
from .outputs import atomic_output, check_output_path, write_image
from .video_io import VideoFrame, VideoReader, VideoWriter

MAX_IMAGE_PIXELS = 16384 * 16384


def read_image(path: Path) -> np.ndarray:
    """Any image OpenCV reads, as 8-bit BGR: grey is expanded, alpha dropped, 16-bit scaled down."""
    if not Path(path).is_file():
        raise StylecastError(f"input not found: {path}")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise StylecastError(f"{path} is not a readable image")
    if image.shape[0] * image.shape[1] > MAX_IMAGE_PIXELS:
        raise StylecastError(f"{path} is {image.shape[1]}x{image.shape[0]}: larger than 16384x16384")
    return image


def fit(image: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Resize to (width, height) when asked; INTER_AREA when shrinking avoids aliasing, cubic when growing."""
    if size is None or (image.shape[1], image.shape[0]) == size:
        return image
    shrinking = size[0] * size[1] < image.shape[0] * image.shape[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def stylize_image(src: Path, dst: Path, model: StyleModel, size: tuple[int, int] | None = None) -> None:
    check_output_path(dst, [src])
    write_image(dst, model.run(fit(read_image(src), size)), inputs=[src])


def output_size(width: int, height: int, size: tuple[int, int] | None) -> tuple[int, int]:
    """The encoded size: the requested one, else the input's, rounded down to even sides for yuv420p."""
    w, h = size or (width, height)
    return max(2, w - w % 2), max(2, h - h % 2)


def convert_video(src: Path, dst: Path, stylize: Callable[[np.ndarray], np.ndarray],
                  size: tuple[int, int] | None = None, progress: bool = True,
                  frames: int | None = None, with_audio: bool = True) -> pipeline.RunStats:
    """Stylize every frame of ``src`` into ``dst`` (same frame rate; audio copied). ``frames`` limits the count
    (benchmarks); a limited conversion drops the audio, which would outlast the video."""
    check_output_path(dst, [src])
    with VideoReader(src) as reader:
        info = reader.info
        width, height = output_size(info.width, info.height, size)
        total = min(frames, info.frames) if frames and info.frames else (frames or info.frames or None)
        keep_audio = with_audio and frames is None
        with atomic_output(dst, [src]) as tmp:
            writer = VideoWriter(tmp, width, height, info.fps, reader.audio if keep_audio else None)
            bar = tqdm(total=total, unit="frame", desc=Path(dst).name, disable=not progress, dynamic_ncols=True)
            items = reader.items(with_audio=keep_audio)
            if frames:
                items = _first_frames(items, frames)

            def infer(item):  # noqa: ANN001, ANN202 - frames or audio packets
                if isinstance(item, VideoFrame):
                    return VideoFrame(item.index, stylize(fit(item.image, (width, height))))
                return item

            def sink(item) -> None:  # noqa: ANN001
                if isinstance(item, VideoFrame):
                    writer.write(item.image)
                    bar.update(1)
                else:
                    writer.write_audio(item)

            try:
                stats = pipeline.run(items, [("inference", infer)], sink,
                                     is_frame=lambda item: isinstance(item, VideoFrame))
                writer.close()
            except BaseException:
                writer.abort()
                raise
            finally:
                bar.close()
    return stats


def _first_frames(items, limit: int):  # noqa: ANN001, ANN202
    for item in items:
        if isinstance(item, VideoFrame) and item.index >= limit:
            return
        yield item
