"""High-dynamic-range video frames mapped to standard range, so a phone's HDR clip is painted in its real colours.

Why: most phones record HDR by default (HLG on iPhones since the 12, HLG or PQ on Android), and the style networks,
the encoder and every SDR screen expect BT.709 standard range. Read as if it were SDR, an HLG picture comes out grey
and washed out, a PQ one dark, and the network paints those wrong colours. FFmpeg's usual route (``zscale`` plus
``tonemap``) is missing from the FFmpeg that PyAV's wheels carry, so the conversion is done here, in display light,
after the ITU-R recommendations: BT.2100 (signal to light), BT.2408 (HDR reference white, 203 cd/m², is SDR white),
BT.2087 (BT.2020 to BT.709 primaries) and BT.1886 (the SDR display's 2.4 gamma).

Colours up to :data:`KNEE` of SDR white come out as an SDR camera would have recorded them; brighter highlights
(sky, lamps, sunlit water), up to the peak, share the few codes left above with a smooth logarithmic shoulder
instead of clipping to a flat white. The roll-off scales each pixel's three channels together, so a bright coloured
light keeps its hue.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import cv2
import numpy as np

from .colour_profile import D65_WHITE, rgb_to_xyz, to_srgb_primaries

REFERENCE_WHITE_NITS = 203.0  # BT.2408: HDR graphics and diffuse white; SDR white (100 %) maps to it
HLG_DISPLAY_NITS = 1000.0  # the nominal HLG display BT.2100 defines the OOTF for (system gamma 1.2)
PQ_MASTER_NITS = 1000.0  # the brightest light assumed in PQ video that declares none: most masters are 1000 cd/m²
PQ_PEAK_RANGE = (400.0, 10000.0)  # declared peaks are trusted within these bounds (PQ itself ends at 10000)
KNEE = 0.75  # fraction of SDR white (linear light) below which colours are kept exactly
HLG_SYSTEM_GAMMA = 1.2

BT2020_PRIMARIES = ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046))  # red, green, blue (x, y); D65 white


# The most light a BT.709 channel can get, over SDR white: PQ's 10000 cd/m², raised up to 1.66x by the conversion
# from BT.2020 for saturated colours (the widest gamut an HDR picture declares).
BRIGHTEST = 10000.0 / REFERENCE_WHITE_NITS * float(
    np.clip(to_srgb_primaries(BT2020_PRIMARIES), 0, None).sum(axis=1).max())
ENCODE_STEPS = 4096  # the output curve's table, indexed by the square root of light for fine steps near black
SHOULDER_STEPS = 4096  # the roll-off's table, indexed by the square root of brightness over BRIGHTEST
BAND_ROWS = 32  # rows converted at a time by one thread


def pq_to_nits(signal: np.ndarray) -> np.ndarray:
    """SMPTE ST 2084 (PQ) EOTF: signal in [0, 1] to display light in cd/m²."""
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    power = np.power(signal, 1 / m2)
    return 10000.0 * np.power(np.maximum(power - c1, 0) / (c2 - c3 * power), 1 / m1)


def hlg_to_scene(signal: np.ndarray) -> np.ndarray:
    """BT.2100 HLG inverse OETF: signal in [0, 1] to scene light in [0, 1]."""
    a = 0.17883277
    b, c = 1 - 4 * a, 0.5 - a * np.log(4 * a)
    low = signal * signal / 3
    high = (np.exp((np.maximum(signal, 0.5) - c) / a) + b) / 12
    return np.where(signal <= 0.5, low, high)


def encoded(light: np.ndarray | float) -> np.ndarray | float:
    """Linear light relative to SDR white to the BT.1886 signal (before quantising), where steps look even."""
    return np.power(light, 1 / 2.4)


def roll_off_bend(peak: float) -> float:
    """The bend ``b`` of the highlight curve ``y = k + b * ln(1 + (x - k) / b)`` (in the encoded signal, from the
    knee ``k``) that brings ``peak`` to exactly 1; the curve's slope at the knee is 1, so nothing shows a seam."""
    knee, top = encoded(KNEE), encoded(peak)
    low, high = 1e-6, 1.0  # the curve's height at the peak grows with the bend
    for _ in range(60):
        bend = (low + high) / 2
        if knee + bend * np.log1p((top - knee) / bend) > 1:
            high = bend
        else:
            low = bend
    return (low + high) / 2


def roll_off(light: np.ndarray, bend: float) -> np.ndarray:
    """Brightness over SDR white (linear light, all above :data:`KNEE`) brought under 1: a logarithmic shoulder in
    the encoded signal, so the highlights from SDR white to the peak keep distinct steps in 8 bits."""
    knee = encoded(KNEE)
    return np.power(np.minimum(knee + bend * np.log1p((encoded(light) - knee) / bend), 1.0), 2.4)


class HdrToSdr:
    """Converts decoded HDR frames (16-bit RGB, HLG or PQ, in BT.2020 primaries unless told otherwise) to 8-bit BGR
    in BT.709 standard range. Tables are built once per clip; a frame then costs three table look-ups, one 3x3
    transform and a few element-wise passes."""

    def __init__(self, transfer: str, peak_nits: float | None = None,
                 primaries: tuple[tuple[float, float], ...] = BT2020_PRIMARIES, srgb: bool = False) -> None:
        """``peak_nits``: the brightest light a PQ clip declares (its MaxCLL or mastering display peak), so a
        4000 cd/m² master keeps its highlights apart instead of clipping everything above 1000. HLG is relative
        to its display and ignores it. ``primaries``: the picture's red, green and blue chromaticities (a still
        photo may state others than BT.2020's, such as Display P3's). ``srgb``: encode for the sRGB curve a still
        picture is shown with, instead of video's BT.1886 2.4 gamma (which would show the shadows of a still up to
        twice as bright)."""
        if transfer not in ("HLG", "PQ"):
            raise ValueError(f"unknown HDR transfer {transfer!r}")
        self.transfer = transfer
        codes = np.arange(65536, dtype=np.float64) / 65535
        if transfer == "PQ":
            self.to_light = (pq_to_nits(codes) / REFERENCE_WHITE_NITS).astype(np.float32)
            self.peak = float(np.clip(peak_nits or PQ_MASTER_NITS, *PQ_PEAK_RANGE)) / REFERENCE_WHITE_NITS
        else:
            self.to_light = hlg_to_scene(codes).astype(np.float32)  # the OOTF, which mixes channels, comes later
            self.peak = HLG_DISPLAY_NITS / REFERENCE_WHITE_NITS
        # sqrt(roll-off / brightness) * (ENCODE_STEPS - 1), by sqrt(brightness / PQ's brightest): multiplies the
        # square root of each channel's light into the encoding table's index. Light beyond the peak (a PQ clip
        # brighter than it declares) is scaled down to white whole, keeping its hue.
        middles = np.square((np.arange(SHOULDER_STEPS) + 0.5) / (SHOULDER_STEPS - 1)) * BRIGHTEST
        kept = np.where(middles <= KNEE, middles, roll_off(np.maximum(middles, KNEE), roll_off_bend(self.peak)))
        self.shoulder = (np.sqrt(kept / middles) * (ENCODE_STEPS - 1)).astype(np.float32)
        # To BT.709, with the rows reversed so the transform writes OpenCV's BGR order directly; the picture's own
        # luminance weights for the HLG OOTF.
        self.to_bgr709 = np.ascontiguousarray(to_srgb_primaries(primaries)[::-1], np.float32)
        self.luma = rgb_to_xyz(primaries, D65_WHITE)[1].astype(np.float32)
        steps = (np.arange(ENCODE_STEPS, dtype=np.float64) + 0.5) / (ENCODE_STEPS - 1)
        light = steps * steps
        signal = np.where(light <= 0.0031308, 12.92 * light, 1.055 * light ** (1 / 2.4) - 0.055) if srgb else \
            np.power(light, 1 / 2.4)  # the inverse of the sRGB curve or of BT.1886's
        self.encode = np.rint(255 * signal).astype(np.uint8)

    def __call__(self, rgb16: np.ndarray) -> np.ndarray:
        """HxWx3 uint16 RGB (BT.2020, HDR signal) to HxWx3 uint8 BGR (BT.709, SDR).

        Done in bands of rows on every core: a 4K phone frame would otherwise take one core longer than a GPU takes
        to paint it, and a band's temporaries stay in cache between the passes."""
        out = np.empty(rgb16.shape, np.uint8)
        bands = [slice(top, top + BAND_ROWS) for top in range(0, rgb16.shape[0], BAND_ROWS)]
        for _ in _pool().map(lambda rows: self._convert(rgb16[rows], out[rows]), bands):
            pass
        return out

    def _convert(self, rgb16: np.ndarray, out: np.ndarray) -> None:
        light = self.to_light[rgb16]
        bgr = cv2.transform(light, self.to_bgr709)
        cv2.threshold(bgr, 0, 0, cv2.THRESH_TOZERO, dst=bgr)  # colours outside BT.709 are clipped to its gamut
        blue, green, red = cv2.split(bgr)
        brightest = cv2.max(cv2.max(blue, green), red)
        if self.transfer == "HLG":
            # BT.2100 OOTF: display light = peak * scene luminance^(gamma - 1) * scene light, here over SDR white.
            scene_luma = np.maximum(cv2.transform(light, self.luma[None, :]), 1e-6)
            gain = cv2.exp(cv2.log(scene_luma) * (HLG_SYSTEM_GAMMA - 1)) * self.peak
            brightest *= gain
        # One scale per pixel, for its three channels together (the hue stays): the roll-off, looked up by the
        # brightest channel, and the HLG gain, both folded into the encoding table's index. A PQ band with
        # nothing above the knee (most of a typical picture) needs neither.
        scale: np.ndarray | float = float(ENCODE_STEPS - 1)
        if brightest.max() > KNEE:
            steps = cv2.sqrt(brightest * (1 / BRIGHTEST))
            steps *= SHOULDER_STEPS - 1
            scale = np.take(self.shoulder, steps.astype(np.uint16), mode="clip")
        if self.transfer == "HLG":
            scale = cv2.sqrt(gain) * scale
        index = cv2.sqrt(bgr)
        index *= scale if isinstance(scale, float) else scale[..., None]
        np.take(self.encode, index.astype(np.uint16), out=out, mode="clip")  # truncates: tables hold steps' middles


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    """One pool for the process: NumPy and OpenCV release the GIL in each pass, so bands run on every core."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="stylecast-hdr")
