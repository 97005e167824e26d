"""Offline conversion: one picture, or a whole video file with its audio, written atomically."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np
from tqdm import tqdm

from . import pipeline
from .errors import StylecastError
from .metadata import painted_exif, video_tags
from .outputs import atomic_output, check_output_path, write_image
from .picture_io import Picture
from .video_io import SILENT_TYPES, VideoFrame, VideoReader, VideoWriter

# The most a style network is run on at once: 8K UHD. The shipped fast network needs about 14 GB of memory for an
# 8K frame on a CPU (430 bytes a pixel); bigger pictures would be killed for memory instead of failing clearly.
MAX_STYLIZE_SIZE = (7680, 4320)
ALPHA_SUFFIXES = {".png", ".webp", ".tif", ".tiff"}


def check_stylize_size(width: int, height: int, source: Path) -> None:
    """Refuse, before any model loads, to paint frames bigger than :data:`MAX_STYLIZE_SIZE` (by pixel count)."""
    most_w, most_h = MAX_STYLIZE_SIZE
    if width * height > most_w * most_h:
        raise StylecastError(f"cannot paint {source} at {width}x{height}: more pixels than the {most_w}x{most_h} "
                             f"(8K) a style network runs on; use --size {most_h} or smaller")


def fit(image: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Resize to (width, height) when asked; INTER_AREA when shrinking avoids aliasing, cubic when growing."""
    if size is None or (image.shape[1], image.shape[0]) == size:
        return image
    shrinking = size[0] * size[1] < image.shape[0] * image.shape[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def stylize_image(picture: Picture, dst: Path, paint: Callable[[np.ndarray], np.ndarray],
                  size: tuple[int, int] | None = None, inputs: Iterable[Path] = (), metadata: bool = True) -> None:
    """Paint ``picture`` (resized first when asked) with ``paint`` (a network, effects included) and write it; the
    alpha channel goes back on where ``dst``'s format can hold it, and the photo's EXIF unless ``metadata`` is
    off."""
    painted = paint(fit(picture.colour, size))
    if picture.alpha is not None and Path(dst).suffix.lower() in ALPHA_SUFFIXES:
        painted = np.dstack([painted, fit(picture.alpha, size)])
    exif = painted_exif(picture.exif, painted.shape[1], painted.shape[0]) if metadata and picture.exif else None
    write_image(dst, painted, inputs=inputs, exif=exif)


def output_size(width: int, height: int, size: tuple[int, int] | None) -> tuple[int, int]:
    """The encoded size: the requested one, else the input's, rounded down to even sides for yuv420p."""
    w, h = size or (width, height)
    return max(2, w - w % 2), max(2, h - h % 2)


def convert_video(reader: VideoReader, dst: Path, stylize: Callable[[np.ndarray], np.ndarray],
                  size: tuple[int, int] | None = None, progress: bool = True,
                  frames: int | None = None, with_audio: bool = True, metadata: bool = True) -> pipeline.RunStats:
    """Stylize every frame ``reader`` decodes into ``dst`` at the input's own timestamps (audio copied). The
    caller opens the reader, so the input is checked (and its first frame probed) once, before a model loads.
    ``frames`` limits the count (benchmarks); a limited conversion drops the audio, which would outlast the video,
    and so does a GIF, which has no place for it. The clip's date, place and other descriptive tags are kept
    unless ``metadata`` is off."""
    src = reader.path
    check_output_path(dst, [src])
    info = reader.info
    width, height = output_size(info.width, info.height, size)
    total = min(frames, info.frames) if frames and info.frames else (frames or info.frames or None)
    suffix = Path(dst).suffix.lower()
    keep_audio = with_audio and frames is None and suffix not in SILENT_TYPES
    tags = video_tags(dict(reader.container.metadata), suffix) if metadata else {}
    with atomic_output(dst, [src]) as tmp, VideoWriter(tmp, width, height, info.fps,
                                                      reader.audio if keep_audio else None,
                                                      time_base=reader.video.time_base, tags=tags) as writer:
        bar = tqdm(total=total, unit="frame", desc=Path(dst).name, disable=not progress, dynamic_ncols=True)
        items = reader.items(with_audio=keep_audio, sound_before_start=writer.sound_before_start)
        if frames:
            items = _first_frames(items, frames)

        def infer(item):  # noqa: ANN001, ANN202 - frames or audio packets
            if isinstance(item, VideoFrame):
                return replace(item, image=stylize(fit(item.image, (width, height))))
            return item

        def sink(item) -> None:  # noqa: ANN001
            if isinstance(item, VideoFrame):
                writer.write(item.image, item.pts)
                bar.update(1)
            else:
                writer.write_audio(item)

        try:
            stats = pipeline.run(items, [("inference", infer)], sink,
                                 is_frame=lambda item: isinstance(item, VideoFrame))
        finally:
            bar.close()
    return stats


def _first_frames(items, limit: int):  # noqa: ANN001, ANN202
    for item in items:
        if isinstance(item, VideoFrame) and item.index >= limit:
            return
        yield item
