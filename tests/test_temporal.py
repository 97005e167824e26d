"""Flicker: the temporal metric on synthetic clips with known answers, the stabiliser, and their commands."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from realtime.stabilizer import Stabilizer
from realtime.temporal import TemporalMeter, masked_mse
from tests.conftest import run_cli
from tests.model_factory import RED, apply_tint
from tests.test_runtime import first_frame, probe

SHAPE = (72, 96)   # height, width: tiny frames keep each test well under a second


def texture(seed: int, shape: tuple[int, int] = SHAPE) -> np.ndarray:
    """Smooth colour noise (blobs of a few pixels): structure that optical flow can follow everywhere."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (shape[0] // 4, shape[1] // 4, 3), dtype=np.uint8)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def shifted(frames: int, step: int = 2, seed: int = 1) -> list[np.ndarray]:
    """A camera pan: the same texture moved ``step`` pixels right per frame."""
    base = texture(seed)
    return [np.roll(base, step * i, axis=1) for i in range(frames)]


def noisy(frame: np.ndarray, rng: np.random.Generator, sigma: float = 8.0) -> np.ndarray:
    """A flickering stylizer: the right picture plus fresh noise every frame."""
    out = apply_tint(frame, RED).astype(np.float32) + rng.normal(0, sigma, frame.shape)
    return np.clip(out, 0, 255).round().astype(np.uint8)


def score(frames: list[np.ndarray], *outputs: list[np.ndarray]):  # noqa: ANN201 - list of summaries
    meter = TemporalMeter(outputs=len(outputs))
    for i, frame in enumerate(frames):
        meter.feed(frame, *(o[i] for o in outputs))
    return [meter.summary(k) for k in range(len(outputs))]


def test_static_scene_has_no_warping_error_and_no_change_ratio() -> None:
    frames = [texture(1)] * 5
    [s] = score(frames, [apply_tint(f, RED) for f in frames])
    assert s.pairs == 4 and s.cuts == 0
    assert s.warping_error < 1e-7 and s.input_floor < 1e-7
    assert s.input_change == 0 and s.output_change == 0
    assert s.change_ratio is None  # undefined when the input does not change


def test_flow_compensates_a_pan() -> None:
    frames = shifted(6)
    outputs = [apply_tint(f, RED) for f in frames]
    [s] = score(frames, outputs)
    plain = masked_mse(outputs[1], outputs[0], np.ones(SHAPE, bool))
    assert plain > 0.01                    # without flow, consecutive frames differ a lot...
    assert s.warping_error < plain / 200   # ...with it, the moved previous frame predicts the current one
    assert s.input_floor < plain / 200
    assert s.change_ratio == pytest.approx(s.output_change / s.input_change) and s.change_ratio > 0


def test_flickering_output_has_large_warping_error() -> None:
    frames = shifted(6)
    rng = np.random.default_rng(0)
    steady, flicker = score(frames, [apply_tint(f, RED) for f in frames], [noisy(f, rng) for f in frames])
    assert flicker.warping_error > 1.5e-3   # two independent noises of sigma 8: about 2 * 64 / 255^2 = 2e-3
    assert flicker.warping_error > 10 * steady.warping_error
    assert flicker.change_ratio > steady.change_ratio


def test_stabilizer_halves_warping_error_of_a_flickering_pan() -> None:
    frames = shifted(12)
    rng = np.random.default_rng(0)
    raw = [noisy(f, rng) for f in frames]
    stabilizer = Stabilizer()
    steady = [stabilizer(f, r) for f, r in zip(frames, raw, strict=True)]
    raw_score, steady_score = score(frames, raw, steady)
    assert steady_score.warping_error < 0.5 * raw_score.warping_error
    assert stabilizer.cuts == 0


def test_stabilizer_resets_at_a_scene_cut() -> None:
    frames = shifted(4) + [cv2.bitwise_not(texture(9))]
    rng = np.random.default_rng(0)
    raw = [noisy(f, rng) for f in frames]
    stabilizer = Stabilizer()
    out = [stabilizer(f, r) for f, r in zip(frames, raw, strict=True)]
    assert not np.array_equal(out[3], raw[3])   # blending was on before the cut...
    np.testing.assert_array_equal(out[4], raw[4])  # ...and the first frame of the new shot is the network's own
    assert stabilizer.cuts == 1
    [s] = score(frames, raw)
    assert s.cuts == 1 and s.pairs == 3         # the metric skips the pair across the cut


def test_stabilizer_reset_and_size_change_pass_frames_through() -> None:
    frames = shifted(3)
    raw = [apply_tint(f, RED) for f in frames]
    stabilizer = Stabilizer()
    stabilizer(frames[0], raw[0])
    stabilizer.reset()
    np.testing.assert_array_equal(stabilizer(frames[1], raw[1]), raw[1])
    small = cv2.resize(frames[2], (48, 36))
    np.testing.assert_array_equal(stabilizer(small, apply_tint(small, RED)), apply_tint(small, RED))


def test_stabilizer_does_not_ghost_a_moving_square() -> None:
    background = texture(3)
    rng = np.random.default_rng(0)
    stabilizer = Stabilizer()
    side, step = 16, 4
    for i in range(8):
        frame = background.copy()
        x = 10 + step * i
        frame[28:28 + side, x:x + side] = 20   # a dark square moving right
        raw = noisy(frame, rng, sigma=2.0)
        out = stabilizer(frame, raw)
    vacated = np.zeros(SHAPE, bool)
    vacated[28:28 + side, x - 2 * step:x] = True        # covered two frames ago, background now
    diff = np.abs(out.astype(np.int16) - raw.astype(np.int16))[vacated]
    square = np.abs(apply_tint(np.full((1, 1, 3), 20, np.uint8), RED).astype(np.int16)
                    - apply_tint(background, RED).astype(np.int16))[vacated].mean()
    assert square > 40                  # a trail of the square would stand out by this much (unmasked: ~30)...
    assert diff.mean() < 3 and np.percentile(diff, 99) < square / 2   # ...but the output there is the raw frame's


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (24, 400), (400, 24), (31, 33)], ids=str)
def test_tiny_and_thin_frames_work(shape: tuple[int, int]) -> None:
    # DIS itself refuses frames under 12 px and crashes on thin ones; the flow is computed at a safe size instead.
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (*shape, 3), dtype=np.uint8)] * 3
    stabilizer = Stabilizer()
    outputs = [stabilizer(f, f) for f in frames]
    [s] = score(frames, outputs)
    assert s.pairs == 2 and s.warping_error < 1e-6


def _figures(stdout: str, label: str) -> list[float]:
    line = next(line for line in stdout.splitlines() if line.startswith(label))
    return [float(v) for v in re.findall(r"\d+(?:\.\d+)?(?:e-?\d+)?", line[len(label):])]


def test_eval_video_prints_flicker_figures(cli_env, sample_clip: Path) -> None:
    result = run_cli(cli_env, "eval", "--video", sample_clip, "--style", "red", "--size", "160x90",
                     "--frames", "16", "--stabilize")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "sample.mp4 at 160x90, 16 frames" in out and "15 frame pairs scored" in out
    raw, steady, ratio = _figures(out, "warping error")
    assert 0 < steady <= raw * 1.05 and ratio == pytest.approx(steady / raw, abs=0.01)
    change_raw, change_steady, _ = _figures(out, "change ratio (out/in)")
    assert 0.2 < change_raw < 2 and 0 < change_steady <= change_raw * 1.05  # a tint only scales the change
    fps_raw, fps_steady, _ = _figures(out, "fps")
    assert fps_raw > 0 and fps_steady > 0
    [floor] = _figures(out, "input floor")
    assert 0 < floor < raw * 2


def test_eval_video_without_stabilizer_and_with_a_bad_clip(cli_env, sample_clip: Path, tmp_path: Path) -> None:
    result = run_cli(cli_env, "eval", "--video", sample_clip, "--style", "red", "--size", "90", "--frames", "6")
    assert result.returncode == 0, result.stderr
    assert len(_figures(result.stdout, "warping error")) == 1 and "stabilized" not in result.stdout
    result = run_cli(cli_env, "eval", "--video", tmp_path / "missing.mp4")
    assert result.returncode != 0 and result.stderr.strip() == f"stylecast: error: input not found: " \
                                                               f"{tmp_path / 'missing.mp4'}"


def test_eval_video_compares_styles_on_the_same_frames(cli_env, sample_clip: Path) -> None:
    """Several styles are scored in one pass, each exactly as it scores alone, with ratios to the first."""
    common = ["eval", "--video", sample_clip, "--size", "160x90", "--frames", "10", "--stabilize"]
    alone = {name: run_cli(cli_env, *common, "--style", name) for name in ("red", "blue")}
    both = run_cli(cli_env, *common, "--style", "red, blue")
    assert both.returncode == 0, both.stderr
    out = both.stdout
    assert "sample.mp4 at 160x90, 10 frames, 2 styles on cpu" in out and "9 frame pairs scored" in out
    for name, result in alone.items():
        assert result.returncode == 0, result.stderr
        raw_alone, steady_alone, _ = _figures(result.stdout, "warping error")
        change_alone, _, _ = _figures(result.stdout, "change ratio (out/in)")
        raw, _, change, _ = _figures(out, f"{name} ")
        steady, _, _, _ = _figures(out, f"{name}, stabilized")
        assert (raw, change) == pytest.approx((raw_alone, change_alone), rel=0.01, abs=1e-6)
        assert steady == pytest.approx(steady_alone, rel=0.01, abs=1e-6)
    red, red_ratio, _, _ = _figures(out, "red ")
    blue, blue_ratio, _, _ = _figures(out, "blue ")
    steady_red, steady_ratio, _, _ = _figures(out, "red, stabilized")
    assert red_ratio == 1 and blue_ratio == pytest.approx(blue / red, abs=0.01)
    assert steady_ratio == pytest.approx(steady_red / red, abs=0.01) and steady_ratio < 1
    [floor] = _figures(out, "input floor")
    assert floor == pytest.approx(_figures(alone["red"].stdout, "input floor")[0], rel=0.01)


def test_eval_video_refuses_an_empty_style_list(cli_env, sample_clip: Path) -> None:
    result = run_cli(cli_env, "eval", "--video", sample_clip, "--style", " , ")
    assert result.returncode != 0 and result.stderr.strip() == ("stylecast: error: --style ' , ' names no style: "
                                                                "give names or .onnx paths, separated by commas "
                                                                "(stylecast models lists the names)")


def test_video_stabilize_keeps_every_frame(cli_env, sample_clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "calm.mp4"
    result = run_cli(cli_env, "video", sample_clip, "-o", dst, "--style", "red", "--size", "160x90", "--stabilize",
                     "--no-audio")
    assert result.returncode == 0, result.stderr
    assert probe(dst)["frames"] == probe(sample_clip)["frames"] == 144
    # The first frame has no past: it is the network's own picture (H.264 noise aside).
    expected = apply_tint(cv2.resize(first_frame(sample_clip), (160, 90), interpolation=cv2.INTER_AREA), RED)
    assert np.abs(first_frame(dst).astype(float) - expected).mean() < 4
