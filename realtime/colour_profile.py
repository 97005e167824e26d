"""Pictures made in wider colour spaces than sRGB, brought to sRGB before they are painted.

iPhones take photos in Display P3 and many cameras offer Adobe RGB; the file says so in an embedded ICC profile,
which viewers follow and OpenCV ignores. Read as sRGB, such a photo is duller than the one the user saw (a P3 skin
tone stored as 200,120,80 is 214,116,69 in sRGB), and so is its painting, which is written as sRGB. Little CMS,
through Pillow's ImageCms, converts the colours with the file's own profile, as a viewer would.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError


def embedded_profile(path: Path) -> bytes | None:
    """The ICC profile in a JPEG, PNG, WebP or TIFF file (read from its header only), or None. Pillow's guard
    against huge pictures is not wanted here: only the header is read, and the caller has its own size limit."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as picture:
                return picture.info.get("icc_profile") or None
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None


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
