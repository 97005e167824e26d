"""The live window: stylized feed, a small overlay, and keys to switch styles, pause, snapshot and quit.

Every requested style is loaded before the first frame, so switching is instant. Events that a user (or a test)
may want to follow - style switches, snapshots, the end - are also printed on stdout, one per line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .engine import StyleModel
from .outputs import write_image
from .sources import LiveSource

WINDOW = "stylecast"
HELP = "1-9 style  n/p next/prev  space pause  s snapshot  q quit"
# waitKeyEx codes for arrow keys differ by highgui backend: GTK/X11 keysyms, then Qt key codes.
LEFT = {65361, 0x1000012, 2424832}
RIGHT = {65363, 0x1000014, 2555904}
ESC = 27


@dataclass
class LiveStats:
    frames: int = 0
    seconds: float = 0.0
    dropped: int = 0


def draw_overlay(image: np.ndarray, lines: list[str]) -> np.ndarray:
    """Text on a translucent band in the top-left corner (drawn on a copy: the snapshot stays clean)."""
    out = image.copy()
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1
    sizes = [cv2.getTextSize(line, font, scale, thick)[0] for line in lines]
    width = max(s[0] for s in sizes) + 12
    height = sum(s[1] + 8 for s in sizes) + 6
    band = out[:height, :width]
    band[:] = (band * 0.45).astype(np.uint8)
    y = 4
    for line, (_, h) in zip(lines, sizes):
        y += h + 6
        cv2.putText(out, line, (6, y), font, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


class FpsMeter:
    """Exponentially smoothed frames per second: steady enough to read, quick to follow a style switch."""

    def __init__(self, smoothing: float = 0.9) -> None:
        self.smoothing = smoothing
        self.value = 0.0
        self._last: float | None = None

    def tick(self) -> float:
        now = time.perf_counter()
        if self._last is not None:
            instant = 1.0 / max(now - self._last, 1e-6)
            self.value = instant if self.value == 0 else self.smoothing * self.value + (1 - self.smoothing) * instant
        self._last = now
        return self.value


class LiveSession:
    def __init__(self, source: LiveSource, models: list[StyleModel], snapshot_dir: Path = Path("."),
                 max_frames: int | None = None, overlay: bool = True) -> None:
        self.source = source
        self.models = models
        self.index = 0
        self.paused = False
        self.snapshot_dir = snapshot_dir
        self.max_frames = max_frames
        self.overlay = overlay
        self.snapshots = 0

    def select(self, index: int) -> None:
        if 0 <= index < len(self.models) and index != self.index:
            self.index = index
            print(f"style: {self.models[index].name}", flush=True)

    def snapshot(self, image: np.ndarray) -> Path:
        self.snapshots += 1
        path = self.snapshot_dir / f"stylecast-{time.strftime('%Y%m%d-%H%M%S')}-{self.snapshots:03d}.png"
        write_image(path, image)
        print(f"snapshot: {path}", flush=True)
        return path

    def handle_key(self, key: int, current: np.ndarray | None) -> bool:
        """Apply one key; False means quit."""
        if key < 0:
            return True
        char = chr(key & 0xFF) if key & 0xFF < 128 and key < 0x10000 else ""
        if key == ESC or char == "q":
            return False
        if char.isdigit() and char != "0":
            self.select(int(char) - 1)
        elif char == "n" or key in RIGHT:
            self.select((self.index + 1) % len(self.models))
        elif char == "p" or key in LEFT:
            self.select((self.index - 1) % len(self.models))
        elif char == " ":
            self.paused = not self.paused
            print("paused" if self.paused else "resumed", flush=True)
        elif char == "s" and current is not None:
            self.snapshot(current)
        return True

    def run(self) -> LiveStats:
        stats = LiveStats()
        meter = FpsMeter()
        cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)  # no Qt toolbar over the feed
        print(f"style: {self.models[self.index].name}", flush=True)
        stylized: np.ndarray | None = None
        started = time.perf_counter()
        try:
            while self.max_frames is None or stats.frames < self.max_frames:
                if not self.paused or stylized is None:
                    frame = self.source.latest()
                    if frame is None:
                        print("source ended", flush=True)
                        break
                    stylized = self.models[self.index].run(frame)
                    stats.frames += 1
                    fps = meter.tick()
                model = self.models[self.index]
                shown = stylized
                if self.overlay:
                    state = "  PAUSED" if self.paused else ""
                    shown = draw_overlay(stylized, [f"{model.name}  {fps:4.1f} fps  {model.placement.device}{state}",
                                                    HELP])
                cv2.imshow(WINDOW, shown)
                if not self.handle_key(cv2.waitKeyEx(1 if not self.paused else 30), stylized):
                    break
                if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                    break
        finally:
            stats.seconds = time.perf_counter() - started
            stats.dropped = self.source.dropped
            cv2.destroyAllWindows()
            cv2.waitKey(1)
        return stats
