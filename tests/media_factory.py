"""Damaged and awkward video files for the tests: a good clip cut short or corrupted, and small clips made here the
way phones and discs make them (variable frame rate, a display rotation, non-square pixels, HDR tags); and ICC
colour profiles such as phones and cameras embed in their photos."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np
import pytest
from av.video.reformatter import Colorspace


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
                 times_ms: list[int] | None = None, options: dict[str, str] | None = None) -> Path:
    """H.264 MP4 of ``images`` (all one size) at 30 fps, or at ``times_ms``; ``setup`` adjusts the stream (its
    tags, rotation, pixel shape) before the first frame is encoded; ``options`` are the muxer's. 8-bit images are
    BGR; 16-bit ones are an HDR signal in RGB, encoded 10-bit with the BT.2020 matrix as phones do."""
    with av.open(str(path), "w", options=options or {}) as out:
        stream = out.add_stream("libx264", rate=Fraction(30))
        stream.height, stream.width = images[0].shape[:2]
        if images[0].dtype == np.uint16:
            stream.pix_fmt, stream.options = "yuv420p10le", {"qp": "0"}  # lossless, to compare colours exactly
        else:
            stream.pix_fmt = "yuv420p"
        if times_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        setup(stream)
        for i, image in enumerate(images):
            if image.dtype == np.uint16:
                frame = av.VideoFrame.from_ndarray(image, format="rgb48le").reformat(
                    format=stream.pix_fmt, dst_colorspace=Colorspace.BT2020)
            else:
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


# The HDR signal an SDR scene becomes, computed forward (SDR to HDR) from the standards, independently of the
# inverse that realtime/hdr.py applies: BT.1886 display light, BT.2408 reference white (203 cd/m²), BT.2087
# primaries, then the ST 2084 (PQ) inverse EOTF or the BT.2100 HLG inverse OOTF and OETF.
BT709_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])


def hdr_signal(nits_rgb: np.ndarray, transfer: str) -> np.ndarray:
    """Display light (cd/m², linear BT.2020 RGB) to a 16-bit HDR signal."""
    if transfer == "PQ":
        m1, m2 = 2610 / 16384, 2523 / 4096 * 128
        c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
        y = np.power(nits_rgb / 10000, m1)
        signal = np.power((c1 + c2 * y) / (1 + c3 * y), m2)
    else:
        display_luma = np.maximum(nits_rgb @ np.array([0.2627, 0.6780, 0.0593]), 1e-9)
        scene = nits_rgb / 1000 * np.power(display_luma / 1000, (1 - 1.2) / 1.2)[..., None]
        a = 0.17883277
        b, c = 1 - 4 * a, 0.5 - a * np.log(4 * a)
        signal = np.where(scene <= 1 / 12, np.sqrt(3 * scene), a * np.log(np.maximum(12 * scene - b, 1e-9)) + c)
    return np.rint(np.clip(signal, 0, 1) * 65535).astype(np.uint16)


def sdr_as_hdr(bgr: np.ndarray, transfer: str, from_bt709: np.ndarray = BT709_TO_BT2020, srgb: bool = False
               ) -> np.ndarray:
    """An SDR picture (BGR uint8; a video frame, or an sRGB still if ``srgb``) as the HDR signal (RGB) of the same
    scene, its white at reference white, in BT.2020's primaries or those ``from_bt709`` converts linear BT.709
    light to."""
    signal = bgr[..., ::-1].astype(np.float64) / 255
    light = np.where(signal <= 0.04045, signal / 12.92, ((signal + 0.055) / 1.055) ** 2.4) if srgb else signal ** 2.4
    return hdr_signal(203 * light @ from_bt709.T, transfer)


def hdr_heic(path: Path, bgr: np.ndarray, transfer: str, primaries: int = 9) -> Path:
    """A camera's HDR still of the scene ``bgr`` (an sRGB picture, uint8): a lossless 10-bit HEIC with the PQ or HLG
    curve, in BT.2020's primaries (H.273 code point 9) or Display P3's (12)."""
    import pillow_heif

    from_bt709 = BT709_TO_BT2020 if primaries == 9 else np.linalg.solve(rgb_to_xyz(DISPLAY_P3_PRIMARIES),
                                                                        rgb_to_xyz(SRGB_PRIMARIES))
    signal = sdr_as_hdr(bgr, transfer, from_bt709, srgb=True)
    pillow_heif.from_bytes("RGB;16", (bgr.shape[1], bgr.shape[0]), signal.tobytes()).save(
        str(path), quality=-1, chroma=444, color_primaries=primaries,
        transfer_characteristics={"PQ": 16, "HLG": 18}[transfer], matrix_coefficients=9, full_range_flag=1)
    return path


def hdr_video(path: Path, signal: np.ndarray | list[np.ndarray], transfer: str, max_cll: int | None = None,
              lossless: bool = True) -> Path:
    """A 10-bit MP4 of one HDR picture shown twice, or of a list of them (16-bit RGB signal), tagged as a phone's
    HDR capture: BT.2020 colours with the HLG or PQ transfer; ``max_cll`` writes HDR10's content light level
    (cd/m²) into the stream; ``lossless=False`` encodes at x264's default quality, as a camera would."""
    def tag(stream: av.video.stream.VideoStream) -> None:
        context = stream.codec_context
        context.colorspace, context.color_primaries = 9, 9  # H.273: BT.2020
        context.color_trc = {"PQ": 16, "HLG": 18}[transfer]
        if not lossless:
            stream.options = {}
        if max_cll:
            stream.options = {**stream.options, "x264-params": f"cll={max_cll},{max_cll // 10}"}

    return encoded_clip(path, signal if isinstance(signal, list) else [signal] * 2, tag)


def _moving_bar(t: int) -> np.ndarray:
    """A white bar on grey, 6 pixels further right at every ``t`` (a field): fast enough to comb an interlaced frame."""
    image = np.full((96, 128, 3), 40, np.uint8)
    image[:, 8 + 6 * t:24 + 6 * t] = 220
    return image


def _fielded(i: int) -> np.ndarray:
    """Frame ``i`` of the moving bar as an interlaced camera sees it: the even rows 1/50 s before the odd ones."""
    image = _moving_bar(2 * i)
    image[1::2] = _moving_bar(2 * i + 1)[1::2]
    return image


INTERLACED_X264 = {"qp": "0", "x264-params": "interlaced=1:tff=1:bframes=0"}


def interlaced_video(path: Path, frames: int = 8) -> Path:
    """An interlaced MP4 (top field first) as a camcorder records it: a white bar moving fast across, so every
    frame shows comb teeth on the bar's edges."""
    def interlace(stream: av.video.stream.VideoStream) -> None:
        stream.options = INTERLACED_X264

    return encoded_clip(path, [_fielded(i) for i in range(frames)], interlace)


def progressive_then_interlaced_video(path: Path, frames: int = 4) -> Path:
    """An MPEG-TS whose first ``frames`` frames are progressive and whose next ``frames`` are interlaced fields of
    the same moving bar, as a broadcast recording that cuts from a film to a live studio is: two H.264 encodings
    one after the other in one stream."""
    height, width = _moving_bar(0).shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("h264", rate=Fraction(30))
        stream.width, stream.height = width, height
        for part, options in enumerate(({"qp": "0", "x264-params": "bframes=0"}, INTERLACED_X264)):
            encoder = av.CodecContext.create("libx264", "w")
            encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
            encoder.time_base, encoder.options = Fraction(1, 30), options
            packets = []
            for i in range(part * frames, (part + 1) * frames):
                frame = av.VideoFrame.from_ndarray(_fielded(i) if part else _moving_bar(2 * i), format="bgr24")
                frame.pts, frame.time_base = i, Fraction(1, 30)
                packets += encoder.encode(frame)
            for packet in packets + encoder.encode(None):
                packet.stream = stream
                out.mux(packet)
    return path


def flash_and_click_video(path: Path, at: float, seconds: float = 4.0) -> Path:
    """A 30 fps MP4 with AAC sound, dark and silent but for one white frame and one click, both at ``at`` seconds:
    where they land in an output shows whether picture and sound kept their times and each other."""
    from realtime.video_io import VideoWriter

    rate = 48000
    sound = np.zeros((round(seconds * rate), 1), np.float32)
    sound[round(at * rate):round(at * rate) + 48] = 0.9
    with VideoWriter(path, 64, 48, Fraction(30), pcm=(rate, 1)) as writer:
        for i in range(round(seconds * 30)):
            writer.write(np.full((48, 64, 3), 255 if i == round(at * 30) else 20, np.uint8))
        writer.write_pcm(sound)
    return path


def tone_video(path: Path, hz: float = 440.0, seconds: float = 4.0) -> Path:
    """A 30 fps MP4 with mono AAC sound: a steady sine at ``hz`` and half of full scale from the first sample, so
    any stretch of the sound can be told from the rest by its phase."""
    from realtime.video_io import VideoWriter

    rate = 48000
    with VideoWriter(path, 64, 48, Fraction(30), pcm=(rate, 1)) as writer:
        for _ in range(round(seconds * 30)):
            writer.write(np.full((48, 64, 3), 20, np.uint8))
        writer.write_pcm(tone(hz, 0.0, seconds)[:, None])
    return path


def tone(hz: float, start: float, seconds: float, rate: int = 48000) -> np.ndarray:
    """The samples of :func:`tone_video`'s sine from ``start`` seconds on."""
    return (0.5 * np.sin(2 * np.pi * hz * (start + np.arange(round(seconds * rate)) / rate))).astype(np.float32)


# ICC colour profiles built here from a colour space's primaries (no profile files to ship): what Little CMS reads
# is independent of the RGB-to-RGB matrix a test computes directly (D65 to D65, no adaptation).
SRGB_PRIMARIES = [(0.64, 0.33), (0.30, 0.60), (0.15, 0.06)]
DISPLAY_P3_PRIMARIES = [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)]
D50, D65 = np.array([0.9642, 1.0, 0.8249]), np.array([0.95047, 1.0, 1.08883])
BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def rgb_to_xyz(primaries: list[tuple[float, float]], white: np.ndarray = D65) -> np.ndarray:
    """The 3x3 matrix from linear RGB with these chromaticities to XYZ, RGB (1, 1, 1) landing on ``white``."""
    xyz = np.array([[x / y, 1, (1 - x - y) / y] for x, y in primaries]).T
    return xyz * np.linalg.solve(xyz, white)


def icc_profile(primaries: list[tuple[float, float]], gamma: float, name: str) -> bytes:
    """A minimal ICC v2 display profile (matrix and one gamma curve, D65 white adapted to the D50 connection space
    with Bradford, as ICC asks) for an RGB colour space."""
    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(values: np.ndarray) -> bytes:
        return b"XYZ " + bytes(4) + b"".join(s15(v) for v in values)

    adapt = np.linalg.inv(BRADFORD) @ np.diag((BRADFORD @ D50) / (BRADFORD @ D65)) @ BRADFORD
    colorants = adapt @ rgb_to_xyz(primaries)
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)
    text = name.encode() + b"\0"
    description = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(78)
    tags = [(b"desc", description), (b"wtpt", xyz(D50)), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    tags += [(sig, xyz(colorants[:, i])) for i, sig in enumerate((b"rXYZ", b"gXYZ", b"bXYZ"))]
    start = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += bytes(-len(body) % 4)
        table += sig + struct.pack(">II", start + len(data), len(body))
        data += body
    header = (struct.pack(">I", start + len(data)) + bytes(4) + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + bytes(12) + b"acsp" + bytes(28) + b"".join(s15(v) for v in D50) + bytes(48))
    return header + struct.pack(">I", len(tags)) + table + data


def as_srgb(rgb: np.ndarray, primaries: list[tuple[float, float]], gamma: float | None) -> np.ndarray:
    """8-bit RGB in the colour space of :func:`icc_profile` (or, with ``gamma`` None, with sRGB's own curve, as
    Display P3 has) to 8-bit sRGB, computed directly."""
    value = rgb.astype(np.float64) / 255
    light = np.where(value <= 0.04045, value / 12.92, ((value + 0.055) / 1.055) ** 2.4) if gamma is None \
        else np.power(value, gamma)
    srgb = np.clip(light @ np.linalg.solve(rgb_to_xyz(SRGB_PRIMARIES), rgb_to_xyz(primaries)).T, 0, 1)
    encoded = np.where(srgb <= 0.0031308, 12.92 * srgb, 1.055 * np.power(srgb, 1 / 2.4) - 0.055)
    return np.rint(encoded * 255).astype(np.uint8)
