"""The live window without a screen: a private Xvfb display, a running `stylecast webcam` to follow, keys sent to
its window and pictures taken of it.

Shared by the live-window tests, the fault tests, scripts/soak.py and scripts/live_grid.py, which all need a real
OpenCV window (no window manager: see docs/DESIGN.md) on a display that nothing else uses.
"""

from __future__ import annotations

import contextlib
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import cv2

REPO = Path(__file__).resolve().parents[1]
TOOLS = ("Xvfb", "xdotool", "import")
MISSING_TOOLS = [t for t in TOOLS if shutil.which(t) is None]
WHY_MISSING = "needs Xvfb, xdotool and imagemagick (apt-get install xvfb xdotool imagemagick)"


@contextlib.contextmanager
def virtual_display(size: str = "1280x800x24") -> Iterator[str | None]:
    """Start Xvfb on a free display number and yield it (':N'); None if it did not start."""
    for _ in range(20):
        number = random.randint(100, 900)
        if not Path(f"/tmp/.X11-unix/X{number}").exists():
            break
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", size, "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if time.monotonic() > deadline or server.poll() is not None:
                yield None
                return
            time.sleep(0.05)
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def xdo(env: dict[str, str], *args: str) -> str:
    return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=30, check=True).stdout


def find_window(env: dict[str, str]) -> str:
    """The id of the live window (waits for it to be mapped)."""
    return xdo(env, "search", "--sync", "--name", "stylecast").split()[0]


def press(env: dict[str, str], window: str, key: str) -> None:
    # No window manager on Xvfb: windowactivate fails, windowfocus works and the key reaches cv2.waitKey.
    xdo(env, "windowfocus", "--sync", window)
    xdo(env, "key", key)


def capture(env: dict[str, str], window: str, path: Path, whole_screen: bool = False, tries: int = 2) -> bool:
    """A PNG of ``window`` (or of the whole virtual screen); False if it stayed black. Qt's xcb backend on an X
    server without a window manager sometimes misses the first Expose and leaves a mapped window unpainted (seen
    in ~1 of 5 runs here); re-mapping the window sends a fresh Expose, as a window manager would."""
    for _ in range(tries):
        subprocess.run(["import", "-window", "root" if whole_screen else window, str(path)], env=env, check=True,
                       timeout=30)
        if cv2.imread(str(path)).max() > 0:
            return True
        xdo(env, "windowunmap", "--sync", window)
        xdo(env, "windowmap", "--sync", window)
        time.sleep(0.5)
    return False


def interruptible() -> None:
    """``preexec_fn`` for children the tests send SIGINT to: a test run started in the background (``cmd &``)
    inherits an ignored SIGINT, and Python then never turns Ctrl-C into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def display_env(env: dict[str, str], display: str) -> dict[str, str]:
    """``env`` pointed at an Xvfb display, with OpenCV's Qt backend on X11."""
    return {**env, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}


class Live:
    """A running `stylecast webcam` whose stdout lines can be awaited."""

    def __init__(self, env: dict[str, str], args: list[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "realtime.cli", "webcam", *args], env=env, cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=interruptible)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def __enter__(self) -> "Live":
        return self

    def __exit__(self, *exc: object) -> None:
        """A test that failed half-way must not leave the window process running."""
        if self.proc.poll() is None:
            self.proc.kill()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, prefix: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no {prefix!r} line; saw {self.seen}; stderr: {self._stderr()}")

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read()[-2000:]
