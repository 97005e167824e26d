"""Faults mid-run: signals during a conversion or a recording, a source that fails part-way, a network stream that
drops and comes back, and a local file that tries to reach the network. (Training killed with SIGKILL: see
test_training.py.)

What each leaves behind is the point: a conversion interrupted by SIGINT or SIGTERM leaves nothing (it writes to a
hidden temporary name that is only renamed when complete); a live recording cut short by the source, SIGINT or
SIGTERM is finished and kept, playable, with the frames shown so far.
"""

from __future__ import annotations

import http.server
import signal
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from realtime.cli import main
from realtime.sources import LiveSource, Reconnect
from realtime.video_io import VideoReader
from tests.headless import MISSING_TOOLS, WHY_MISSING, Live, display_env, interruptible
from tests.media_factory import cut_copy

needs_display = pytest.mark.skipif(bool(MISSING_TOOLS), reason=WHY_MISSING)


def frames_in(path: Path) -> int:
    with VideoReader(path) as reader:
        return sum(1 for _ in reader.items(with_audio=False))


def recorded(line: str) -> tuple[Path, int]:
    """'recorded: PATH (N frames)' -> (PATH, N)."""
    path, count = line.split(": ", 1)[1].rsplit(" (", 1)
    return Path(path), int(count.split()[0])


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_signal_during_a_conversion_leaves_nothing(sig: str, cli_env, sample_clip: Path, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(sample_clip.read_bytes())
    # 1080p frames keep the conversion busy for seconds, so the signal lands mid-write.
    proc = subprocess.Popen([sys.executable, "-m", "realtime.cli", "video", "clip.mp4", "-o", "out.mp4", "--style",
                             "red", "--size", "1080"], cwd=tmp_path, env=cli_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".out.*.partial.mp4")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)  # some frames in the temporary file
    assert proc.poll() is None and list(tmp_path.glob(".out.*.partial.mp4")), "the conversion never got going"
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err[-2000:]
    assert err.rstrip().endswith("stylecast: interrupted; no partial output was kept") and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # no output, no temporary file


@needs_display
def test_source_failing_mid_stream_finishes_the_recording(cli_env, sample_clip: Path, display: str,
                                                          tmp_path: Path) -> None:
    """A live source that breaks off (a file cut half-way: what a camera pulled out looks like to the capture
    loop) ends the session cleanly, and the recording holds what was shown."""
    cut = cut_copy(sample_clip, tmp_path / "cut.mp4")
    env = display_env(cli_env, display)
    with Live(env, ["--source", str(cut), "--styles", "red", "--record", "--record-dir", str(tmp_path)]) as live:
        live.wait_for("source ended")
        path, frames = recorded(live.wait_for("recorded: "))
        assert live.proc.wait(timeout=30) == 0, live._stderr()
    assert frames_in(path) == frames
    assert 30 <= frames <= 100, frames  # about the 2.8 s before the cut at 24 fps, not the clip's 6 s
    assert not list(tmp_path.glob(".*partial*"))


@needs_display
def test_sigterm_during_a_live_recording_keeps_it(cli_env, sample_clip: Path, display: str, tmp_path: Path) -> None:
    env = display_env(cli_env, display)
    with Live(env, ["--source", str(sample_clip), "--loop", "--styles", "red", "--record", "--record-dir",
                    str(tmp_path)]) as live:
        live.wait_for("recording: ")
        time.sleep(1.5)
        live.proc.send_signal(signal.SIGTERM)
        live.wait_for("interrupted")
        path, frames = recorded(live.wait_for("recorded: "))
        assert live.proc.wait(timeout=30) == 130, live._stderr()
    assert frames > 10 and frames_in(path) == frames
    assert not list(tmp_path.glob(".*partial*"))


class _ReusableServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # restart on the same port at once
    daemon_threads = True


class MjpegServer:
    """A local MJPEG-over-HTTP camera (multipart/x-mixed-replace, like IP cameras serve) that can be stopped and
    started again on the same port. Each run paints its frames one flat grey level, so a reader can tell them
    apart; every request is counted."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[str] = []
        self.port = port
        self.level = 0
        self._server: _ReusableServer | None = None
        self._running = threading.Event()

    def start(self, level: int) -> "MjpegServer":
        self.level = level
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                owner.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), owner.level, np.uint8))[1].tobytes()
                try:
                    while owner._running.is_set():
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n"
                                         % (len(jpeg), jpeg))
                        time.sleep(0.04)
                except OSError:  # the client went away
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self._server = _ReusableServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._running.set()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Like a camera losing power: open streams end, new connections are refused."""
        self._running.clear()
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str = "/stream.mjpg") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def wait_until(condition, timeout: float = 10) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_network_source_reconnects_with_back_off_then_gives_up() -> None:
    server = MjpegServer().start(level=60)
    events: list[str] = []
    backoff = Reconnect(first=0.1, longest=0.4, give_up=1.5)
    with LiveSource(server.url(), reconnect=backoff, on_event=events.append) as source:
        assert abs(int(source.latest().mean()) - 60) <= 2
        server.stop()  # the stream drops...
        wait_until(lambda: sum("reconnecting" in e for e in events) >= 2)
        server.start(level=180)  # ...and comes back on the same address
        wait_until(lambda: "source reconnected" in events)
        wait_until(lambda: abs(int(source.latest().mean()) - 180) <= 2)
        server.stop()  # gone for good
        while source.latest() is not None:
            pass
    assert source.reconnects == 1
    waits = [float(e.split(" in ")[1].split()[0]) for e in events if "reconnecting in" in e]
    # Doubled and capped; back to the first wait after a reconnection; at most 1.5 s of waiting before giving up.
    assert waits[:5] == [0.1, 0.2, 0.1, 0.2, 0.4] and set(waits[5:]) <= {0.4} and sum(waits[2:]) <= 1.5, events
    assert events[-1] == "source lost: gave up after 1.5 s"


def test_local_files_never_reach_the_network(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A playlist file that points at a URL is refused, not fetched: network access only where a URL was typed."""
    server = MjpegServer().start(level=0)
    try:
        playlist = tmp_path / "list.m3u8"
        playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{server.url('/segment.ts')}\n"
                            "#EXT-X-ENDLIST\n")
        assert main(["video", str(playlist), "-o", str(tmp_path / "out.mp4"), "--style", "red"]) == 2
        assert main(["webcam", "--source", str(playlist), "--styles", "red"]) == 2
        err = capsys.readouterr().err
        assert "is not a readable video" in err and "cannot open source" in err
        assert server.requests == []
    finally:
        server.stop()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["list.m3u8"]
