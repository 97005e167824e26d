"""Offline conversion: one picture, or a whole video file with its audio, written atomically."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np
from tqdm import tqdm

from . import pipeline
from .colour_profile import embedded_profile, to_srgb
from .engine import StyleModel
from .errors import StylecastError
from .outputs import atomic_output, check_output_path, write_image
from .video_io import SILENT_TYPES, VideoFrame, VideoReader, VideoWriter

MAX_IMAGE_PIXELS = 16384 * 16384
# The most a style network is run on at once: 8K UHD. The shipped fast network needs about 14 GB of memory for an
# 8K frame on a CPU (430 bytes a pixel); bigger pictures would be killed for memory instead of failing clearly.
MAX_STYLIZE_SIZE = (7680, 4320)
ALPHA_SUFFIXES = {".png", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class Picture:
    """A decoded picture: 8-bit BGR for the network, and its transparency (if any) to put back afterwards."""

    colour: np.ndarray               # HxWx3 uint8 BGR: grey expanded, 16-bit scaled down
    alpha: np.ndarray | None = None  # HxW uint8


def read_image(path: Path) -> Picture:
    """Any image OpenCV reads, and HEIC/HEIF (iPhone photos), in sRGB whatever colour space the file declares. The
    network paints colour; an alpha channel is kept aside, so a transparent background stays transparent instead
    of whatever colour the hidden pixels hold."""
    if not Path(path).is_file():
        raise StylecastError(f"input not found: {path}")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is not None:
        raw, profile = cv2.imdecode(data, cv2.IMREAD_UNCHANGED), embedded_profile(path)
    else:
        raw, profile = decode_heif(path)
        image = None if raw is None else np.ascontiguousarray(raw[..., :3])  # already upright 8-bit BGR
    if image is None:
        raise StylecastError(f"{path} is not a readable image")
    if image.shape[0] * image.shape[1] > MAX_IMAGE_PIXELS:
        raise StylecastError(f"{path} is {image.shape[1]}x{image.shape[0]}: larger than 16384x16384")
    image = to_srgb(image, profile)
    if raw.ndim == 3 and raw.shape[2] == 4:
        alpha = raw[..., 3]
        return Picture(image, alpha if alpha.dtype == np.uint8 else cv2.convertScaleAbs(alpha, alpha=255 / 65535))
    return Picture(image)


def decode_heif(path: Path) -> tuple[np.ndarray | None, bytes | None]:
    """A HEIC/HEIF file (the iPhone camera's default) as upright 8-bit BGR or BGRA and its ICC profile, or None
    if it is not one. OpenCV's wheels cannot decode HEIF; libheif (through pillow-heif) applies the file's rotation
    and mirroring itself and brings 10-bit pictures down to 8 bits."""
    import pillow_heif

    if not pillow_heif.is_supported(str(path)):
        return None, None
    try:
        heif = pillow_heif.open_heif(str(path), convert_hdr_to_8bit=True)
        rgb = np.asarray(heif)
    except (ValueError, RuntimeError, OSError):
        return None, None
    return (cv2.cvtColor(rgb, cv2.COLOR_RGBA2BGRA if rgb.shape[2] == 4 else cv2.COLOR_RGB2BGR),
            heif.info.get("icc_profile") or None)


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


def stylize_image(picture: Picture, dst: Path, model: StyleModel, size: tuple[int, int] | None = None,
                  inputs: Iterable[Path] = ()) -> None:
    """Paint ``picture`` (resized first when asked) and write it; the alpha channel goes back on where ``dst``'s
    format can hold it."""
    painted = model.run(fit(picture.colour, size))
    if picture.alpha is not None and Path(dst).suffix.lower() in ALPHA_SUFFIXES:
        painted = np.dstack([painted, fit(picture.alpha, size)])
    write_image(dst, painted, inputs=inputs)


def output_size(width: int, height: int, size: tuple[int, int] | None) -> tuple[int, int]:
    """The encoded size: the requested one, else the input's, rounded down to even sides for yuv420p."""
    w, h = size or (width, height)
    return max(2, w - w % 2), max(2, h - h % 2)


def convert_video(reader: VideoReader, dst: Path, stylize: Callable[[np.ndarray], np.ndarray],
                  size: tuple[int, int] | None = None, progress: bool = True,
                  frames: int | None = None, with_audio: bool = True) -> pipeline.RunStats:
    """Stylize every frame ``reader`` decodes into ``dst`` at the input's own timestamps (audio copied). The
    caller opens the reader, so the input is checked (and its first frame probed) once, before a model loads.
    ``frames`` limits the count (benchmarks); a limited conversion drops the audio, which would outlast the video,
    and so does a GIF, which has no place for it."""
    src = reader.path
    check_output_path(dst, [src])
    info = reader.info
    width, height = output_size(info.width, info.height, size)
    total = min(frames, info.frames) if frames and info.frames else (frames or info.frames or None)
    keep_audio = with_audio and frames is None and Path(dst).suffix.lower() not in SILENT_TYPES
    with atomic_output(dst, [src]) as tmp, VideoWriter(tmp, width, height, info.fps,
                                                      reader.audio if keep_audio else None,
                                                      time_base=reader.video.time_base) as writer:
        bar = tqdm(total=total, unit="frame", desc=Path(dst).name, disable=not progress, dynamic_ncols=True)
        items = reader.items(with_audio=keep_audio)
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
