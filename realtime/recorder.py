"""Recording the live view to a video file, with the microphone when there is one.

The live loop renders at whatever rate the network allows (a few fps on a CPU, more on a GPU), while a video file
wants a constant frame rate. So each frame is handed over with the time it was shown, and the encoder thread
repeats or skips frames to place them on the source's frame grid: the recording plays back at real speed and
stays in step with the microphone's audio. Encoding runs on its own thread behind a short queue, so the window
does not wait for the encoder. The file is written under a temporary name and renamed into place when the
recording stops (see outputs.atomic_output); a failed recording leaves no partial file.

The microphone is read with the optional ``sounddevice`` package (PortAudio); without it, or without an input
device, the recording is video only and says so.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np

from .effects import letterbox
from .errors import StylecastError
from .outputs import atomic_output
from .video_io import VideoWriter


class AudioSource(Protocol):
    """Live audio: float32 chunks of shape [samples, channels] collected since the last :meth:`read`."""

    rate: int
    channels: int

    def start(self) -> None: ...

    def read(self) -> list[np.ndarray]: ...

    def close(self) -> None: ...


class Microphone:
    """The default input device through sounddevice; PortAudio's callback thread fills a queue."""

    def __init__(self, sounddevice, rate: int, channels: int) -> None:  # noqa: ANN001 - the optional module
        self.rate, self.channels = rate, channels
        self._chunks: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        self._stream = sounddevice.InputStream(samplerate=rate, channels=channels, dtype="float32",
                                               callback=self._callback)

    def _callback(self, data: np.ndarray, frames: int, when: object, status: object) -> None:
        self._chunks.put(data.copy())

    def start(self) -> None:
        self._stream.start()

    def read(self) -> list[np.ndarray]:
        chunks = []
        while not self._chunks.empty():
            chunks.append(self._chunks.get())
        return chunks

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


def open_microphone() -> tuple[Microphone | None, str]:
    """The default microphone, or None and the reason there is none."""
    try:
        import sounddevice
    except (ImportError, OSError):  # OSError: the package is there but the PortAudio library is not
        return None, "sounddevice is not installed"
    try:
        device = sounddevice.query_devices(kind="input")
        rate, channels = int(device["default_samplerate"]), min(2, int(device["max_input_channels"]))
        return Microphone(sounddevice, rate, channels), ""
    except Exception as exc:  # noqa: BLE001 - PortAudioError, ValueError for no device: all mean "no microphone"
        return None, f"no input device ({str(exc).splitlines()[0][:80]})"


class Recorder:
    """An .mp4 being recorded: :meth:`add` shown frames with their times, :meth:`stop` to finish the file."""

    def __init__(self, path: Path, width: int, height: int, fps: float,
                 microphone: AudioSource | None = None) -> None:
        self.path = Path(path)
        self.size = (width - width % 2, height - height % 2)  # H.264 in yuv420p needs even sides
        self.fps = Fraction(fps).limit_denominator(1001)
        self._files = contextlib.ExitStack()
        temporary = self._files.enter_context(atomic_output(self.path))
        try:
            self._writer = VideoWriter(temporary, *self.size, self.fps,
                                       pcm=(microphone.rate, microphone.channels) if microphone else None)
        except BaseException:
            self._files.close()
            raise
        self._microphone = microphone
        self._queue: queue.Queue[tuple[np.ndarray | None, float]] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._encode, name="recorder", daemon=True)
        self._thread.start()
        if microphone is not None:
            microphone.start()

    def add(self, image: np.ndarray, shown_at: float) -> None:
        """A frame as shown at ``shown_at`` (seconds, time.perf_counter); waits if the encoder is behind."""
        if self._error is not None:
            raise StylecastError(f"recording {self.path} failed: {self._error}")
        self._queue.put((image, shown_at))

    def stop(self, stopped_at: float) -> int:
        """Finish the file and rename it into place; returns its number of frames."""
        if self._microphone is not None:
            self._microphone.close()
        self._queue.put((None, stopped_at))
        self._thread.join()
        if self._error is not None:
            self._writer.abort()
            self._files.__exit__(type(self._error), self._error, self._error.__traceback__)
            raise StylecastError(f"recording {self.path} failed: {self._error}")
        self._files.close()
        return self._writer.frames

    def _encode(self) -> None:
        stopping = False
        try:
            start: float | None = None
            last: np.ndarray | None = None
            while not stopping:
                image, shown_at = self._queue.get()
                stopping = image is None
                start = shown_at if start is None else start
                due = int((shown_at - start) * self.fps)  # the frame slot this moment falls in
                while last is not None and self._writer.frames < due:
                    self._writer.write(last)
                self._write_audio()
                if image is not None:
                    last = letterbox(image, *self.size)
            if last is not None:
                self._writer.write(last)
            self._writer.close()
        except Exception as exc:  # noqa: BLE001 - reported to the live loop by add() and stop()
            self._error = exc
            while not stopping:  # keep add() from blocking on a full queue until stop() comes
                stopping = self._queue.get()[0] is None

    def _write_audio(self) -> None:
        if self._microphone is not None:
            for chunk in self._microphone.read():
                self._writer.write_pcm(chunk)
