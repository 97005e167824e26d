"""The runtime as a user meets it: pictures, video files with audio, device choice, listings, bench."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from realtime.engine import StyleModel
from realtime.errors import StylecastError
from tests.conftest import REPO, asset, run_cli
from tests.media_factory import (DISPLAY_P3_PRIMARIES, anamorphic_video, as_srgb, encoded_clip, flash_and_click_video,
                                 hdr_video, icc_profile, interlaced_video, progressive_then_interlaced_video,
                                 rotated_video, sdr_as_hdr, tone, tone_video, variable_rate_video)
from tests.model_factory import BLUE, RED, apply_tint


def probe(path: Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = sum(1 for _ in c.decode(video=0))
        return {"frames": frames, "size": (v.codec_context.width, v.codec_context.height),
                "fps": v.average_rate, "audio": [a.codec_context.name for a in c.streams.audio]}


def first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return next(c.decode(video=0)).to_ndarray(format="bgr24")


@pytest.mark.parametrize("size", [(1, 1), (3, 5), (1081, 1921)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_image_round_trip_keeps_odd_sizes(tint_models, cli_env, tmp_path: Path, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    cv2.imwrite(str(src), image)
    result = run_cli(cli_env, "image", src, "-o", dst, "--style", "red")
    assert result.returncode == 0, result.stderr
    out = cv2.imread(str(dst))
    assert out.shape == image.shape
    np.testing.assert_array_equal(out, apply_tint(image, RED))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png"]  # no temporary left behind
    assert dst.stat().st_mode & 0o777 == src.stat().st_mode & 0o777  # usual permissions, not mkstemp's 0600


def test_iphone_heic_photo_is_painted(tint_models, cli_env, tmp_path: Path) -> None:
    """HEIC, the iPhone camera's default format, which OpenCV alone cannot read: painted at its own size in its
    own colours (a lossy HEVC picture, so within a few levels), transparency kept."""
    import pillow_heif

    colours = np.zeros((48, 64, 4), np.uint8)
    colours[..., 0] = np.linspace(0, 255, 64, dtype=np.uint8)[None, :]  # red ramp across
    colours[..., 1] = np.linspace(0, 255, 48, dtype=np.uint8)[:, None]  # green ramp down
    colours[..., 2] = 120
    colours[..., 3] = 255
    colours[:, :16, 3] = 0  # a transparent strip
    src, dst = tmp_path / "IMG_0001.HEIC", tmp_path / "painted.png"
    pillow_heif.from_bytes("RGBA", (64, 48), colours.tobytes()).save(str(src), quality=95)
    assert cv2.imread(str(src)) is None  # OpenCV's own reader cannot
    result = run_cli(cli_env, "image", src, "-o", dst, "--style", "red")
    assert result.returncode == 0, result.stderr
    painted = cv2.imread(str(dst), cv2.IMREAD_UNCHANGED)
    assert painted.shape == (48, 64, 4)
    seen = cv2.cvtColor(colours[..., :3], cv2.COLOR_RGB2BGR)
    assert np.abs(painted[..., :3].astype(int) - apply_tint(seen, RED)).mean() < 3
    assert np.array_equal(painted[..., 3] > 128, colours[..., 3] > 128)


def test_many_pictures_and_folders_are_painted_into_an_output_folder(tint_models, cli_env, tmp_path: Path) -> None:
    """One command for a folder of holiday photos and an iPhone picture: each painted under its own name and type
    (HEIC, which cannot be written, as JPEG) into a new folder; a damaged file among them is reported on its own
    line, the others are still painted, and the exit status says something failed."""
    import pillow_heif

    rng = np.random.default_rng(3)
    holiday, phone = tmp_path / "holiday", tmp_path / "phone"
    holiday.mkdir()
    phone.mkdir()
    pictures = {name: rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8) for i, name in enumerate("ab")}
    for name, image in pictures.items():
        cv2.imwrite(str(holiday / f"{name}.png"), image)
    (holiday / "broken.png").write_bytes(b"not a picture")
    (holiday / "notes.txt").write_text("not looked at")
    flat = np.full((16, 24, 3), 90, np.uint8)
    pillow_heif.from_bytes("RGB", (24, 16), flat.tobytes()).save(str(phone / "IMG_0042.HEIC"), quality=95)
    out = tmp_path / "painted"
    result = run_cli(cli_env, "image", holiday, phone / "IMG_0042.HEIC", "-o", f"{out}/", "--style", "red")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("stylecast: error:")]
    assert errors == [f"stylecast: error: {holiday / 'broken.png'} is not a readable image"]
    assert result.stdout.strip() == f"wrote 3 of 4 pictures to {out}"
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0042.jpg", "a.png", "b.png"]
    for name, image in pictures.items():
        np.testing.assert_array_equal(cv2.imread(str(out / f"{name}.png")), apply_tint(image, RED))
    assert np.abs(cv2.imread(str(out / "IMG_0042.jpg")).astype(int) - apply_tint(flat, RED)).mean() < 3


def test_several_clips_and_folders_are_painted_into_an_output_folder(cli_env, tmp_path: Path) -> None:
    """A folder of clips and one more, with one model load: each painted under its own name (an AVI, which is not
    written, as MP4) with all its frames; a damaged clip is reported on its own line, the rest still painted, and
    the exit status says something failed. A folder of clips sent to a new clip's name is refused before any
    painting."""
    clips, more = tmp_path / "clips", tmp_path / "more"
    clips.mkdir()
    more.mkdir()
    grey = [np.full((48, 64, 3), 90, np.uint8)] * 5
    encoded_clip(clips / "a.mp4", grey, lambda stream: None)
    encoded_clip(clips / "b.avi", grey[:3], lambda stream: None)
    (clips / "broken.mov").write_bytes(b"not a clip")
    (clips / "notes.txt").write_text("not looked at")
    encoded_clip(more / "c.mkv", grey[:4], lambda stream: None)
    out = tmp_path / "painted"
    result = run_cli(cli_env, "video", clips, more / "c.mkv", "-o", f"{out}/", "--style", "red")
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("stylecast: error:")]
    assert len(errors) == 1 and errors[0].startswith(f"stylecast: error: {clips / 'broken.mov'}"), result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"wrote 3 of 4 clips to {out}"
    assert result.stderr.count("painting 4 clips with red on ") == 1  # one model for all
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4", "c.mkv"]
    for name, frames in (("a.mp4", 5), ("b.mp4", 3), ("c.mkv", 4)):
        with av.open(str(out / name)) as painted:
            pictures = [f.to_ndarray(format="bgr24") for f in painted.decode(video=0)]
        assert len(pictures) == frames, name
        assert np.abs(pictures[0].astype(int) - apply_tint(grey[0], RED)).mean() < 6, name  # two H.264 passes
    refused = run_cli(cli_env, "video", clips, "-o", tmp_path / "painted.mp4", "--style", "red")
    assert refused.returncode != 0 and "is named as a clip; give a folder name" in refused.stderr
    assert not (tmp_path / "painted.mp4").exists()


def test_many_pictures_are_refused_up_front_when_outputs_would_clash(tint_models, cli_env, tmp_path: Path) -> None:
    """Whatever can be known before painting stops the batch before any picture is written: two inputs with one
    output name, an output that is an input, a file named as the output folder, --optimize on several, a folder of
    photos sent to a new picture name (a folder by that name, unless the user typed it with a final slash)."""
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / "p.png"), np.zeros((4, 4, 3), np.uint8))
    x, y = tmp_path / "x" / "p.png", tmp_path / "y" / "p.png"
    cases = {
        (x, y, "-o", tmp_path / "out"): f"{x} and {y} would both be written to {tmp_path / 'out' / 'p.png'}",
        (x, "-o", f"{tmp_path / 'x'}/"): f"output {x} would overwrite the input",
        (x, y, "-o", x): f"output {x} is a file; several pictures need a folder",
        (x, y, "-o", tmp_path / "out", "--optimize"): "--optimize paints one picture at a time",
        (tmp_path / "x", "-o", tmp_path / "painted.png"): f"and {tmp_path / 'painted.png'} is named as a picture; "
                                                          "give a folder name",
    }
    for args, message in cases.items():
        result = run_cli(cli_env, "image", *args, "--style", "red")
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert message in result.stderr.strip().splitlines()[-1]
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["x", "x/p.png", "y", "y/p.png"]
    one = run_cli(cli_env, "image", x, "-o", f"{tmp_path / 'new'}/", "--style", "red")  # a slash: a folder
    assert one.returncode == 0, one.stderr
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["p.png"]


@pytest.mark.parametrize("kind", ["png", "heic", "heic-nclx"])
def test_a_display_p3_photo_is_painted_in_the_colours_a_viewer_shows(tint_models, cli_env, tmp_path: Path,
                                                                   kind: str) -> None:
    """iPhones take photos in Display P3 and say so in an embedded ICC profile, which OpenCV ignores: read as sRGB,
    a skin tone stored as 200,120,80 came out 14 levels duller in red. The picture is converted to sRGB with its
    own profile, as a viewer shows it, before it is painted (matched to a direct colour-matrix computation). A
    HEIC may say Display P3 only in H.273 code points (an nclx box: primaries 12, sRGB's curve 13), as libheif
    writes it; that is followed too."""
    import pillow_heif
    from PIL import Image

    rgb = np.zeros((8, 12, 3), np.uint8)
    rgb[:4] = (200, 120, 80)  # skin
    rgb[4:, :6] = (60, 150, 90)  # foliage
    rgb[4:, 6:] = (70, 110, 190)  # sky
    profile = icc_profile(DISPLAY_P3_PRIMARIES, 2.2, "Display P3 (test)")
    src, dst = tmp_path / f"photo.{kind[:4]}", tmp_path / "painted.png"
    heif = pillow_heif.from_bytes("RGB", (12, 8), rgb.tobytes())
    if kind == "png":
        Image.fromarray(rgb).save(src, icc_profile=profile)
    elif kind == "heic":
        heif.info["icc_profile"] = profile
        heif.save(str(src), quality=100)
    else:
        heif.save(str(src), quality=100, color_primaries=12, transfer_characteristics=13)
    result = run_cli(cli_env, "image", src, "-o", dst, "--style", "red")
    assert result.returncode == 0, result.stderr
    seen = cv2.cvtColor(as_srgb(rgb, DISPLAY_P3_PRIMARIES, None if kind == "heic-nclx" else 2.2), cv2.COLOR_RGB2BGR)
    assert np.abs(seen[0, 0].astype(int) - cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)[0, 0]).max() >= 10  # it matters
    error = np.abs(cv2.imread(str(dst)).astype(int) - apply_tint(seen, RED))
    assert error.max() <= (1 if kind == "png" else 4), error.max()


def test_the_live_windows_effects_paint_a_picture_the_same_way(tmp_path: Path) -> None:
    """A look found live (70 % strength, the scene's colours, coarser strokes) renders into a file with the same
    options: each checked on the pixels against what it means, not against the code that makes it."""
    from realtime.cli import main

    rng = np.random.default_rng(3)
    photo = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    src = tmp_path / "photo.png"
    cv2.imwrite(str(src), photo)
    tinted = apply_tint(photo, RED).astype(float)

    def painted(*options: str) -> np.ndarray:
        dst = tmp_path / f"out{len(list(tmp_path.iterdir()))}.png"
        assert main(["image", str(src), "-o", str(dst), "--style", "red", *options]) == 0
        return cv2.imread(str(dst)).astype(float)

    # 40 % of the painting over the photo.
    assert np.abs(painted("--strength", "40") - (0.6 * photo + 0.4 * tinted)).max() <= 1
    # The painting's brightness, the photo's own colour (chroma): the tint is gone from the colours.
    kept = cv2.cvtColor(painted("--preserve-colour").astype(np.uint8), cv2.COLOR_BGR2YCrCb).astype(int)
    seen = cv2.cvtColor(photo, cv2.COLOR_BGR2YCrCb).astype(int)
    tint_luma = cv2.cvtColor(apply_tint(photo, RED), cv2.COLOR_BGR2YCrCb)[..., 0].astype(int)
    assert np.abs(kept[..., 0] - tint_luma).mean() <= 2 and np.abs(kept[..., 1:] - seen[..., 1:]).mean() <= 2
    assert np.abs(apply_tint(photo, RED).astype(int) - kept).mean() > 10  # the tint did change the colours
    # Coarser strokes: the network sees the picture at half size, so a 1-pixel checkerboard reaches it as flat grey.
    checks = np.indices((24, 32)).sum(axis=0) % 2 * 255
    cv2.imwrite(str(src), np.repeat(checks[..., None], 3, axis=2).astype(np.uint8))
    def spread(image: np.ndarray) -> float:
        return float(np.ptp(image, axis=(0, 1)).max())

    assert spread(painted()) > 100 and spread(painted("--stroke-scale", "2")) <= 4


def test_a_blend_found_live_renders_into_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--blend is the live window's b key for files: 30 % of a second style's painting (two models: their outputs
    mixed; two styles of one multi-style model: mixed inside the network), named as the overlay names it. A
    multi-style model named whole is ambiguous and refused in one line."""
    from realtime.cli import main

    photo = np.random.default_rng(5).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    src = tmp_path / "photo.png"
    cv2.imwrite(str(src), photo)
    cv2.imwrite(str(tmp_path / "other.png"), photo[::-1])
    outputs_mixed = 0.7 * apply_tint(photo, RED) + 0.3 * apply_tint(photo, BLUE)
    inside = apply_tint(photo, tuple(tuple(0.7 * a + 0.3 * b for a, b in zip(x, y, strict=True))
                                     for x, y in zip(RED, BLUE, strict=True)))  # one tint: clipped once
    assert np.abs(inside - outputs_mixed).max() > 20  # the two ways differ where a channel clips
    for style, other, expected in (("red", "blue:30", outputs_mixed), ("duo/red", "duo/blue:30%", inside)):
        out = tmp_path / style.replace("/", "-")
        assert main(["image", str(src), str(tmp_path / "other.png"), "-o", f"{out}/", "--style", style,
                     "--blend", other]) == 0
        assert np.abs(cv2.imread(str(out / "photo.png")) - expected).max() <= 1, style
        assert f"painting 2 pictures with {style} 70% + {other.split(':')[0]} 30%" in capsys.readouterr().err
    assert main(["image", str(src), "-o", str(tmp_path / "x.png"), "--style", "red", "--blend", "duo"]) == 2
    assert capsys.readouterr().err.strip() == ("stylecast: error: --style and --blend must name one style each; a "
                                               "multi-style model's styles are MODEL/STYLE (`stylecast models` "
                                               "lists them)")
    assert not (tmp_path / "x.png").exists()


def test_a_video_is_painted_with_the_live_effects(cli_env, tmp_path: Path) -> None:
    """The same options on a clip: half the painting over each frame, in the frame's own colours."""
    grey = np.full((64, 96, 3), (60, 140, 200), np.uint8)
    src = encoded_clip(tmp_path / "clip.mp4", [grey] * 6, lambda stream: None)
    dst = tmp_path / "out.mp4"
    result = run_cli(cli_env, "video", src, "-o", dst, "--style", "red", "--strength", "50", "--preserve-colour")
    assert result.returncode == 0, result.stderr
    frame = first_frame(dst)[8:-8, 8:-8].reshape(-1, 3).mean(axis=0)
    source = first_frame(src)[8:-8, 8:-8]
    kept = cv2.cvtColor(apply_tint(source, RED), cv2.COLOR_BGR2YCrCb)
    kept[..., 1:] = cv2.cvtColor(source, cv2.COLOR_BGR2YCrCb)[..., 1:]
    expected = 0.5 * source.reshape(-1, 3).mean(axis=0) + 0.5 * cv2.cvtColor(kept, cv2.COLOR_YCrCb2BGR).reshape(
        -1, 3).mean(axis=0)
    assert np.abs(frame - expected).max() <= 5, (frame, expected)  # H.264 and 4:2:0 chroma
    assert np.abs(frame - apply_tint(source, RED).reshape(-1, 3).mean(axis=0)).max() > 20  # not the plain painting


def phone_exif(orientation: int = 1):  # noqa: ANN201 - PIL.Image.Exif
    """A phone photo's EXIF: camera, date, place, its pixel size, and how to turn it upright."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Apple", "iPhone 15", orientation
    exif.get_ifd(0x8769).update({0x9003: "2024:07:14 18:02:11", 0xA002: 999, 0xA003: 777})
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    return exif


def test_a_painted_photo_keeps_when_and_where_it_was_taken(tmp_path: Path) -> None:
    """A painting without its photo's EXIF lands in a photo library under the day it was painted, with no place:
    date, place and camera are kept (JPEG, PNG, WebP and TIFF, from a JPEG and from a HEIC); what no longer holds is put
    right (the painting is upright, so its orientation is 1; its own pixel size; not a TIFF's strip layout), and the
    pixels are those of the painting written without it; --no-metadata leaves it all out."""
    import pillow_heif
    from PIL import Image

    from realtime.cli import main

    photo = np.full((40, 60, 3), 120, np.uint8)
    photo[:10] = 250  # a bright band at the top of the stored pixels, which a turn of 90 degrees moves
    jpeg, heic = tmp_path / "IMG_0001.jpg", tmp_path / "IMG_0002.HEIC"
    Image.fromarray(photo).save(jpeg, quality=95, exif=phone_exif(orientation=6))
    heif = pillow_heif.from_bytes("RGB", (60, 40), photo.tobytes())
    heif.save(str(heic), quality=90, exif=phone_exif().tobytes())

    def exif_of(path: Path) -> dict[str, object]:
        with Image.open(path) as picture:  # a TIFF's sub-directories are read from the open file
            exif = picture.getexif()
            shape = picture.size
            inner, gps = exif.get_ifd(0x8769), exif.get_ifd(0x8825)
        return {"camera": (exif.get(0x010F), exif.get(0x0110)), "orientation": exif.get(0x0112),
                "date": inner.get(0x9003), "size": (inner.get(0xA002), inner.get(0xA003)), "shape": shape,
                "place": (gps.get(1), tuple(gps.get(2, ())), gps.get(3), tuple(gps.get(4, ())))}

    taken = {"camera": ("Apple", "iPhone 15"), "date": "2024:07:14 18:02:11",
             "place": ("N", (48.0, 51.0, 24.0), "E", (2.0, 21.0, 3.0))}
    for src, dst, options in ((jpeg, "painted.jpg", []), (jpeg, "painted.png", ["--size", "30"]),
                              (jpeg, "painted.webp", []), (jpeg, "painted.tif", []), (heic, "heic.jpg", [])):
        assert main(["image", str(src), "-o", str(tmp_path / dst), "--style", "red", *options]) == 0
        kept = exif_of(tmp_path / dst)
        assert {key: kept[key] for key in taken} == taken, dst
        assert kept["orientation"] == 1 and kept["size"] == kept["shape"], (dst, kept)
    assert exif_of(tmp_path / "painted.jpg")["shape"] == (40, 60)  # written upright: portrait
    assert exif_of(tmp_path / "painted.png")["shape"] == (20, 30)
    assert cv2.imread(str(tmp_path / "painted.jpg"))[:, -10:].mean() > cv2.imread(str(tmp_path / "painted.jpg"))[
        :, :10].mean() + 50  # the band turned to the right side, as the orientation said
    assert main(["image", str(jpeg), "-o", str(tmp_path / "shared.jpg"), "--style", "red", "--no-metadata"]) == 0
    assert main(["image", str(jpeg), "-o", str(tmp_path / "plain.tif"), "--style", "red", "--no-metadata"]) == 0
    assert np.array_equal(cv2.imread(str(tmp_path / "painted.tif")), cv2.imread(str(tmp_path / "plain.tif")))
    # A TIFF's own layout (strips, sizes), which Pillow reads as EXIF, is not the painting's: nothing to keep.
    Image.fromarray(photo).save(tmp_path / "scan.tif")
    assert main(["image", str(tmp_path / "scan.tif"), "-o", str(tmp_path / "scan.jpg"), "--style", "red"]) == 0
    for name in ("shared.jpg", "scan.jpg"):
        with Image.open(tmp_path / name) as written:
            assert len(written.getexif()) == 0, name


def test_a_huge_picture_s_header_does_not_trip_the_exif_reader(tmp_path: Path) -> None:
    """Pillow refuses to open a picture of more than 179 million pixels (a guard against decompression bombs);
    reading a header for its colour profile and EXIF must not turn that into a traceback or a warning."""
    import struct
    import warnings
    import zlib

    from realtime.picture_io import picture_header

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 14200, 14200, 8, 0, 0, 0, 0)  # 201 million grey pixels, no data to speak of
    path = tmp_path / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) +
                     chunk(b"IEND", b""))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert picture_header(path) == (None, None)


def test_a_painted_clip_keeps_when_and_where_it_was_filmed(cli_env, tmp_path: Path) -> None:
    """A phone clip's creation time and place stay with its painting; an iPhone's place, which it states only in
    an Apple key, is written to the standard location tag every library reads. --no-metadata leaves them out."""
    def tag(stream: av.video.stream.VideoStream) -> None:
        stream.container.metadata.update({"creation_time": "2024-07-14T18:02:11.000000Z",
                                          "com.apple.quicktime.location.ISO6709": "+48.8566+002.3522+035.000/",
                                          "com.apple.quicktime.make": "Apple"})

    frames = [np.full((48, 64, 3), 90, np.uint8)] * 4
    src = encoded_clip(tmp_path / "IMG_0003.MOV", frames, tag, options={"movflags": "use_metadata_tags"})
    with av.open(str(src)) as clip:
        assert clip.metadata["com.apple.quicktime.location.ISO6709"] == "+48.8566+002.3522+035.000/"
    for name, options in (("kept.mp4", []), ("shared.mp4", ["--no-metadata"])):
        result = run_cli(cli_env, "video", src, "-o", tmp_path / name, "--style", "red", *options)
        assert result.returncode == 0, result.stderr
    with av.open(str(tmp_path / "kept.mp4")) as kept, av.open(str(tmp_path / "shared.mp4")) as shared:
        assert kept.metadata["creation_time"] == "2024-07-14T18:02:11.000000Z"
        assert kept.metadata["location"].startswith("+48.8566+002.3522+35.0")  # the muxer's own number format
        assert "creation_time" not in shared.metadata and "location" not in shared.metadata


def test_one_style_of_a_multi_style_model_by_name(cli_env, tmp_path: Path) -> None:
    image = np.random.default_rng(1).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    cv2.imwrite(str(src), image)
    result = run_cli(cli_env, "image", src, "-o", dst, "--style", "duo/blue")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(cv2.imread(str(dst)), apply_tint(image, BLUE))
    missing = run_cli(cli_env, "image", src, "-o", tmp_path / "x.png", "--style", "duo/green")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines()[-1].endswith("duo.onnx has no style 'green'; it has: red, blue")
    assert not (tmp_path / "x.png").exists()


def test_engine_runs_multi_style_blends(tint_models) -> None:
    model = StyleModel(tint_models["duo"], device="cpu")
    frame = np.full((4, 6, 3), 100, np.uint8)
    np.testing.assert_array_equal(model.run(frame), apply_tint(frame, RED))
    model.set_style_weights(np.array([0, 1]))
    np.testing.assert_array_equal(model.run(frame), apply_tint(frame, BLUE))
    model.set_style_weights(np.array([1, 1]))
    half = tuple(tuple((a + b) / 2 for a, b in zip(x, y, strict=True)) for x, y in zip(RED, BLUE, strict=True))
    np.testing.assert_array_equal(model.run(frame), apply_tint(frame, half))
    with pytest.raises(StylecastError):
        model.set_style_weights(np.array([0, 0]))


def test_video_conversion_keeps_frames_size_rate_and_audio(cli_env, sample_clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"
    result = run_cli(cli_env, "video", sample_clip, "-o", dst, "--style", "red")
    assert result.returncode == 0, result.stderr
    src_info, out_info = probe(sample_clip), probe(dst)
    assert out_info == src_info and out_info["audio"] == ["aac"]
    # The picture was really stylized: the red tint shows in the pixels (H.264 noise aside).
    expected = apply_tint(first_frame(sample_clip), RED).astype(float)
    assert np.abs(first_frame(dst).astype(float) - expected).mean() < 4


def test_real_clip_with_audio_converts_end_to_end(cli_env, tmp_path: Path) -> None:
    src = asset("videos", "cutBunny.mp4")
    dst = tmp_path / "bunny.mp4"
    result = run_cli(cli_env, "video", src, "-o", dst, "--style", "blue")
    assert result.returncode == 0, result.stderr
    a, b = probe(src), probe(dst)
    assert (b["frames"], b["size"], b["fps"]) == (a["frames"], a["size"], a["fps"]) == (240, (640, 360), 24)
    assert b["audio"] == ["aac"]


def test_webm_output_re_encodes_a_cd_rate_soundtrack_in_opus(cli_env, tmp_path: Path) -> None:
    """WebM holds only Opus or Vorbis, and Opus runs at 48 kHz, not the 44.1 kHz of most AAC soundtracks: the
    audio is resampled, not a crash, and still lasts as long as the picture."""
    src = asset("videos", "cutBunny.mp4")
    dst = tmp_path / "bunny.webm"
    result = run_cli(cli_env, "video", src, "-o", dst, "--style", "blue", "--size", "180")  # VP9 is slow
    assert result.returncode == 0, result.stderr
    info = probe(dst)
    assert (info["frames"], info["fps"], info["audio"]) == (240, 24, ["opus"])
    with av.open(str(dst)) as c:
        samples = [(frame.samples, frame.sample_rate) for frame in c.decode(audio=0)]
    assert {rate for _, rate in samples} == {48000}
    assert sum(n for n, _ in samples) / 48000 == pytest.approx(10.0, abs=0.05)


def gif_frames(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """A GIF's frames as shown (BGR) and the times they appear, in seconds."""
    with av.open(str(path)) as c:
        decoded = [(frame.to_ndarray(format="bgr24"), float(frame.time)) for frame in c.decode(video=0)]
    return [image for image, _ in decoded], [time for _, time in decoded]


def test_gif_output_is_silent_looping_and_keeps_colours_and_timing(cli_env, sample_clip: Path,
                                                                  tmp_path: Path) -> None:
    """A GIF for sharing: every frame at its own time (to GIF's hundredths of a second), looping forever, no
    soundtrack (said once, not an error), and 256 colours chosen for this clip: close to the painted frames,
    where a fixed 3-3-2 palette (GIF
    encoders' fallback) is several times further off."""
    dst = tmp_path / "share.gif"
    result = run_cli(cli_env, "video", sample_clip, "-o", dst, "--style", "red")
    assert result.returncode == 0, result.stderr
    assert "hold no sound: the soundtrack is left out" in result.stderr
    with av.open(str(dst)) as c:
        assert c.format.name == "gif" and not c.streams.audio
    images, times = gif_frames(dst)
    with av.open(str(sample_clip)) as c:
        source = [(frame.to_ndarray(format="bgr24"), float(frame.time)) for frame in c.decode(video=0)]
    assert len(images) == len(source) == 144
    assert np.abs(np.array(times) - [t for _, t in source]).max() <= 0.01
    painted = [apply_tint(image, RED) for image, _ in source]
    error = np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(images, painted, strict=True)])
    steps = 256 / np.array([4, 8, 8])  # the fixed palette: 4 blues, 8 greens, 8 reds
    fixed = np.mean([np.abs((b // steps + 0.5) * steps - b).mean() for b in painted])
    assert error < 4 and fixed > 3 * error, (error, fixed)
    loop = dst.read_bytes().find(b"NETSCAPE2.0")
    assert loop > 0 and dst.read_bytes()[loop + 13:loop + 15] == b"\0\0"  # loop count 0: for ever


def test_gif_keeps_at_most_fifty_frames_a_second(cli_env, tmp_path: Path) -> None:
    """Browsers play a GIF delay under 2/100 s as 10/100 s, so a 60 fps clip written frame for frame would crawl
    at a sixth of its speed: every other frame is kept instead, and the clip lasts as long as before."""
    src = variable_rate_video(tmp_path / "fast.mp4", [round(i * 1000 / 60) for i in range(30)])
    dst = tmp_path / "fast.gif"
    result = run_cli(cli_env, "video", src, "-o", dst, "--style", "red")
    assert result.returncode == 0, result.stderr
    _, times = gif_frames(dst)
    assert len(times) == 15
    assert min(np.diff(times)) >= 0.02 and times[-1] == pytest.approx(28 / 60, abs=0.01)


# A child process writes a GIF of big frames and reports its peak memory before and after. 90 frames of 960x540
# are 140 MB raw; the one-graph palette of sessions 18-22 held them all until the last and grew by ~2.5 MB a frame,
# where the spooling one grows by ~25 MB in all.
GIF_MEMORY_PROBE = """
import resource, sys
from fractions import Fraction
from pathlib import Path
import numpy as np
from realtime.video_io import VideoWriter

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

out = Path(sys.argv[1])
ramp = np.linspace(0, 255, 960, dtype=np.uint8)
frames = [np.dstack([np.roll(ramp, 8 * i)[None].repeat(540, 0), np.full((540, 960), 3 * i, np.uint8),
                     np.roll(ramp, -5 * i)[None].repeat(540, 0)]) for i in range(2)]
with VideoWriter(out, 960, 540, Fraction(25)) as writer:
    writer.write(frames[0])
    before = peak_mb()
    for i in range(1, 90):
        image = frames[i % 2].copy()
        image[:, i * 8:i * 8 + 16] = 255 - image[:, i * 8:i * 8 + 16]  # every frame differs from the last
        writer.write(image)
print(before, peak_mb())
"""


def test_a_long_gif_waits_on_disk_not_in_memory(tmp_path: Path) -> None:
    """A GIF's palette needs every frame before the first can be mapped. The frames wait on disk meanwhile, in a
    file with no name in the output's folder, so a long or large GIF costs no more memory than a short one and
    leaves nothing behind; every frame still arrives, at its own time."""
    out = tmp_path / "long.gif"
    done = subprocess.run([sys.executable, "-c", GIF_MEMORY_PROBE, str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    before, after = map(float, done.stdout.split())
    assert after - before < 60, (before, after)  # MB
    assert [p.name for p in tmp_path.iterdir()] == ["long.gif"]
    images, times = gif_frames(out)
    assert len(images) == 90 and times[-1] == pytest.approx(89 / 25, abs=0.01)


def test_a_gif_too_big_for_the_disk_is_refused_before_painting(sample_clip: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The frames of a clip whose header gives its length are counted before any painting: a GIF that would not
    fit on the output's disk while they wait is refused in one line, with the way out, and leaves no file."""
    import shutil
    from types import SimpleNamespace

    from realtime.cli import main

    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=10**8))
    assert main(["video", str(sample_clip), "-o", str(tmp_path / "share.gif"), "--style", "red"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("stylecast: error: a 640x360 GIF of 144 frames needs 133 MB free in ") and \
        error.endswith("and 100 MB is; use a smaller --size, a shorter clip or .mp4") and "\n" not in error, error
    assert list(tmp_path.iterdir()) == []


def flash_and_click_times(path: Path) -> tuple[list[float], float, float]:
    """A clip's frame times, and when its brightest frame and its loudest sample come."""
    with av.open(str(path)) as c:
        frames = [(float(f.time), f.to_ndarray(format="gray").mean()) for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        chunks = [(float(f.time), f.to_ndarray().reshape(-1, f.samples).mean(axis=0)) for f in c.decode(audio=0)]
    rate = 48000
    sound = np.concatenate([samples for _, samples in chunks])
    click = chunks[0][0] + int(np.argmax(np.abs(sound))) / rate
    return [t for t, _ in frames], max(frames, key=lambda f: f[1])[0], click


def test_a_part_of_a_clip_keeps_picture_and_sound_together(cli_env, tmp_path: Path) -> None:
    """--start and --duration paint just that part, timed from its start: a flash and a click 2.0 s into the clip
    come 0.5 s into the part cut from 1.5 s, still together, the sound starts with the picture, and the part lasts
    as long as asked."""
    src = flash_and_click_video(tmp_path / "clap.mp4", at=2.0)
    _, flash, click = flash_and_click_times(src)
    assert flash == pytest.approx(2.0, abs=0.02) and click == pytest.approx(2.0, abs=0.01)
    dst = tmp_path / "part.mp4"
    result = run_cli(cli_env, "video", src, "-o", dst, "--style", "red", "--start", "1.5", "--duration", "1.5")
    assert result.returncode == 0, result.stderr
    times, flash, click = flash_and_click_times(dst)
    assert len(times) == 45 and times[0] == pytest.approx(0, abs=0.001)
    assert flash == pytest.approx(0.5, abs=0.02) and click == pytest.approx(0.5, abs=0.01)
    with av.open(str(dst)) as c:
        sound = list(c.decode(audio=0))
    heard = sum(frame.samples for frame in sound) / 48000
    assert heard == pytest.approx(1.5, abs=0.05)
    # 1.5 s falls 14 ms into a 21-ms sound packet: the packet is kept and the MP4's edit list skips those 14 ms, so
    # the sound starts with the picture instead of after a gap.
    assert float(sound[0].time) == pytest.approx(0, abs=0.001)
    tail = run_cli(cli_env, "video", src, "-o", tmp_path / "tail.mp4", "--style", "red", "--start", "0:03",
                   "--duration", "9")  # past the end: the rest of the clip, not an error
    assert tail.returncode == 0, tail.stderr
    assert len(flash_and_click_times(tmp_path / "tail.mp4")[0]) == 30
    late = run_cli(cli_env, "video", src, "-o", tmp_path / "late.mp4", "--style", "red", "--start", "5")
    assert late.returncode != 0 and not (tmp_path / "late.mp4").exists()
    assert late.stderr.strip().splitlines()[-1].endswith("clap.mp4 is 4.0 s long: nothing to paint from 5 s on")


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_a_parts_sound_is_the_clips_own_from_the_first_sample(tmp_path: Path, suffix: str) -> None:
    """A part cut 1.5 s into a clip (its start 14 ms into a sound packet) sounds exactly as the clip does from 1.5
    s on, from the part's first sample: in an MP4, where the AAC is copied and the edit list skips the packet's
    head, and in a WebM, where it is encoded anew as Opus and cut to the sample. Both keep the packet before as
    the decoder's warm-up (without it an MP4's first 5 ms faded in from a fifth of the level, and a WebM's sound
    started 15 ms late), and mono sound stays mono (as stereo, each side played 3 dB quieter)."""
    from realtime.convert import convert_video
    from realtime.video_io import VideoReader

    src = tone_video(tmp_path / "tone.mp4")
    dst = tmp_path / f"part{suffix}"
    with VideoReader(src) as reader:
        reader.trim(1.5, 1.5)
        convert_video(reader, dst, lambda image: image, progress=False)
    with av.open(str(dst)) as c:
        assert c.streams.audio[0].codec_context.channels == 1
        sound = list(c.decode(audio=0))
    assert float(sound[0].time) == pytest.approx(0, abs=0.001)
    heard = np.concatenate([frame.to_ndarray()[0] for frame in sound])
    assert len(heard) / 48000 == pytest.approx(1.5, abs=0.05)
    np.testing.assert_allclose(heard[:4800], tone(440, 1.5, 0.1), atol=0.03)  # 100 ms, to the sample


def test_a_lower_frame_rate_paints_fewer_frames_at_their_own_times(cli_env, tmp_path: Path) -> None:
    """--fps 10 on a 30 fps clip paints every third frame: a third of the work with a slow quality style. The kept
    frames keep their times (a flash 2.0 s in is still shown 2.0 s in, with its click), the sound is whole, the
    file says 10 fps, and a rate above the clip's drops nothing and says so."""
    src = flash_and_click_video(tmp_path / "clap.mp4", at=2.0)
    dst = tmp_path / "ten.mp4"
    result = run_cli(cli_env, "video", src, "-o", dst, "--style", "red", "--fps", "10")
    assert result.returncode == 0, result.stderr
    assert "(40 frames," in result.stdout
    times, flash, click = flash_and_click_times(dst)
    assert len(times) == 40
    np.testing.assert_allclose(times, np.arange(40) / 10, atol=0.002)
    assert flash == pytest.approx(2.0, abs=0.002) and click == pytest.approx(2.0, abs=0.01)
    with av.open(str(dst)) as c:
        assert c.streams.video[0].average_rate == 10
        heard = sum(frame.samples for frame in c.decode(audio=0)) / 48000
    assert heard == pytest.approx(4.0, abs=0.05)
    every = run_cli(cli_env, "video", src, "-o", tmp_path / "all.mp4", "--style", "red", "--fps", "60")
    assert every.returncode == 0, every.stderr
    assert len(frame_times_ms(tmp_path / "all.mp4")) == 120
    assert "has 30 frames a second, no more than --fps 60: every frame is painted" in every.stderr
    assert "no more than" not in result.stderr


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_written_video_tells_players_its_colours(tmp_path: Path, suffix: str) -> None:
    """Output is encoded with the BT.709 matrix and tagged so: a player that follows the tags shows the painted
    orange as painted (untagged BT.601, players that assume BT.709 were ~10 levels off in red)."""
    from fractions import Fraction

    from av.video.reformatter import Colorspace

    from realtime.video_io import VideoWriter

    orange = np.array([40, 100, 214], np.uint8)
    path = tmp_path / f"orange{suffix}"
    writer = VideoWriter(path, 64, 48, Fraction(10))
    for _ in range(3):
        writer.write(np.tile(orange, (48, 64, 1)))
    writer.close()
    with av.open(str(path)) as c:
        context = c.streams.video[0].codec_context
        assert (context.colorspace, context.color_primaries, context.color_trc) == (1, 1, 1)  # H.273: BT.709
        frame = next(c.decode(video=0))
    shown = frame.reformat(format="bgr24", src_colorspace=Colorspace.ITU709).to_ndarray()
    assert np.abs(shown[8:40, 8:56].astype(int) - orange).max() <= 4


def frame_times_ms(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [round(float(frame.time) * 1000) for frame in c.decode(video=0)]


def test_variable_frame_rate_video_keeps_every_frames_time(cli_env, tmp_path: Path) -> None:
    """A phone clip that slows to 10 fps in the dark and back to 30: each painted frame is shown when the
    original was (re-timed at the average rate, the middle would run up to 0.2 s off its soundtrack)."""
    times = [33 * k for k in range(7)] + [200 + 100 * k for k in range(1, 8)] + [900 + 33 * k for k in range(1, 8)]
    src = variable_rate_video(tmp_path / "phone.mp4", times)
    dst = tmp_path / "painted.mp4"
    result = run_cli(cli_env, "video", src, "-o", dst, "--style", "red")
    assert result.returncode == 0, result.stderr
    assert frame_times_ms(src) == times
    assert frame_times_ms(dst) == times
    assert "HDR" not in result.stderr


def test_hdr_clip_converts_with_a_note_that_it_was_tone_mapped(cli_env, tmp_path: Path) -> None:
    """A phone's HDR (HLG) clip is converted to a standard-range file, and the user is told so. An ordinary clip
    gets no such note."""
    src = hdr_video(tmp_path / "hdr.mp4", sdr_as_hdr(np.full((48, 64, 3), 120, np.uint8), "HLG"), "HLG")
    result = run_cli(cli_env, "video", src, "-o", tmp_path / "painted.mp4", "--style", "red")
    assert result.returncode == 0, result.stderr
    assert f"note: {src} is HDR (HLG): tone-mapped to standard range" in result.stderr
    with av.open(str(tmp_path / "painted.mp4")) as painted:
        assert painted.streams.video[0].codec_context.color_trc == 1  # tagged BT.709, not HLG


def upright_first_frame(path: Path) -> np.ndarray:
    """The first frame as OpenCV shows it: turned by the container's display rotation (an independent reading)."""
    capture = cv2.VideoCapture(str(path))
    ok, image = capture.read()
    capture.release()
    assert ok
    return image


def test_portrait_phone_clip_is_painted_upright(cli_env, tmp_path: Path) -> None:
    """A clip stored landscape with a 90-degree display rotation (a phone held upright) comes out portrait, the
    right way up, as every player showed the original; not on its side with the rotation lost."""
    src = rotated_video(tmp_path / "portrait.mp4", 90)
    dst = tmp_path / "painted.mp4"
    result = run_cli(cli_env, "video", src, "-o", dst, "--style", "red")
    assert result.returncode == 0, result.stderr
    expected = apply_tint(upright_first_frame(src), RED)
    out = first_frame(dst)
    assert out.shape == expected.shape == (96, 64, 3)
    assert np.abs(out.astype(float) - expected).mean() < 4


def test_non_square_pixels_are_painted_as_shown(cli_env, tmp_path: Path) -> None:
    """A widescreen DVD-style clip (72x64 stored, 16:9 pixels) is painted and written at 128x64 square pixels, so
    a disc stays round instead of being squeezed to a tall ellipse."""
    src = anamorphic_video(tmp_path / "dvd.mp4")
    dst = tmp_path / "painted.mp4"
    result = run_cli(cli_env, "video", src, "-o", dst, "--style", "blue")
    assert result.returncode == 0, result.stderr
    out = first_frame(dst)
    assert out.shape[:2] == (64, 128)
    rows, cols = np.nonzero(out.max(axis=2) > 128)
    assert abs((cols.max() - cols.min()) - (rows.max() - rows.min())) <= 2  # ~40 pixels each way


@pytest.mark.parametrize("degrees", [180, 270])
def test_video_reader_turns_frames_as_players_do(tmp_path: Path, degrees: int) -> None:
    from realtime.video_io import VideoFrame, VideoReader

    src = rotated_video(tmp_path / "turned.mp4", degrees)
    with VideoReader(src) as reader:
        first = next(item for item in reader.items() if isinstance(item, VideoFrame))
        size = (reader.info.width, reader.info.height)
    expected = upright_first_frame(src)
    assert size == (expected.shape[1], expected.shape[0]) and first.image.shape == expected.shape
    assert np.abs(first.image.astype(float) - expected).mean() < 2  # two FFmpeg builds' colour conversions


def combing(image: np.ndarray) -> float:
    """How far each row sits from the mean of its neighbours: comb teeth (rows from two moments) score high."""
    rows = image.astype(float)
    return float(np.abs(rows[1:-1] - (rows[:-2] + rows[2:]) / 2).mean())


def test_interlaced_clip_is_read_as_whole_frames(tmp_path: Path) -> None:
    """A camcorder's interlaced clip is deinterlaced before painting: the comb teeth along a fast-moving bar are
    gone (a network would paint them as stripes), and every frame keeps its place and time."""
    from realtime.video_io import VideoFrame, VideoReader

    src = interlaced_video(tmp_path / "camcorder.mp4")
    with av.open(str(src)) as stored:
        raw = [(frame.pts, frame.to_ndarray(format="bgr24")) for frame in stored.decode(video=0)]
    with VideoReader(src) as reader:
        read = [item for item in reader.items() if isinstance(item, VideoFrame)]
    assert [frame.pts for frame in read] == [pts for pts, _ in raw]
    assert min(combing(image) for _, image in raw) > 10
    assert max(combing(frame.image) for frame in read) < 2
    bar_columns = [np.nonzero(frame.image[48, :, 1] > 128)[0] for frame in read]
    assert all(len(columns) >= 14 for columns in bar_columns)  # the bar itself is still there, whole


def test_clip_turning_interlaced_part_way_is_deinterlaced_from_there(tmp_path: Path) -> None:
    """A recording that starts progressive and turns interlaced later (a broadcast cutting from a film to a
    studio) loses its comb teeth where they begin, and its progressive start comes out exactly as decoded."""
    from realtime.video_io import VideoFrame, VideoReader

    src = progressive_then_interlaced_video(tmp_path / "broadcast.ts", frames=4)
    with av.open(str(src)) as stored:
        raw = [(frame.pts, frame.interlaced_frame, frame.to_ndarray(format="bgr24"))
               for frame in stored.decode(video=0)]
    assert [interlaced for _, interlaced, _ in raw] == [False] * 4 + [True] * 4
    with VideoReader(src) as reader:
        read = [item for item in reader.items() if isinstance(item, VideoFrame)]
    assert [frame.pts for frame in read] == [pts for pts, _, _ in raw]
    assert all(np.array_equal(frame.image, image) for frame, (_, _, image) in zip(read[:4], raw[:4], strict=True))
    assert min(combing(image) for _, _, image in raw[4:]) > 10
    assert max(combing(frame.image) for frame in read) < 2


def test_video_size_option_resizes_keeping_aspect(cli_env, sample_clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "small.mp4"
    result = run_cli(cli_env, "video", sample_clip, "-o", dst, "--style", "grey", "--size", "181", "--no-audio")
    assert result.returncode == 0, result.stderr
    info = probe(dst)
    assert info["size"] == (322, 180) and info["audio"] == [] and info["frames"] == 144


def test_cuda_on_a_cpu_machine_is_a_clear_error(cli_env, tmp_path: Path) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers() and _cuda_works(cli_env):
        pytest.skip("a working CUDA device is present")
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), np.zeros((8, 8, 3), np.uint8))
    result = run_cli(cli_env, "image", src, "-o", tmp_path / "out.png", "--style", "red", "--device", "cuda")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cuda" in lines[0].lower(), result.stderr
    assert not (tmp_path / "out.png").exists()


def _cuda_works(env) -> bool:  # noqa: ANN001
    code = "import onnxruntime as o; print(o.get_device())"
    return "GPU" in subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout \
        and Path("/dev/nvidia0").exists()


def test_auto_device_reports_what_it_got(cli_env, sample_clip: Path) -> None:
    result = run_cli(cli_env, "bench", "--input", sample_clip, "--style", "red", "--frames", "8",
                     "--size", "160x120", "--size", "320x240")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "device cpu (CPUExecutionProvider)" in out or "device cuda" in out
    for column in ("decode ms", "infer ms", "encode ms", "end-to-end fps"):
        assert column in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("160x120", "320x240"))]
    assert len(rows) == 2 and all(float(r[-1]) > 0 and r[1] == "8" for r in rows)


def test_bench_compare_reports_side_by_side_ratios(cli_env, sample_clip: Path) -> None:
    result = run_cli(cli_env, "bench", "--input", sample_clip, "--compare", "red,blue", "--frames", "4",
                     "--rounds", "2", "--size", "96x64")
    assert result.returncode == 0, result.stderr
    assert "96x64, 4 frames x 2 interleaved rounds" in result.stdout
    rows = {line.split()[1]: line.split() for line in result.stdout.splitlines() if line.startswith("stylecast ")}
    assert set(rows) == {"red", "blue"}
    assert float(rows["red"][4]) == 1.0  # the first contestant is the reference
    assert float(rows["blue"][4]) > 0 and float(rows["blue"][3]) > 0


def test_models_lists_styles_with_credits(cli_env) -> None:
    result = run_cli(cli_env, "models")
    assert result.returncode == 0, result.stderr
    assert "red tint, stylecast tests (2026), CC0" in result.stdout
    duo = next(line for line in result.stdout.splitlines() if line[2:].startswith("duo "))
    assert "2 styles, blendable: red, blue" in duo


def test_live_default_names_each_style_once_and_aliases_paint_their_style(
        tint_models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalog name that points into a multi-style file (as `udnie-fast` once pointed into `paintings-fast`)
    paints the same pixels as that style of the file, and the live window's default set names each style once:
    the whole file is left out when its styles are named one by one."""
    import json
    import shutil

    from realtime import catalog
    from realtime.loader import load_model

    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copy(tint_models["duo"], shipped / "duo2.onnx")
    (shipped / "catalog.json").write_text(json.dumps({"default": "red2-fast", "models": [
        {"name": "red2-fast", "file": "duo2.onnx", "tier": "fast", "style": "red"},
        {"name": "blue2-fast", "file": "duo2.onnx", "tier": "fast", "style": "blue"},
        {"name": "duo2-fast", "file": "duo2.onnx", "tier": "fast"}]}))
    monkeypatch.setattr(catalog, "shipped_folder", lambda: shipped)
    frame = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    by_alias, by_path, other = (load_model(n, "cpu").run(frame).astype(int)
                                for n in ("red2-fast", "duo2-fast/red", "duo2-fast/blue"))
    assert np.array_equal(by_alias, by_path) and np.abs(by_alias - other).mean() > 1
    assert catalog.live_styles() == ["red2-fast", "blue2-fast"]

    # The same once each style has a single-style file of its own; a whole file with a style nobody else
    # paints stays.
    for name in ("red", "blue", "grey"):
        shutil.copy(tint_models[name], shipped / f"{name}.onnx")
    (shipped / "catalog.json").write_text(json.dumps({"default": "red", "models": [
        {"name": "red-fast", "file": "red.onnx", "tier": "fast"},
        {"name": "blue-fast", "file": "blue.onnx", "tier": "fast"},
        {"name": "duo2-fast", "file": "duo2.onnx", "tier": "fast"}]}))
    assert catalog.live_styles() == ["red-fast", "blue-fast"]
    (shipped / "catalog.json").write_text(json.dumps({"default": "red", "models": [
        {"name": "red-fast", "file": "red.onnx", "tier": "fast"},
        {"name": "grey-fast", "file": "grey.onnx", "tier": "fast"},
        {"name": "duo2-fast", "file": "duo2.onnx", "tier": "fast"}]}))
    assert catalog.live_styles() == ["red-fast", "grey-fast", "duo2-fast"]


def test_each_shipped_painting_is_live_once() -> None:
    """With no --styles the live window loads every shipped painting once, in its real-time tier."""
    from realtime import catalog

    if not (REPO / "models" / "catalog.json").is_file():
        pytest.skip("models/catalog.json is not in this checkout")
    live = catalog.live_styles()
    entries = [catalog.lookup(name) for name in live]
    paintings = [style for e in entries for style in catalog.painted_styles(e)]
    assert len(paintings) == len(set(paintings)) and all(e.tier == "fast" for e in entries), live
    whole = catalog.read_info(catalog.lookup("paintings-fast").path)
    assert {s.name for s in whole.styles} <= set(paintings), live


def test_help_names_the_style_a_user_gets_by_default(capsys: pytest.CaptureFixture) -> None:
    """`stylecast video --help` says which style paints when --style is left out (the shipped default is a
    quality model, a few frames a second on a CPU) and where the real-time ones are."""
    import json

    from realtime.cli import main

    catalog_file = REPO / "models" / "catalog.json"
    if not catalog_file.is_file():
        pytest.skip("models/catalog.json is not in this checkout")
    with pytest.raises(SystemExit):
        main(["video", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert f"(default: {json.loads(catalog_file.read_text())['default']};" in shown
    assert "NAME-fast ones paint in real time" in shown


def test_runtime_needs_no_torch(cli_env, tmp_path: Path) -> None:
    """`pip install stylecast` without the train extra must still stylize: block torch and run a command."""

    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    cv2.imwrite(str(src), np.full((5, 7, 3), 40, np.uint8))
    code = ("import sys; sys.modules['torch'] = None; sys.modules['torchvision'] = None\n"
            "from realtime.cli import main\n"
            f"sys.exit(main(['image', {str(src)!r}, '-o', {str(dst)!r}, '--style', 'red']))")
    result = subprocess.run([sys.executable, "-c", code], env=cli_env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert dst.is_file()
    train = subprocess.run([sys.executable, "-c", code.replace(
        f"['image', {str(src)!r}, '-o', {str(dst)!r}, '--style', 'red']", "['train', '--out', 'x.onnx']")],
        env=cli_env, capture_output=True, text=True)
    assert train.returncode != 0 and "pip install 'stylecast[train]'" in train.stderr


def test_live_file_source_is_read_as_a_conversion_reads_it(tmp_path: Path) -> None:
    """Previewing a clip live shows what converting it will paint: an interlaced clip as whole frames and a phone's
    HDR clip in its real colours (OpenCV's own capture gives comb teeth and washed-out colours)."""
    from realtime.sources import LiveSource

    with LiveSource(str(interlaced_video(tmp_path / "camcorder.mp4"))) as source:
        frame = source.latest()
    assert combing(frame) < 2 and (frame[48, :, 1] > 128).sum() >= 14  # whole frames, the moving bar in them
    grey = np.full((32, 32, 3), 150, np.uint8)
    with LiveSource(str(hdr_video(tmp_path / "phone.mp4", sdr_as_hdr(grey, "HLG"), "HLG"))) as source:
        assert np.abs(source.latest().astype(int) - 150).max() <= 3


def test_live_source_drops_stale_frames_but_conversion_never_does(sample_clip: Path) -> None:
    """A slow consumer of a live source gets the newest frame (older ones are dropped, counted); a file
    conversion of the same clip keeps every frame (checked in the conversion tests)."""
    import time

    from realtime.sources import LiveSource

    with LiveSource(str(sample_clip)) as source:
        got = 0
        started = time.monotonic()
        while time.monotonic() - started < 1.5:
            if source.latest() is None:
                break
            got += 1
            time.sleep(0.2)  # a 5 fps consumer of a 24 fps source
        assert got >= 5
        assert source.dropped >= got  # about 4 of every 5 frames were stale and skipped
        assert source.captured <= 24 * (time.monotonic() - started) + 3  # the file is paced like a camera
