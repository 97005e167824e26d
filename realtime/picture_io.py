"""Reading pictures: any format OpenCV decodes plus HEIC, brought to sRGB by their colour profiles. Painting and
training both read photos here, so training needs none of the video stack (PyAV) nor ONNX Runtime."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .colour_profile import embedded_profile, nclx_to_srgb, to_srgb
from .errors import StylecastError

MAX_IMAGE_PIXELS = 16384 * 16384


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
    nclx = None
    if image is not None:
        raw, profile = cv2.imdecode(data, cv2.IMREAD_UNCHANGED), embedded_profile(path)
    else:
        raw, profile, nclx = decode_heif(path)
        image = None if raw is None else np.ascontiguousarray(raw[..., :3])  # already upright 8-bit BGR
    if image is None:
        raise StylecastError(f"{path} is not a readable image")
    if image.shape[0] * image.shape[1] > MAX_IMAGE_PIXELS:
        raise StylecastError(f"{path} is {image.shape[1]}x{image.shape[0]}: larger than 16384x16384")
    image = to_srgb(image, profile) if profile else nclx_to_srgb(image, nclx)
    if raw.ndim == 3 and raw.shape[2] == 4:
        alpha = raw[..., 3]
        return Picture(image, alpha if alpha.dtype == np.uint8 else cv2.convertScaleAbs(alpha, alpha=255 / 65535))
    return Picture(image)


def decode_heif(path: Path) -> tuple[np.ndarray | None, bytes | None, dict | None]:
    """A HEIC/HEIF file (the iPhone camera's default) as upright 8-bit BGR or BGRA, its ICC profile and its nclx
    colour description (either may be missing), or Nones if it is not one. OpenCV's wheels cannot decode HEIF;
    libheif (through pillow-heif) applies the file's rotation and mirroring itself and brings 10-bit pictures down
    to 8 bits."""
    import pillow_heif

    if not pillow_heif.is_supported(str(path)):
        return None, None, None
    try:
        heif = pillow_heif.open_heif(str(path), convert_hdr_to_8bit=True)
        rgb = np.asarray(heif)
    except (ValueError, RuntimeError, OSError):
        return None, None, None
    return (cv2.cvtColor(rgb, cv2.COLOR_RGBA2BGRA if rgb.shape[2] == 4 else cv2.COLOR_RGB2BGR),
            heif.info.get("icc_profile") or None, heif.info.get("nclx_profile"))
