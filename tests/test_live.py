"""The live window for real: an OpenCV window on Xvfb, driven by xdotool key presses, checked on pixels."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import ARTIFACTS, REPO
from tests.headless import MISSING_TOOLS, WHY_MISSING, Live, capture, display_env, find_window, press

pytestmark = pytest.mark.skipif(bool(MISSING_TOOLS), reason=WHY_MISSING)


def screenshot(env: dict[str, str], window: str, name: str = "live_window.png") -> Path:
    """The whole virtual screen as a PNG artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / name
    capture(env, window, shot, whole_screen=True)
    return shot


def test_live_window_switches_styles_snapshots_and_quits(cli_env, sample_clip: Path, display: str,
                                                         tmp_path: Path) -> None:
    from tests.model_factory import BLUE, RED

    env = display_env(cli_env, display)
    with Live(env, ["--source", str(sample_clip), "--loop", "--styles", "red,blue",
                    "--snapshot-dir", str(tmp_path)]) as live:
        live.wait_for("style: red")
        window = find_window(env)
        time.sleep(1.0)
        press(env, window, "s")
        red_shot = Path(live.wait_for("snapshot: ").split(": ", 1)[1])
        press(env, window, "2")
        live.wait_for("style: blue")
        time.sleep(0.5)
        press(env, window, "s")
        blue_shot = Path(live.wait_for("snapshot: ").split(": ", 1)[1])
        shot = screenshot(env, window)
        press(env, window, "n")  # wraps around to the first style
        live.wait_for("style: red")
        press(env, window, "Left")  # arrows work too (their key codes differ between highgui backends)
        live.wait_for("style: blue")
        press(env, window, "space")
        live.wait_for("paused")
        press(env, window, "space")
        live.wait_for("resumed")
        press(env, window, "q")
        assert live.proc.wait(timeout=30) == 0, live._stderr()
        live.wait_for("shown ")
    # Pixels prove which style painted each snapshot: RED lifts the red channel, BLUE the blue one.
    red, blue = (cv2.imread(str(p)).reshape(-1, 3).mean(0) for p in (red_shot, blue_shot))
    assert red[2] > red[0] + 30 and blue[0] > blue[2] + 30, (red, blue)
    assert (RED[1][2], BLUE[1][0]) == (80.0, 80.0)
    # The screenshot shows a real window with the stylized (red-tinted, then blue) feed on the screen.
    screen = cv2.imread(str(shot))
    assert screen is not None and screen.shape[:2] == (800, 1280)
    assert (screen.reshape(-1, 3).max(1) > 0).mean() > 0.1  # a window is drawn, not a blank screen


def test_camera_that_does_not_open_is_one_line(cli_env, display: str) -> None:
    env = {**cli_env, "DISPLAY": display}
    result = subprocess.run([sys.executable, "-m", "realtime.cli", "webcam", "--camera", "97", "--styles", "red"],
                            env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "cannot open camera 97" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("where", "message"), [(None, "DISPLAY is not set"), ("unused", "cannot reach")])
def test_no_screen_is_one_line_not_a_qt_abort(where: str | None, message: str, cli_env, sample_clip: Path,
                                              display: str) -> None:
    """Over ssh without -X, or in a container, Qt would print a paragraph and abort (exit 134); stylecast says
    what is wrong and how to run it. ``display`` (a live Xvfb) proves the check lets a real one through."""
    from realtime.display import check_display

    check_display({"DISPLAY": display}, "linux")  # a reachable server passes
    env = {k: v for k, v in cli_env.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    if where is not None:  # an X display number nothing listens on
        env["DISPLAY"] = f":{int(display[1:]) + 1000}"
    result = subprocess.run([sys.executable, "-m", "realtime.cli", "webcam", "--source", str(sample_clip),
                             "--styles", "red"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and message in errors[0] and "xvfb-run" in errors[0], result.stderr


# -- live controls and outputs (issue 7) --------------------------------------------------------------------------
# A still clip of four flat colours makes every effect predictable on pixels: the expected picture is computed
# from its decoded frame with the tint models' known formula and the effects' own functions.
QUADRANT_COLOURS = ((200, 80, 40), (40, 180, 60), (60, 60, 220), (128, 128, 128))  # BGR: TL, TR, BL, BR


@pytest.fixture(scope="module")
def still_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fractions import Fraction

    from realtime.video_io import VideoWriter

    image = np.zeros((240, 320, 3), np.uint8)
    for (y, x), colour in zip(((0, 0), (0, 160), (120, 0), (120, 160)), QUADRANT_COLOURS, strict=True):
        image[y:y + 120, x:x + 160] = colour
    path = tmp_path_factory.mktemp("still") / "still.mp4"
    writer = VideoWriter(path, 320, 240, Fraction(10))
    for _ in range(10):  # one second at 10 fps
        writer.write(image)
    writer.close()
    return path


def first_frame(path: Path) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))  # the live source's own decoder
    ok, frame = capture.read()
    capture.release()
    assert ok
    return frame


def quadrants(image: np.ndarray, x: int = 0, y: int = 0, w: int | None = None, h: int | None = None) -> np.ndarray:
    """Mean BGR of a patch at the centre of each quarter of a region (the flat-colour areas of the still clip)."""
    h, w = h or image.shape[0], w or image.shape[1]
    r = max(2, min(w, h) // 12)
    return np.array([image[y + cy - r:y + cy + r, x + cx - r:x + cx + r].reshape(-1, 3).mean(0)
                     for cy in (h // 4, 3 * h // 4) for cx in (w // 4, 3 * w // 4)])


def assert_close(actual: np.ndarray, expected: np.ndarray, tolerance: float = 4.0) -> None:
    assert np.abs(actual - expected).max() <= tolerance, (actual.round(1), expected.round(1))


def edge_width(image: np.ndarray) -> int:
    """Columns around the vertical quadrant edge (row 60) that are neither the left nor the right colour."""
    row = image[60, 150:170].astype(int)
    return int(sum(np.abs(p - row[0]).max() > 8 and np.abs(p - row[-1]).max() > 8 for p in row))


def recording_path(line: str) -> Path:
    return Path(line.split(": ", 1)[1].split(" (")[0])


def decoded_frames(path: Path) -> list[np.ndarray]:
    from realtime.video_io import VideoReader

    with VideoReader(path) as reader:
        return [item.image for item in reader.items(with_audio=False)]


def test_live_controls_change_the_picture_and_record(cli_env, still_clip: Path, display: str,
                                                     tmp_path: Path) -> None:
    import importlib.util
    import signal

    from realtime.effects import mix, preserve_colour
    from tests.model_factory import BLUE, RED, apply_tint

    base = first_frame(still_clip)
    red, blue = apply_tint(base, RED), apply_tint(base, BLUE)
    env = display_env(cli_env, display)
    with Live(env, ["--source", str(still_clip), "--loop", "--styles", "red,blue,duo", "--strength", "50",
                    "--snapshot-dir", str(tmp_path), "--record-dir", str(tmp_path)]) as live:
        live.wait_for("style: red")
        window = find_window(env)
        time.sleep(0.5)

        def key(name: str, event: str) -> str:
            press(env, window, name)
            return live.wait_for(event)

        def snap() -> np.ndarray:
            return cv2.imread(key("s", "snapshot: ").split(": ", 1)[1])

        # Strength: --strength 50 is halfway between the camera frame and the painting; keys step by 10%.
        assert_close(quadrants(snap()), quadrants(mix(base, red, 0.5)))
        key("minus", "strength: 40%")
        for _ in range(6):
            key("bracketright", "strength: ")
        assert live.seen[-1] == "strength: 100%"
        plain = snap()
        assert_close(quadrants(plain), quadrants(red))

        # Preserve colour: the painting's luma with the frame's own chroma.
        key("c", "preserve-colour: on")
        kept = snap()
        ycc = [cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb) for img in (kept, base, red)]
        assert_close(quadrants(ycc[0])[:, 1:], quadrants(ycc[1])[:, 1:])
        assert_close(quadrants(ycc[0])[:, 0], quadrants(ycc[2])[:, 0])
        assert_close(quadrants(kept), quadrants(preserve_colour(red, base)))
        key("c", "preserve-colour: off")

        # Flicker filter: on a still scene the stabilised picture is the painting itself (nothing moved).
        key("f", "steady: on")
        assert_close(quadrants(snap()), quadrants(red))
        key("f", "steady: off")

        # Compare: split (left original, right painted), then side by side, then off.
        key("o", "compare: split")
        split = quadrants(snap())
        assert_close(split[[0, 2]], quadrants(base)[[0, 2]])
        assert_close(split[[1, 3]], quadrants(red)[[1, 3]])
        key("o", "compare: side-by-side")
        side = snap()
        assert side.shape == (240, 640, 3)
        assert_close(quadrants(side, 0, 0, 320, 240), quadrants(base))
        assert_close(quadrants(side, 320, 0, 320, 240), quadrants(red))
        screenshot(env, window, "live_side_by_side.png")
        key("o", "compare: off")

        # Grid: every style (red, blue and the two styles of duo) on a quarter-size tile of the same frame.
        key("g", "grid: on")
        grid = snap()
        assert grid.shape == base.shape
        for (x, y), tint in zip(((0, 0), (160, 0), (0, 120), (160, 120)), (RED, BLUE, RED, BLUE), strict=True):
            assert_close(quadrants(grid, x, y, 160, 120), quadrants(apply_tint(base, tint)))
        screenshot(env, window, "live_grid.png")
        key("g", "grid: off")

        # Blend two styles of one multi-style model: mixed in feature space (one run with weights 0.75/0.25),
        # which differs from mixing outputs where the red tint clips (the red quadrant, R=220).
        key("3", "style: duo/red")
        key("b", "blend: duo/red 75% + duo/blue 25%")
        time.sleep(0.8)  # past the cross-fade
        feature = quadrants(snap())
        weights = np.array([0.75, 0.25])
        tint = tuple(tuple(weights @ np.array([r, b])) for r, b in zip(RED, BLUE, strict=True))
        assert_close(feature, quadrants(apply_tint(base, tint)))
        assert abs(feature[2, 2] - quadrants(mix(red, blue, 0.25))[2, 2]) > 20
        key("b", "blend: duo/red 50% + duo/blue 50%")
        key("b", "blend: duo/red 25% + duo/blue 75%")
        key("b", "blend: off")
        key("2", "style: blue")
        time.sleep(0.8)
        assert_close(quadrants(snap()), quadrants(blue))

        # Stroke scale: the network runs on a half-size frame; enlarged back, the sharp quadrant edge softens.
        for _ in range(4):
            key("period", "stroke-scale: ")
        assert live.seen[-1] == "stroke-scale: 2"
        coarse = snap()
        assert edge_width(plain) == 0 and edge_width(coarse) >= 2, (edge_width(plain), edge_width(coarse))
        key("comma", "stroke-scale: 1.75")

        # Help overlay: the key list appears on the screen (not in snapshots).
        before = cv2.imread(str(screenshot(env, window, "live_help.png")))
        key("h", "help: on")
        time.sleep(0.5)
        after = cv2.imread(str(screenshot(env, window, "live_help.png")))
        assert (np.abs(after.astype(int) - before).max(2) > 60).sum() > 2000

        # Record: r starts and stops; the file decodes to the frame count announced.
        started = key("r", "recording: ")
        if importlib.util.find_spec("sounddevice") is None:
            assert "(no microphone" in started
        time.sleep(1.5)
        stopped = key("r", "recorded: ")
        path, frames = recording_path(stopped), int(stopped.rsplit("(", 1)[1].split()[0])
        assert path == recording_path(started)
        video = decoded_frames(path)
        assert len(video) == frames and 10 <= frames <= 40, (len(video), frames)
        assert_close(quadrants(video[len(video) // 2]), quadrants(blue), tolerance=8)

        # Ctrl-C while recording: the recording is finished and kept, the exit code says "interrupted".
        interrupted = recording_path(key("r", "recording: "))
        time.sleep(1.0)
        live.proc.send_signal(signal.SIGINT)
        assert recording_path(live.wait_for("recorded: ")) == interrupted
        assert live.wait_for("look: ") == "look: --style blue --stroke-scale 1.75"  # for painting a file so
        assert live.proc.wait(timeout=30) == 130, live._stderr()
    assert len(decoded_frames(interrupted)) >= 5
    assert not list(tmp_path.glob(".*partial*"))  # no temporary files left behind


def test_recording_finishes_when_the_source_ends(cli_env, still_clip: Path, display: str, tmp_path: Path) -> None:
    env = display_env(cli_env, display)
    with Live(env, ["--source", str(still_clip), "--styles", "red", "--record", "--record-dir", str(tmp_path)]) as live:
        started = recording_path(live.wait_for("recording: "))
        live.wait_for("source ended")
        stopped = live.wait_for("recorded: ")
        assert live.proc.wait(timeout=30) == 0, live._stderr()
    frames = int(stopped.rsplit("(", 1)[1].split()[0])
    assert recording_path(stopped) == started and len(decoded_frames(started)) == frames
    assert 5 <= frames <= 20, frames  # the clip lasts one second at 10 fps


@pytest.mark.parametrize("width", [213, 120, 70])
def test_grid_labels_fit_their_tiles_and_keep_both_ends(width: int) -> None:
    """The live grid names each tile; a long MODEL/STYLE name must not run into the next tile, and what is shown
    still says which key, which model and which painting (the shortened middle is marked "..")."""
    from realtime.live import fit_label

    font = cv2.FONT_HERSHEY_SIMPLEX
    short, scale = fit_label("1 starry_night", width)
    assert short == "1 starry_night" and cv2.getTextSize(short, font, scale, 1)[0][0] <= width
    name = "7 paintings-fast/the_shipwreck_of_the_minotaur"
    shown, scale = fit_label(name, width)
    assert cv2.getTextSize(shown, font, scale, 1)[0][0] <= width
    assert shown.startswith("7 p") and shown.endswith("taur") and (shown == name or ".." in shown)
    if width < 150:
        assert shown != name  # these tiles are too narrow for the whole name even at the smallest size
