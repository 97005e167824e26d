"""Pictures made in wider colour spaces than sRGB, brought to sRGB before they are painted.

iPhones take photos in Display P3 and many cameras offer Adobe RGB; the file says so in an embedded ICC profile,
which viewers follow and OpenCV ignores. Read as sRGB, such a photo is duller than the one the user saw (a P3 skin
tone stored as 200,120,80 is 214,116,69 in sRGB), and so is its painting, which is written as sRGB. Little CMS,
through Pillow's ImageCms, converts the colours with the file's own profile, as a viewer would. A HEIC may instead
state its colours the way videos do, as H.273 code points in an nclx box (libheif's own encoder writes nothing
else); those are converted here directly: primaries by a 3x3 matrix in linear light, transfer curves by tables.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image, ImageCms


def to_srgb(bgr: np.ndarray, icc: bytes | None) -> np.ndarray:
    """``bgr`` (8-bit) converted from the colour space ``icc`` describes to sRGB. Left as it is without a profile,
    with an sRGB one, with one for another kind of picture (grey, CMYK) or one Little CMS cannot read: the picture is
    then shown as sRGB, as most viewers would show it."""
    if icc is None:
        return bgr
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if profile.profile.xcolor_space.strip() != "RGB" or "srgb" in profile.profile.profile_description.lower():
            return bgr
        rgb = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        converted = ImageCms.profileToProfile(rgb, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return bgr
    return cv2.cvtColor(np.asarray(converted), cv2.COLOR_RGB2BGR)


SRGB_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
D65_WHITE = (0.3127, 0.3290)


def _srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _bt709_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v < 0.081, v / 4.5, ((v + 0.099) / 1.099) ** (1 / 0.45))


# H.273 transfer characteristics a still picture may declare, decoded to linear light. PQ (16) and HLG (18) are
# high dynamic range and left alone: their colours need tone mapping, not only a matrix.
NCLX_TRANSFER = {1: _bt709_decode, 6: _bt709_decode, 14: _bt709_decode, 15: _bt709_decode,
                 2: _srgb_decode, 13: _srgb_decode, 8: lambda v: v, 4: lambda v: v ** 2.2, 5: lambda v: v ** 2.8}


def rgb_to_xyz(primaries: tuple[tuple[float, float], ...], white: tuple[float, float]) -> np.ndarray:
    """The 3x3 matrix from linear RGB with these chromaticities to XYZ, RGB (1, 1, 1) landing on ``white``."""
    xyz = np.array([[x / y, 1, (1 - x - y) / y] for x, y in primaries]).T
    wx, wy = white
    return xyz * np.linalg.solve(xyz, [wx / wy, 1, (1 - wx - wy) / wy])


def to_srgb_primaries(primaries: tuple[tuple[float, float], ...]) -> np.ndarray:
    """The 3x3 matrix from linear RGB with these primaries (D65 white) to linear RGB with sRGB's, which are also
    BT.709's (rows give R, G, B). For BT.2020's primaries it is BT.2087's matrix."""
    return np.linalg.solve(rgb_to_xyz(SRGB_PRIMARIES, D65_WHITE), rgb_to_xyz(primaries, D65_WHITE))


def nclx_chromaticities(nclx: dict | None) -> tuple[tuple[tuple[float, float], ...], tuple[float, float]] | None:
    """The red, green and blue primaries and the white point (x, y) of libheif's reading of an nclx box, or None."""
    try:
        primaries = tuple((nclx[f"color_primary_{c}_x"], nclx[f"color_primary_{c}_y"])
                          for c in ("red", "green", "blue"))
        return primaries, (nclx["color_primary_white_x"], nclx["color_primary_white_y"])
    except (KeyError, TypeError):
        return None


def nclx_to_srgb(bgr: np.ndarray, nclx: dict | None) -> np.ndarray:
    """``bgr`` (8-bit) converted to sRGB from the colour space an nclx box states (libheif's reading of it: the
    transfer code point and the primaries as chromaticities). Left as it is when the primaries are sRGB's, when the
    white point is not D65 (DCI-P3's) or when the transfer curve is HDR or unknown."""
    decode = NCLX_TRANSFER.get((nclx or {}).get("transfer_characteristics"))
    chromaticities = nclx_chromaticities(nclx)
    if chromaticities is None:
        return bgr
    primaries, white = chromaticities
    if decode is None or not np.allclose(white, D65_WHITE, atol=1e-3) or np.allclose(primaries, SRGB_PRIMARIES,
                                                                                     atol=1e-3):
        return bgr
    to_srgb_matrix = to_srgb_primaries(primaries)
    linear = decode(np.arange(256) / 255).astype(np.float32)[bgr]  # an 8-bit picture: a table
    # The RGB matrix with rows and columns reversed is the same conversion on BGR pixels.
    srgb = np.clip(cv2.transform(linear, to_srgb_matrix[::-1, ::-1].astype(np.float32)), 0, 1)
    steps = np.arange(65536) / 65535  # sRGB encoding, also as a table, at 16-bit steps of linear light
    encode = np.rint(255 * np.where(steps <= 0.0031308, 12.92 * steps, 1.055 * steps ** (1 / 2.4) - 0.055))
    return encode.astype(np.uint8)[np.rint(srgb * 65535).astype(np.int32)]
