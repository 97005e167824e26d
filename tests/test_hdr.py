"""Phone HDR clips (HLG, PQ) and cameras' HDR stills are painted in the colours an SDR camera would have recorded,
highlights rolled off."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from realtime.hdr import HdrToSdr
from realtime.picture_io import read_image
from realtime.video_io import VideoReader
from tests.conftest import run_cli
from tests.media_factory import BT709_TO_BT2020, hdr_heic, hdr_signal, hdr_video, sdr_as_hdr
from tests.model_factory import RED, apply_tint

# 16x16 patches (whole 2x2 chroma blocks): skin, sky, foliage, brick, greys from dark to near white, BGR.
PATCHES = np.array([[[130, 160, 220], [200, 150, 90], [60, 140, 70], [50, 70, 170]],
                    [[20, 20, 20], [90, 90, 90], [150, 150, 150], [215, 215, 215]]], np.uint8)


def patch_chart() -> np.ndarray:
    return np.repeat(np.repeat(PATCHES, 16, axis=0), 16, axis=1)


@pytest.mark.parametrize("transfer", ["HLG", "PQ"])
def test_hdr_clip_is_decoded_in_the_colours_of_the_scene(tmp_path: Path, transfer: str) -> None:
    """The same scene shot in HDR and in SDR looks the same once decoded: each patch within 3 levels of the SDR
    chart (read as if it were SDR, an HLG clip is washed out and a PQ clip dark, tens of levels off)."""
    chart = patch_chart()
    src = hdr_video(tmp_path / "phone.mp4", sdr_as_hdr(chart, transfer), transfer)
    with VideoReader(src) as reader:
        assert reader.info.hdr == transfer
        image = next(reader.items(with_audio=False)).image
    assert image.shape == chart.shape
    centres = image[4::16, 4::16]  # inside each patch, away from its edges
    for row in range(2):
        for col in range(4):
            shown = image[16 * row + 4:16 * row + 12, 16 * col + 4:16 * col + 12].astype(int)
            assert np.abs(shown - PATCHES[row, col]).max() <= 3, (transfer, PATCHES[row, col], centres[row, col])


@pytest.mark.parametrize("transfer, primaries", [("HLG", 9), ("PQ", 9), ("PQ", 12)])
def test_an_hdr_heic_photo_is_shown_in_the_colours_of_the_scene(tmp_path: Path, transfer: str, primaries: int) -> None:
    """Cameras' HDR stills are 10-bit HEIC with the PQ or HLG curve (in BT.2020's primaries, or Display P3's): the
    chart comes out within 2 levels of the SDR picture of the same scene, tone-mapped as a video frame is. Brought
    down to 8 bits as if it were SDR, as before, it was 50-90 levels off."""
    import pillow_heif

    chart = patch_chart()
    src = hdr_heic(tmp_path / "IMG_0001.HEIC", chart, transfer, primaries)
    assert np.asarray(pillow_heif.open_heif(str(src), convert_hdr_to_8bit=False)).dtype == np.uint16  # 10 bits
    picture = read_image(src)
    assert picture.hdr == transfer
    assert np.abs(picture.colour.astype(int) - chart).max() <= 2, picture.colour[4::16, 4::16]
    as_if_sdr = np.asarray(pillow_heif.open_heif(str(src), convert_hdr_to_8bit=True))[..., ::-1]
    assert np.abs(as_if_sdr.astype(int) - chart).max() >= 30  # it matters


def test_an_hdr_photo_is_painted_with_a_note_that_it_was_tone_mapped(cli_env, tmp_path: Path) -> None:
    """The user is told, as for an HDR clip, that the painting is standard range; it is painted from the
    tone-mapped colours."""
    chart = patch_chart()
    src, dst = hdr_heic(tmp_path / "IMG_0002.HEIC", chart, "HLG"), tmp_path / "painted.png"
    result = run_cli(cli_env, "image", src, "-o", dst, "--style", "red")
    assert result.returncode == 0, result.stderr
    assert f"note: {src} is HDR (HLG): tone-mapped to standard range (sRGB) for painting" in result.stderr
    assert np.abs(cv2.imread(str(dst)).astype(int) - apply_tint(chart, RED)).max() <= 3


@pytest.mark.parametrize("transfer", ["HLG", "PQ"])
def test_hdr_highlights_roll_off_instead_of_clipping(transfer: str) -> None:
    """Greys from reference white up to 1000 cd/m² (sky, lamps) stay distinct, brighter and brighter, where a plain
    SDR conversion would clip every one of them to the same white; a bright red light stays red."""
    nits = np.array([203, 300, 400, 550, 700, 850, 1000], float)
    greys = hdr_signal(np.repeat(nits[:, None], 3, axis=1)[None], transfer)
    shown = HdrToSdr(transfer)(greys)[0].astype(int)
    assert np.ptp(shown, axis=1).max() <= 1, shown  # still grey
    assert np.all(np.diff(shown[:, 1]) > 0), shown[:, 1]
    red_lamp = hdr_signal((600 * np.array([1.0, 0.1, 0.1]) @ BT709_TO_BT2020.T)[None, None], transfer)
    blue, green, red = HdrToSdr(transfer)(red_lamp)[0, 0].astype(int)
    assert red >= 200 and green <= red // 2 and blue <= red // 2, (blue, green, red)


def test_reference_white_of_both_transfers_is_the_same_near_white() -> None:
    """BT.2408's anchor, read straight from the standard rather than from our fixtures: HDR reference white is HLG
    signal 75 % and PQ signal 58 % (203 cd/m²); both must come out as one and the same grey just under SDR white,
    leaving the codes above it to the highlights."""
    hlg = HdrToSdr("HLG")(np.full((1, 1, 3), round(0.75 * 65535), np.uint16))[0, 0].astype(int)
    pq = HdrToSdr("PQ")(np.full((1, 1, 3), round(0.5807 * 65535), np.uint16))[0, 0].astype(int)
    assert np.ptp(hlg) <= 1 and np.ptp(pq) <= 1
    assert abs(hlg[1] - pq[1]) <= 1
    assert 225 <= hlg[1] <= 245, hlg


def test_pq_clip_keeps_the_highlights_its_metadata_declares(tmp_path: Path) -> None:
    """A PQ clip graded to 4000 cd/m² says so (MaxCLL): lights at 1000 to 4000 cd/m² stay distinct steps. The same
    clip without the metadata is taken as a 1000 cd/m² master, where all four clip to white."""
    nits = np.repeat(np.repeat(np.array([[1000.0, 2000.0, 3000.0, 4000.0]]), 16, axis=1), 32, axis=0)
    signal = hdr_signal(np.repeat(nits[..., None], 3, axis=2), "PQ")
    shown = {}
    for declared in (4000, None):
        src = hdr_video(tmp_path / f"{declared}.mp4", signal, "PQ", max_cll=declared)
        with VideoReader(src) as reader:
            shown[declared] = next(reader.items(with_audio=False)).image[16, 8::16, 1].astype(int)
    assert np.all(np.diff(shown[4000]) > 0) and shown[4000][0] < 254, shown[4000]
    assert np.all(shown[None] >= 254), shown[None]
