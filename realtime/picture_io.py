"""Reading pictures: any format OpenCV decodes plus HEIC, brought to sRGB by their colour profiles. Painting and
training both read photos here, so training needs none of the video stack (PyAV) nor ONNX Runtime."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from PIL import Image, UnidentifiedImageError

from .colour_profile import nclx_chromaticities, nclx_to_srgb, to_srgb
from .errors import StylecastError
from .hdr import BT2020_PRIMARIES, HdrToSdr
from .metadata import exif_of

MAX_IMAGE_PIXELS = 16384 * 16384
HDR_TRANSFERS = {16: "PQ", 18: "HLG"}  # H.273 transfer characteristics


@dataclass(frozen=True)
class Picture:
    """A decoded picture: 8-bit BGR for the network, its transparency (if any) to put back afterwards, the HDR
    curve it was tone-mapped from (if any), for the user to be told, and its EXIF, for the painting to keep."""

    colour: np.ndarray               # HxWx3 uint8 BGR: grey expanded, 16-bit scaled down
    alpha: np.ndarray | None = None  # HxW uint8
    hdr: str | None = None           # "PQ" or "HLG"
    exif: Image.Exif | None = None


@dataclass(frozen=True)
class Heif:
    """What a HEIC/HEIF file holds, as far as painting it goes."""

    pixels: np.ndarray               # upright 8-bit BGR or BGRA
    profile: bytes | None            # ICC
    nclx: dict | None                # H.273 colour description, as libheif reads it
    hdr: str | None                  # the HDR curve it was tone-mapped from
    exif: bytes | None


def read_image(path: Path) -> Picture:
    """Any image OpenCV reads, and HEIC/HEIF (iPhone photos), in sRGB whatever colour space the file declares. The
    network paints colour; an alpha channel is kept aside, so a transparent background stays transparent instead
    of whatever colour the hidden pixels hold."""
    if not Path(path).is_file():
        raise StylecastError(f"input not found: {path}")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is not None:
        raw, (profile, exif), nclx, hdr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED), picture_header(path), None, None
    else:
        heif = decode_heif(path)
        if heif is None:
            from .video_io import holds_video  # PyAV, only on this failure path

            if holds_video(path):
                raise StylecastError(f"{path} is a video, not a picture: paint it with stylecast video {path} -o "
                                     f"{Path(path).stem}-painted.mp4")
            raise StylecastError(f"{path} is not a readable image")
        raw, profile, nclx, hdr = heif.pixels, heif.profile, heif.nclx, heif.hdr
        image = np.ascontiguousarray(raw[..., :3])
        exif = exif_of(heif.exif) if heif.exif else None
    if image.shape[0] * image.shape[1] > MAX_IMAGE_PIXELS:
        raise StylecastError(f"{path} is {image.shape[1]}x{image.shape[0]}: larger than 16384x16384")
    image = to_srgb(image, profile) if profile else nclx_to_srgb(image, nclx)
    return Picture(image, to_8bit(raw[..., 3]) if raw.ndim == 3 and raw.shape[2] == 4 else None, hdr, exif)


def picture_header(path: Path) -> tuple[bytes | None, Image.Exif | None]:
    """The ICC profile and the EXIF of a JPEG, PNG, WebP or TIFF file, both from one read of its header (either may
    be None). Pillow's guard against huge pictures is not wanted here: only the header is read, and the caller has
    its own size limit."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as picture:
                return picture.info.get("icc_profile") or None, exif_of(picture)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None, None


def decode_heif(path: Path) -> Heif | None:
    """A HEIC/HEIF file (the iPhone camera's default), or None if it is not one. OpenCV's wheels cannot decode
    HEIF; libheif (through pillow-heif) applies the file's rotation and mirroring itself. A 10- or 12-bit picture
    with an HDR curve (PQ or HLG: cameras' HDR stills) is tone-mapped to standard range as an HDR video frame is,
    and comes back in sRGB (no profile left to apply); any other is brought down to 8 bits."""
    import pillow_heif

    if not pillow_heif.is_supported(str(path)):
        return None
    try:
        heif = pillow_heif.open_heif(str(path), convert_hdr_to_8bit=False)
        rgb = np.asarray(heif)
    except (ValueError, RuntimeError, OSError):
        return None
    profile, nclx = heif.info.get("icc_profile") or None, heif.info.get("nclx_profile")
    transfer = HDR_TRANSFERS.get((nclx or {}).get("transfer_characteristics")) if rgb.dtype == np.uint16 else None
    colour, alpha = rgb[..., :3], rgb[..., 3:]
    if transfer:
        chromaticities = nclx_chromaticities(nclx)
        primaries = chromaticities[0] if chromaticities else BT2020_PRIMARIES
        bgr = HdrToSdr(transfer, primaries=primaries, srgb=True)(np.ascontiguousarray(colour))
        profile, nclx = None, None  # the colours are sRGB's now
    else:
        bgr = cv2.cvtColor(to_8bit(colour), cv2.COLOR_RGB2BGR)
    return Heif(np.dstack([bgr, to_8bit(alpha)]) if alpha.size else bgr, profile, nclx, transfer,
                heif.info.get("exif") or None)


def to_8bit(values: np.ndarray) -> np.ndarray:
    """8- or 16-bit samples as 8-bit ones (a 10-bit sample arrives scaled to 16 bits)."""
    return values if values.dtype == np.uint8 else cv2.convertScaleAbs(values, alpha=255 / 65535)
