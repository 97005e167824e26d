"""Bad input gets one clear line on stderr, a non-zero exit, no partial output, and an untouched input; unusual but
valid pictures (1x1, 1x10000, 8K, grey, 16-bit, alpha) are painted at their own size.

The table is the catalogue of docs/RELIABILITY.md: one row per input, the substring its one-line error must hold.
"""

from __future__ import annotations

import hashlib
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from realtime.cli import main
from tests.conftest import REPO, run_cli
from tests.media_factory import cut_copy, damaged_copy, zero_frame_video
from tests.model_factory import RED, apply_tint, garbled_metadata_model, off_contract_model, tint_model


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, sample_clip: Path) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    cv2.imwrite(str(folder / "photo.png"), np.full((10, 12, 3), 90, np.uint8))
    (folder / "clip.mp4").write_bytes(sample_clip.read_bytes())
    (folder / "notes.mp4").write_text("this is a text file, not a video\n")
    (folder / "empty.mp4").write_bytes(b"")
    data = sample_clip.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 3])
    cut_copy(sample_clip, folder / "cut.mp4")
    damaged_copy(sample_clip, folder / "corrupt.mp4")
    zero_frame_video(folder / "zero.mp4")
    (folder / "model.onnx").write_text("not a model")
    tint_model(folder / "bare.onnx", [RED], ["bare"], metadata=False)
    off_contract_model(folder / "off.onnx")
    garbled_metadata_model(folder / "garbled.onnx")
    return folder


@pytest.fixture
def workdir(tmp_path: Path, bad_files: Path) -> Path:
    shutil.copytree(bad_files, tmp_path, dirs_exist_ok=True)
    (tmp_path / "adir.png").mkdir()
    return tmp_path


CASES = {
    "missing image": (["image", "nope.png", "-o", "out.png", "--style", "red"], "input not found"),
    "missing video": (["video", "nope.mp4", "-o", "out.mp4", "--style", "red"], "input not found"),
    "text renamed .mp4": (["video", "notes.mp4", "-o", "out.mp4", "--style", "red"], "not a readable video"),
    "empty video": (["video", "empty.mp4", "-o", "out.mp4", "--style", "red"], "not a readable video"),
    "truncated video": (["video", "truncated.mp4", "-o", "out.mp4", "--style", "red"], "video"),
    "text as image": (["image", "notes.mp4", "-o", "out.png", "--style", "red"], "not a readable image"),
    "unknown style": (["image", "photo.png", "-o", "out.png", "--style", "nope"], "unknown style 'nope'"),
    "not an onnx file": (["image", "photo.png", "-o", "out.png", "--style", "./model.onnx"], "not a valid ONNX"),
    "model without metadata": (["image", "photo.png", "-o", "out.png", "--style", "./bare.onnx"],
                               "not a stylecast model"),
    "output folder missing": (["image", "photo.png", "-o", "no/such/out.png", "--style", "red"], "does not exist"),
    "output unwritable": (["video", "clip.mp4", "-o", "/proc/out.mp4", "--style", "red"], "cannot write"),
    "output is a directory": (["image", "photo.png", "-o", "adir.png", "--style", "red"], "is a directory"),
    "output equals input": (["video", "clip.mp4", "-o", "clip.mp4", "--style", "red"], "overwrite the input"),
    "same file other spelling": (["image", "photo.png", "-o", "./adir.png/../photo.png", "--style", "red"],
                                 "overwrite the input"),
    "unsupported video type": (["video", "clip.mp4", "-o", "out.avi", "--style", "red"], "unsupported video type"),
    "unsupported image type": (["image", "photo.png", "-o", "out.gif", "--style", "red"],
                               "unsupported image type .gif for out.gif; use one of .bmp, .jpeg, .jpg, .png"),
    "bad size": (["video", "clip.mp4", "-o", "out.mp4", "--size", "big"], "is not a size"),
    "zero size": (["image", "photo.png", "-o", "out.png", "--size", "0x10"], "between 1 and 16384"),
    "negative threads": (["image", "photo.png", "-o", "out.png", "--threads", "-2"], "must be positive"),
    "unknown device": (["image", "photo.png", "-o", "out.png", "--device", "tpu"], "invalid choice"),
    # issue 8: the rest of the catalogue
    # (--size 90: these fail part-way through a conversion; small frames keep the part before the failure quick)
    "truncated video, index first": (["video", "cut.mp4", "-o", "out.mp4", "--style", "red", "--size", "90"],
                                     "truncated or damaged"),
    "corrupt video": (["video", "corrupt.mp4", "-o", "out.mp4", "--style", "red", "--size", "90"], "decoding failed"),
    "zero-frame video": (["video", "zero.mp4", "-o", "out.mp4", "--style", "red"], "has no video stream"),
    "model breaking the contract": (["image", "photo.png", "-o", "out.png", "--style", "./off.onnx"],
                                    "input 'frame' must be uint8"),
    "model with garbled metadata": (["image", "photo.png", "-o", "out.png", "--style", "./garbled.onnx"],
                                    "is not valid JSON"),
    "negative size": (["image", "photo.png", "-o", "out.png", "--size", "-5"], "between 1 and 16384"),
    "picture beyond 8K": (["image", "photo.png", "-o", "out.png", "--style", "red", "--size", "16000x9000"],
                          "more pixels than the 7680x4320"),
    "video beyond 8K": (["video", "clip.mp4", "-o", "out.mp4", "--style", "red", "--size", "9000"],
                        "more pixels than the 7680x4320"),
    "camera that does not exist": (["webcam", "--camera", "97", "--styles", "red"], "cannot open camera 97"),
    "live source missing": (["webcam", "--source", "nope.mp4", "--styles", "red"], "source not found"),
    "text file as live source": (["webcam", "--source", "notes.mp4", "--styles", "red"], "cannot open source"),
    "empty style list": (["webcam", "--styles", " , "], "names no style"),
    "unknown style in a list": (["webcam", "--source", "clip.mp4", "--styles", "red,nope"], "unknown style 'nope'"),
    "recording folder missing": (["webcam", "--record-dir", "nope", "--styles", "red"], "does not exist"),
    "recording folder unwritable": (["webcam", "--record-dir", "/proc", "--styles", "red"], "cannot write"),
    "strength 500": (["webcam", "--strength", "500"], "between 0 and 100"),
    "strength -5": (["webcam", "--strength=-5"], "between 0 and 100"),
    "stroke scale 5": (["webcam", "--stroke-scale", "5"], "between 0.5 and 2"),
    "zero frames": (["webcam", "--max-frames", "0"], "must be positive"),
    # session 18
    "start not a time": (["video", "clip.mp4", "-o", "out.mp4", "--start", "1:75"], "is not a time"),
    "start past the end": (["video", "clip.mp4", "-o", "out.mp4", "--style", "red", "--start", "7"],
                           "clip.mp4 is 6.0 s long: nothing to paint from 7 s on"),
    "zero duration": (["video", "clip.mp4", "-o", "out.mp4", "--duration", "0"], "must be longer than 0"),
    # session 19
    "frame rate zero": (["video", "clip.mp4", "-o", "out.mp4", "--fps", "0"], "'0' is not a frame rate"),
    # session 20
    "dilations that do not fit": (["train", "--dilations", "1,2", "--out", "out.onnx"],
                                  "dilations 1,2 do not fit a network of 5 residual blocks"),
    # session 24
    "video strength 500": (["video", "clip.mp4", "-o", "out.mp4", "--strength", "500"], "between 0 and 100"),
    "blend of a whole multi-style model": (["image", "photo.png", "-o", "out.png", "--style", "red", "--blend",
                                            "duo"], "--style and --blend must name one style each"),
    "blend share 150": (["image", "photo.png", "-o", "out.png", "--blend", "blue:150"], "between 0 and 100"),
    "stroke scale with --optimize": (["image", "photo.png", "-o", "out.png", "--optimize", "--stroke-scale", "2"],
                                     "--stroke-scale is for style networks"),
    "folder of photos to a picture name": (["image", ".", "-o", "painted.png", "--style", "red"],
                                           "is named as a picture; give a folder name"),
    # session 29: the output's type is checked before the model loads (a broken model here would be reported
    # first otherwise), so a typo costs no painting, nor minutes of --optimize
    "unsupported image type, before the model": (["image", "photo.png", "-o", "out.gif", "--style", "./model.onnx"],
                                                 "unsupported image type"),
    "clip given as a picture": (["image", "clip.mp4", "-o", "out.png", "--style", "red"],
                                "clip.mp4 is a video, not a picture: paint it with stylecast video clip.mp4 -o "
                                "clip-painted.mp4"),
    "picture given as a clip": (["video", "photo.png", "-o", "out.mp4", "--style", "red"],
                                "photo.png is a picture, not a video: paint it with stylecast image photo.png -o "
                                "photo-painted.png"),
}


# What stderr may hold besides the one error line: argparse's usage, and the status line, notes and progress bar
# of a conversion that failed part-way (a truncated file, a full disk).
NOT_ERRORS = re.compile(r"usage:| |(stylizing|painting) .+ with .+ on |note: |.*\| *\d+/\d+ \[")


def assert_refused(result, message: str, workdir: Path, before: dict[str, str]) -> None:  # noqa: ANN001
    """One line naming the problem, a non-zero exit, no traceback, and the folder exactly as it was."""
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip() and not NOT_ERRORS.match(line)]
    assert len(lines) == 1, result.stderr
    assert message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert digest(workdir) == before  # inputs untouched, no partial or temporary file left


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_one_line_and_leaves_nothing(case: str, cli_env, workdir: Path) -> None:
    args, message = CASES[case]
    before = digest(workdir)
    assert_refused(run_cli(cli_env, *args, cwd=workdir), message, workdir, before)


SCRIPT_CASES = {
    "demo_frames: missing clip": (["demo_frames.py", "nope.mp4", "-o", "frames.jpg"], "input not found"),
    "demo_frames: figure over its input": (["demo_frames.py", "clip.mp4", "-o", "clip.mp4"], "overwrite the input"),
    "demo_frames: unsupported picture type": (["demo_frames.py", "clip.mp4", "-o", "frames.gif"],
                                              "unsupported image type"),
    "preview_grid: output folder missing": (["preview_grid.py", "-o", "no/such/grid.jpg"], "does not exist"),
    "bench_temporal: strip folder missing": (["bench_temporal.py", "--strip", "no/such/strip.png"], "does not exist"),
    "live_grid: output folder missing": (["live_grid.py", "-o", "no/such/grid.jpg"], "does not exist"),
}


@pytest.mark.parametrize("case", SCRIPT_CASES, ids=list(SCRIPT_CASES))
def test_repository_scripts_refuse_bad_input_with_one_line(case: str, cli_env, workdir: Path) -> None:
    """The scripts behind the docs' figures fail like the CLI does, and before their minutes of work."""
    (script, *args), message = SCRIPT_CASES[case]
    before = digest(workdir)
    result = subprocess.run([sys.executable, str(REPO / "scripts" / script), *args], env=cli_env, cwd=workdir,
                            capture_output=True, text=True, timeout=240)
    assert_refused(result, message, workdir, before)
    assert result.stderr.strip().startswith(script.removesuffix(".py") + ": ")


@pytest.mark.parametrize("output", ["out.png", "out.mp4", "out.gif"])
def test_full_disk_is_one_line_and_leaves_nothing(output: str, cli_env, workdir: Path) -> None:
    """A disk that fills up mid-write, simulated by a 16 KB file size limit (RLIMIT_FSIZE: no root or mount
    needed; the write fails with EFBIG where a full disk gives ENOSPC, and both take the same path). A GIF's
    frames wait on the disk for its palette (43 KB a frame here), so it fills up at the first frame."""
    noise = np.random.default_rng(0).integers(0, 256, (100, 150, 3), np.uint8)
    cv2.imwrite(str(workdir / "noisy.png"), noise)  # ~45 KB of incompressible output
    args = (["image", "noisy.png", "-o", output] if output.endswith(".png")
            else ["video", "clip.mp4", "-o", output, "--size", "90"])
    before = digest(workdir)
    limit = 16 * 1024
    result = subprocess.run([sys.executable, "-m", "realtime.cli", *args, "--style", "red"], cwd=workdir,
                            env={**cli_env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert_refused(result, f"cannot write {args[3]}: File too large", workdir, before)


def unusual_pictures(folder: Path) -> dict[str, tuple[Path, np.ndarray, np.ndarray | None]]:
    """name -> (file, the BGR picture the network should see, the alpha channel to keep or None)."""
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (40, 50, 3), np.uint8)
    grey = rng.integers(0, 256, (40, 50), np.uint8)
    deep = rng.integers(0, 65536, (40, 50, 3), np.uint16)
    alpha = rng.integers(0, 256, (40, 50), np.uint8)
    pictures = {
        "1x1": (np.full((1, 1, 3), 77, np.uint8), None, None),
        "1x10000": (rng.integers(0, 256, (1, 10000, 3), np.uint8), None, None),
        "10000x1": (rng.integers(0, 256, (10000, 1, 3), np.uint8), None, None),
        "8K": (np.full((4320, 7680, 3), 60, np.uint8), None, None),
        "grey": (grey, cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), None),
        "16-bit": (deep, (deep >> 8).astype(np.uint8), None),
        "alpha": (np.dstack([noise, alpha]), noise, alpha),
    }
    found = {}
    for name, (stored, seen, kept) in pictures.items():
        path = folder / f"{name}.png"
        cv2.imwrite(str(path), stored)
        found[name] = (path, stored if seen is None else seen, kept)
    return found


def test_unusual_pictures_are_painted_at_their_own_size(tmp_path: Path) -> None:
    """Decided: every picture up to 8K is painted, as 8-bit colour (grey expanded, 16-bit scaled down); alpha is
    kept where the output format holds it (PNG) and dropped where not (JPEG)."""
    for name, (path, seen, alpha) in unusual_pictures(tmp_path).items():
        out = tmp_path / f"{name}-painted.png"
        assert main(["image", str(path), "-o", str(out), "--style", "red"]) == 0, name
        painted = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
        assert painted.shape[:2] == seen.shape[:2], name
        every = tuple(slice(None, None, max(1, side // 400)) for side in seen.shape[:2])  # the tint is per pixel
        assert np.abs(painted[every][..., :3].astype(int) - apply_tint(seen[every], RED)).max() <= 1, name
        if alpha is None:
            assert painted.shape[2] == 3, name
        else:
            assert painted.shape[2] == 4 and np.array_equal(painted[..., 3], alpha), name
            assert main(["image", str(path), "-o", str(tmp_path / "flat.jpg"), "--style", "red"]) == 0
            assert cv2.imread(str(tmp_path / "flat.jpg"), cv2.IMREAD_UNCHANGED).shape == (40, 50, 3)
