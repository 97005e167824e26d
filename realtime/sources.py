"""Live frame sources: a camera, a stream URL or a file played in real time, read on their own thread.

A live view wants the *newest* frame, not every frame: if stylizing takes longer than a frame interval, queued
frames would make the picture lag further and further behind. So the capture thread keeps a one-slot mailbox
and overwrites it; the consumer always gets the latest frame (latency at most one frame) and the number of
frames dropped is counted. A file given as a live source is paced at its own frame rate so it behaves like a
camera. (Offline conversion never drops: it uses the blocking pipeline in pipeline.py.)
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np

from .errors import StylecastError


def parse_source(spec: str | int) -> str | int:
    """'0' -> camera 0; anything else (path, rtsp://, http://) is passed to OpenCV as is."""
    if isinstance(spec, int):
        return spec
    return int(spec) if spec.strip().isdigit() else spec


class LiveSource:
    """Latest-frame capture on a background thread."""

    def __init__(self, spec: str | int, loop: bool = False) -> None:
        self.spec = parse_source(spec)
        self.is_file = isinstance(self.spec, str) and Path(self.spec).is_file()
        if isinstance(self.spec, str) and not self.is_file and "://" not in self.spec:
            raise StylecastError(f"source not found: {self.spec}")
        self.capture = cv2.VideoCapture(self.spec)
        if not self.capture.isOpened():
            what = f"camera {self.spec}" if isinstance(self.spec, int) else f"source {self.spec}"
            raise StylecastError(f"cannot open {what} (not connected, busy, or not a video)")
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        self.loop = loop and self.is_file
        self.dropped = 0
        self.captured = 0
        self._frame: np.ndarray | None = None
        self._fresh = False
        self._ended = False
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        interval = 1.0 / self.fps
        next_time = time.perf_counter()
        while not self._stop.is_set():
            ok, frame = self.capture.read()
            if not ok and self.loop:
                self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = self.capture.read()
            if not ok:
                break
            if self.is_file:  # play a file at its own rate, like a camera would deliver it
                next_time += interval
                delay = next_time - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                else:
                    next_time = time.perf_counter()
            with self._cond:
                if self._fresh:
                    self.dropped += 1
                self._frame, self._fresh = frame, True
                self.captured += 1
                self._cond.notify_all()
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def latest(self, timeout: float = 5.0) -> np.ndarray | None:
        """The newest frame not yet returned; waits for one. None when the source has ended."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._fresh or self._ended, timeout=timeout):
                raise StylecastError(f"source {self.spec} delivered no frame for {timeout:.0f} s")
            if not self._fresh:
                return None
            self._fresh = False
            return self._frame

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.capture.release()

    def __enter__(self) -> "LiveSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
