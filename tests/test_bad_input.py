"""Bad input gets one clear line on stderr, a non-zero exit, no partial output, and an untouched input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import run_cli
from tests.model_factory import RED, tint_model


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def workdir(tmp_path: Path, sample_clip: Path) -> Path:
    cv2.imwrite(str(tmp_path / "photo.png"), np.full((10, 12, 3), 90, np.uint8))
    (tmp_path / "clip.mp4").write_bytes(sample_clip.read_bytes())
    (tmp_path / "notes.mp4").write_text("this is a text file, not a video\n")
    (tmp_path / "empty.mp4").write_bytes(b"")
    data = sample_clip.read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (tmp_path / "model.onnx").write_text("not a model")
    tint_model(tmp_path / "bare.onnx", [RED], ["bare"], metadata=False)
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
    "unsupported image type": (["image", "photo.png", "-o", "out.gif", "--style", "red"], "unsupported image type"),
    "bad size": (["video", "clip.mp4", "-o", "out.mp4", "--size", "big"], "is not a size"),
    "zero size": (["image", "photo.png", "-o", "out.png", "--size", "0x10"], "between 1 and 16384"),
    "negative threads": (["image", "photo.png", "-o", "out.png", "--threads", "-2"], "must be positive"),
    "unknown device": (["image", "photo.png", "-o", "out.png", "--device", "tpu"], "invalid choice"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_one_line_and_leaves_nothing(case: str, cli_env, workdir: Path) -> None:
    args, message = CASES[case]
    before = digest(workdir)
    result = run_cli(cli_env, *args, cwd=workdir)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("usage:")
             and not line.startswith(" ")]
    assert len(lines) == 1, result.stderr
    assert message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert digest(workdir) == before  # inputs untouched, no partial or temporary file left
