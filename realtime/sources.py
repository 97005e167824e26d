"""Live frame sources: a camera, a stream URL or a file played in real time, read on their own thread.

A live view wants the *newest* frame, not every frame: if stylizing takes longer than a frame interval, queued
frames would make the picture lag further and further behind. So the capture thread keeps a one-slot mailbox
and overwrites it; the consumer always gets the latest frame (latency at most one frame) and the number of
frames dropped is counted. A file given as a live source is paced at its own frame rate so it behaves like a
camera, and read by the same decoder as a conversion (:class:`FileFrames`). (Offline conversion never drops: it
uses the blocking pipeline in pipeline.py.)

When a source fails mid-stream a camera or file simply ends (the live window then finishes any recording), but a
network stream (``rtsp://``, ``http://``...) usually comes back: it is reopened with exponential back-off until it
delivers again or :class:`Reconnect` gives up. Network sources are only ever opened when the user named a URL, with
open and read timeouts so a silent server cannot hang the window. OpenCV's and FFmpeg's own log lines are silenced
(``STYLECAST_DEBUG=1`` keeps them): the CLI's promise is one line per problem, and it says what OpenCV could not.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from .errors import StylecastError
from .video_io import VideoReader


NETWORK_TIMEOUT_MS = 10_000  # open/read timeout for network sources (OpenCV's default is 30 s)
# How long close() waits for the capture thread: a read or reopen in progress ends within the network timeout.
# Letting the interpreter exit while that thread is still inside OpenCV aborts the process ("FATAL: exception not
# rethrown"), so quitting during a network hang waits it out rather than crash.
CLOSE_TIMEOUT_S = NETWORK_TIMEOUT_MS / 1000 + 1


def parse_source(spec: str | int) -> str | int:
    """'0' -> camera 0; anything else (path, rtsp://, http://) is passed to OpenCV as is."""
    if isinstance(spec, int):
        return spec
    return int(spec) if spec.strip().isdigit() else spec


def print_event(line: str) -> None:
    """Source events go to stdout like the live window's own, one line each."""
    print(line, flush=True)


def quiet_opencv() -> None:
    """Silence OpenCV's and its FFmpeg's log lines (a missing camera prints a dozen) unless STYLECAST_DEBUG is set.
    The FFmpeg level is read from the environment when OpenCV first opens an FFmpeg capture."""
    if os.environ.get("STYLECAST_DEBUG"):
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


@dataclass(frozen=True)
class Reconnect:
    """Back-off for a network source that drops: wait ``first`` seconds, double each wait up to ``longest``, and
    give up when the next wait would end more than ``give_up`` seconds after the drop."""

    first: float = 0.5
    longest: float = 8.0
    give_up: float = 60.0

    def delays(self) -> Iterator[float]:
        """The waits before each reopening attempt, without end (the caller keeps the time budget)."""
        delay = self.first
        while True:
            yield delay
            delay = min(delay * 2, self.longest)


class FileFrames:
    """A video file read exactly as ``stylecast video`` reads it (upright, square pixels, whole frames from
    interlaced fields, HDR tone-mapped), so a clip previewed live looks as its conversion will; OpenCV's capture
    does none of the last three. Offers the two calls the capture loop makes, plus :meth:`rewind` for ``--loop``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._start()

    def _start(self) -> None:
        self.reader = VideoReader(self.path)
        self.fps = float(self.reader.info.fps)
        self.frames = (item.image for item in self.reader.items(with_audio=False))

    def read(self) -> tuple[bool, np.ndarray | None]:
        """(True, next frame), or (False, None) at the end or where the file is damaged: the source ends there."""
        try:
            return True, next(self.frames)
        except (StopIteration, StylecastError):
            return False, None

    def rewind(self) -> None:
        self.release()
        self._start()

    def release(self) -> None:
        self.frames.close()
        self.reader.close()


class LiveSource:
    """Latest-frame capture on a background thread; network sources reconnect with back-off."""

    def __init__(self, spec: str | int, loop: bool = False, reconnect: Reconnect = Reconnect(),
                 on_event: Callable[[str], None] = print_event) -> None:
        self.spec = parse_source(spec)
        self.is_file = isinstance(self.spec, str) and Path(self.spec).is_file()
        self.is_network = isinstance(self.spec, str) and not self.is_file and "://" in self.spec
        if isinstance(self.spec, str) and not self.is_file and not self.is_network:
            raise StylecastError(f"source not found: {self.spec}")
        quiet_opencv()
        self.capture: cv2.VideoCapture | FileFrames
        if self.is_file:
            try:
                self.capture = FileFrames(Path(self.spec))
            except StylecastError as exc:
                raise StylecastError(f"cannot open source: {exc}") from None
            fps = self.capture.fps
        else:
            self.capture = self._open()
            if not self.capture.isOpened():
                self.capture.release()
                what = f"camera {self.spec}" if isinstance(self.spec, int) else f"source {self.spec}"
                raise StylecastError(f"cannot open {what} (not connected, busy, or not a video)")
            fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        self.loop = loop and self.is_file
        self.reconnect = reconnect
        self.on_event = on_event
        self.dropped = 0
        self.captured = 0
        self.reconnects = 0
        self._frame: np.ndarray | None = None
        self._fresh = False
        self._ended = False
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()

    def _open(self) -> cv2.VideoCapture:
        if self.is_network:
            return cv2.VideoCapture(self.spec, cv2.CAP_ANY, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, NETWORK_TIMEOUT_MS,
                                                             cv2.CAP_PROP_READ_TIMEOUT_MSEC, NETWORK_TIMEOUT_MS])
        return cv2.VideoCapture(self.spec)

    def _reopen(self) -> bool:
        """After a network drop: reopen with back-off. True when frames flow again, False to end the source."""
        self.capture.release()
        deadline = time.monotonic() + self.reconnect.give_up
        for delay in self.reconnect.delays():
            if time.monotonic() + delay > deadline:
                break
            self.on_event(f"source lost: reconnecting in {delay:g} s")
            if self._stop.wait(delay):
                return False
            capture = self._open()
            if capture.isOpened():
                self.capture = capture
                self.reconnects += 1
                self.on_event("source reconnected")
                return True
            capture.release()
        self.on_event(f"source lost: gave up after {self.reconnect.give_up:g} s")
        return False

    def _run(self) -> None:
        try:
            self._capture_frames()
        finally:
            self.capture.release()  # here, not in close(): the capture is only ever touched by this thread
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _capture_frames(self) -> None:
        interval = 1.0 / self.fps
        next_time = time.perf_counter()
        while not self._stop.is_set():
            ok, frame = self.capture.read()
            if not ok and self.loop:
                self.capture.rewind()
                ok, frame = self.capture.read()
            if not ok and self.is_network and not self._stop.is_set() and self._reopen():
                continue
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

    def latest(self, timeout: float = 5.0) -> np.ndarray | None:
        """The newest frame not yet returned; waits for one. None when the source has ended. A network source is
        waited for as long as its read timeout and reconnection take: those, not this timeout, decide its end."""
        with self._cond:
            ready = self._cond.wait_for(lambda: self._fresh or self._ended, None if self.is_network else timeout)
            if not ready:
                raise StylecastError(f"source {self.spec} delivered no frame for {timeout:.0f} s")
            if not self._fresh:
                return None
            self._fresh = False
            return self._frame

    def close(self) -> None:
        """Stop capturing and wait for the capture thread (see :data:`CLOSE_TIMEOUT_S`)."""
        self._stop.set()
        self._thread.join(timeout=CLOSE_TIMEOUT_S)

    def __enter__(self) -> "LiveSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
