"""Style blends, cross-fades, recordings and the virtual camera, tested without a window."""

from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from realtime.controls import ACTIONS
from realtime.engine import StyleModel
from realtime.errors import StylecastError
from realtime.live import FADE_SECONDS, LiveSession
from realtime.loader import load_styles
from realtime.mixer import combine, describe_mix, render, styles_of
from realtime.recorder import Recorder, open_microphone
from realtime.video_io import VideoReader
from realtime.virtualcam import VirtualCamera
from tests.conftest import REPO, run_cli
from tests.model_factory import BLUE, RED, apply_tint

# One pixel per case; R=250 is where the RED tint clips (250 + 80 > 255), which tells the two kinds of blend apart.
FRAME = np.array([[[250, 10, 250], [40, 120, 200], [90, 90, 90], [0, 255, 30]]], np.uint8)


@pytest.fixture(scope="module")
def models(tint_models: dict[str, Path]) -> dict[str, StyleModel]:
    return {name: StyleModel(tint_models[name], "cpu") for name in ("red", "blue", "duo")}


def test_multi_style_models_contribute_each_style(models: dict[str, StyleModel]) -> None:
    names = [s.name for s in styles_of([models["red"], models["duo"]])]
    assert names == ["red", "duo/red", "duo/blue"]


def test_names_in_one_model_file_share_one_session() -> None:
    duo_red, red, duo_blue = load_styles(["duo/red", "red", "duo/blue"], "cpu")
    assert [s.name for s in (duo_red, red, duo_blue)] == ["duo/red", "red", "duo/blue"]
    assert duo_red.model is duo_blue.model and red.model is not duo_red.model
    assert np.array_equal(render(FRAME, {duo_blue: 1.0}), apply_tint(FRAME, BLUE))
    assert [s.name for s in load_styles(["duo"], "cpu")] == ["duo/red", "duo/blue"]  # a whole model: every style
    with pytest.raises(StylecastError, match="no style 'green'"):
        load_styles(["red", "duo/green"], "cpu")


def test_styles_of_one_model_blend_in_feature_space_others_by_output(models: dict[str, StyleModel]) -> None:
    red, duo_red, duo_blue, blue = styles_of([models["red"], models["duo"], models["blue"]])
    assert np.array_equal(render(FRAME, {duo_blue: 1.0}), apply_tint(FRAME, BLUE))
    # One run of the two-style model with weights [0.5, 0.5]: the tints' parameters are averaged.
    halfway = tuple(tuple((a + b) / 2 for a, b in zip(ra, ba, strict=True)) for ra, ba in zip(RED, BLUE, strict=True))
    feature = render(FRAME, {duo_red: 1.0, duo_blue: 1.0})
    assert np.abs(feature.astype(int) - apply_tint(FRAME, halfway)).max() <= 1
    # Two models: their outputs are averaged, which differs where the red tint clips.
    output = render(FRAME, {red: 0.5, blue: 0.5})
    expected = (apply_tint(FRAME, RED).astype(float) + apply_tint(FRAME, BLUE)) / 2
    assert np.abs(output - expected).max() <= 1
    assert abs(int(output[0, 0, 2]) - int(feature[0, 0, 2])) > 20


def test_shipped_multi_style_model_blends_two_paintings_inside_the_network() -> None:
    """The trained six-painting real-time model: two of its styles share one session, and one run with 50/50
    style weights paints a picture between the two. (With this model the in-network blend comes out within half a
    level of the pixel average: its styles differ mostly in palette. The tint-model test above shows the
    difference between the two kinds of blend.)"""
    from realtime.sample import frames as sample_frames

    if not (REPO / "models" / "paintings-fast.onnx").is_file():
        pytest.skip("models/paintings-fast.onnx is not in this checkout")
    wave, udnie = load_styles(["paintings-fast/wave", "paintings-fast/udnie"], "cpu")
    assert wave.model is udnie.model
    frame = np.ascontiguousarray(sample_frames()[60][::4, ::4])
    a, b = (render(frame, {s: 1.0}).astype(float) for s in (wave, udnie))
    blend = render(frame, {wave: 0.5, udnie: 0.5}).astype(float)
    apart = np.abs(a - b).mean()
    assert apart > 5  # two different paintings (measured: 8.9 levels apart on this frame)
    assert np.abs(blend - a).mean() < 0.7 * apart and np.abs(blend - b).mean() < 0.7 * apart


def test_the_look_on_screen_is_printed_as_options_that_paint_a_file_the_same(
        models: dict[str, StyleModel], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What the window shows (a style blended with the next, strength, colours, strokes) as the options of `image`
    and `video`; given to `image`, they paint the very picture the window paints. A model outside the catalog is
    named by its path."""
    import shlex

    import cv2

    from realtime.cli import main

    session = LiveSession(source=None, styles=styles_of([models["red"], models["duo"]]))  # type: ignore[arg-type]
    assert session.look() == "--style red"
    c = session.controls
    c.blend, c.strength, c.preserve_colour, c.stroke_scale = 0.25, 70, True, 2.0
    look = session.look()
    assert look == "--style red --blend duo/red:25 --strength 70 --preserve-colour --stroke-scale 2"
    frame = np.random.default_rng(2).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "frame.png"), frame)
    assert main(["image", str(tmp_path / "frame.png"), "-o", str(tmp_path / "painted.png"), *shlex.split(look)]) == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "painted.png")),
                                  session.paint(frame, session.target_mix()))
    c.steady = True
    assert session.look().endswith(" --stabilize")
    own = StyleModel(shutil.copy(models["blue"].path, tmp_path / "my style.onnx"), "cpu")
    assert LiveSession(source=None, styles=styles_of([own])).look() == shlex.join(  # type: ignore[arg-type]
        ["--style", str(tmp_path / "my style.onnx")])


def test_combine_adds_shared_styles(models: dict[str, StyleModel]) -> None:
    red, blue = styles_of([models["red"], models["blue"]])
    assert combine({red: 1.0}, {blue: 1.0}, 0.25) == {red: 0.75, blue: 0.25}
    assert combine({red: 1.0}, {red: 0.5, blue: 0.5}, 0.5) == {red: 0.75, blue: 0.25}
    assert combine({red: 1.0}, {blue: 1.0}, 1.0) == {blue: 1.0}
    assert describe_mix({red: 0.75, blue: 0.25}) == "red 75% + blue 25%"


def test_every_key_action_has_a_handler_and_switches_cross_fade(models: dict[str, StyleModel],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    session = LiveSession(source=None, styles=styles_of([models["red"], models["blue"]]))  # type: ignore[arg-type]
    assert set(ACTIONS.values()) - {"quit"} == set(session._handlers)
    red, blue = session.styles
    session.handle_key(ord("2"))
    start = session.fade[1]
    assert session.current_mix(start) == {red: 1.0}
    assert session.current_mix(start + FADE_SECONDS / 4) == pytest.approx({red: 0.75, blue: 0.25})
    assert session.current_mix(start + FADE_SECONDS * 1.01) == {blue: 1.0} and session.fade is None
    session.handle_key(ord("b"))  # blend with the next style (wraps to red), fading into it
    assert session.target_mix() == {blue: 0.75, red: 0.25}
    for key in "-c.og":
        session.handle_key(ord(key))
    assert session.handle_key(ord("q")) is False
    assert capsys.readouterr().out.splitlines() == [
        "style: blue", "blend: blue 75% + red 25%", "strength: 90%", "preserve-colour: on", "stroke-scale: 1.25",
        "compare: split", "grid: on"]


class FakeMicrophone:
    """Half a second of a 440 Hz tone on every read."""

    rate, channels = 48000, 1

    def __init__(self) -> None:
        self.started = self.closed = False

    def start(self) -> None:
        self.started = True

    def read(self) -> list[np.ndarray]:
        t = np.arange(self.rate // 2, dtype=np.float32) / self.rate
        return [(0.2 * np.sin(2 * np.pi * 440 * t))[:, None]]

    def close(self) -> None:
        self.closed = True


def test_recorder_places_frames_on_the_frame_rate_grid_with_audio(tmp_path: Path) -> None:
    microphone = FakeMicrophone()
    path = tmp_path / "rec.mp4"
    recorder = Recorder(path, 65, 49, 10.0, microphone)  # odd sides: recorded at 64x48
    colours = {0.0: 40, 0.25: 120, 0.31: 160, 0.65: 220}  # shown times (s) -> grey level
    for shown_at, level in colours.items():
        recorder.add(np.full((49, 65, 3), level, np.uint8), 100.0 + shown_at)
    frames = recorder.stop(101.0)
    assert microphone.started and microphone.closed
    assert [p.name for p in tmp_path.iterdir()] == ["rec.mp4"]  # renamed into place, no temporary left
    # 1 s at 10 fps (+ the last frame's own slot); each slot shows the newest frame shown before it ended.
    assert frames == 11
    with VideoReader(path) as reader:
        assert (reader.info.width, reader.info.height) == (64, 48) and reader.info.audio_codec == "aac"
        levels = [int(round(f.image.mean())) for f in reader.items(with_audio=False)]
        assert reader.container.streams.audio[0].duration > 0
    expected = [40, 40, 120, 160, 160, 160, 220, 220, 220, 220, 220]
    assert len(levels) == frames and max(abs(a - b) for a, b in zip(levels, expected, strict=True)) <= 6, levels


def test_microphone_through_sounddevice_or_a_reason_why_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    assert open_microphone() == (None, "sounddevice is not installed")

    class Stream:
        def __init__(self, samplerate: int, channels: int, dtype: str, callback) -> None:  # noqa: ANN001
            self.callback, self.state = callback, "opened"

        def start(self) -> None:
            self.state = "started"

        def stop(self) -> None:
            self.state = "stopped"

        def close(self) -> None:
            self.state = "closed"

    def no_device(kind: str) -> dict:
        raise ValueError("No input device matching ''")

    fake = types.SimpleNamespace(query_devices=no_device, InputStream=Stream)
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    microphone, why_not = open_microphone()
    assert microphone is None and why_not.startswith("no input device")
    fake.query_devices = lambda kind: {"default_samplerate": 44100.0, "max_input_channels": 4}
    microphone, _ = open_microphone()
    assert (microphone.rate, microphone.channels) == (44100, 2)
    microphone.start()
    block = np.ones((256, 2), np.float32)
    microphone._stream.callback(block, 256, None, None)
    block[:] = 0  # PortAudio reuses its buffer: the chunk must have been copied
    chunks = microphone.read()
    assert len(chunks) == 1 and chunks[0].min() == 1 and microphone.read() == []
    microphone.close()
    assert microphone._stream.state == "closed"


def test_recording_that_fails_leaves_no_file(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec.mp4", 64, 48, 10.0)
    recorder.add(np.zeros((48, 64, 3), np.float32), 0.0)  # not uint8: the encoder thread fails
    with pytest.raises(StylecastError, match="recording .* failed"):
        recorder.stop(1.0)
    assert list(tmp_path.iterdir()) == []


def test_virtual_camera_without_package_or_device_is_one_friendly_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)  # import fails as if not installed
    with pytest.raises(StylecastError, match=r"pip install 'stylecast\[vcam\]'.*v4l2loopback.*OBS"):
        VirtualCamera()

    def no_device(*args: object, **kwargs: object) -> None:
        raise RuntimeError("'v4l2loopback' backend: No v4l2 loopback device found at /dev/video[0-99]. "
                           "Did you run 'modprobe v4l2loopback'? See also pyvirtualcam's documentation.")

    fake = types.SimpleNamespace(Camera=no_device, PixelFormat=types.SimpleNamespace(BGR="bgr"))
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake)
    with pytest.raises(StylecastError) as error:
        VirtualCamera().open(64, 48, 30.0)
    message = str(error.value)
    assert "\n" not in message and "No v4l2 loopback device found" in message and "modprobe v4l2loopback" in message

    sent: list[np.ndarray] = []
    camera = types.SimpleNamespace(width=64, height=48, device="/dev/video9", send=sent.append, close=lambda: None)
    fake.Camera = lambda *args, **kwargs: camera
    virtual = VirtualCamera()
    assert virtual.open(64, 48, 30.0) == "/dev/video9"
    virtual.send(np.full((48, 128, 3), 255, np.uint8))  # a side-by-side view is letterboxed to the device size
    assert sent[0].shape == (48, 64, 3) and sent[0][:12].max() == 0 and sent[0][24].min() == 255
    virtual.close()


@pytest.mark.skipif(any(Path("/dev").glob("video*")), reason="a video device exists; a loopback might be real")
def test_webcam_virtual_cam_without_a_device_exits_with_one_line(cli_env: dict[str, str], sample_clip: Path,
                                                                 display: str) -> None:
    env = {**cli_env, "DISPLAY": display}  # a screen, so the missing device is the one thing wrong
    result = run_cli(env, "webcam", "--source", sample_clip, "--styles", "red", "--virtual-cam", timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stylecast: error:") and "Traceback" not in result.stderr
    assert "v4l2loopback" in lines[0] and "OBS" in lines[0]
    assert "style:" not in result.stdout  # failed before the window opened
