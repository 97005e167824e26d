"""The live window: the stylized feed, an overlay, and keys for styles, blends, effects, layouts and outputs.

Every requested style is loaded before the first frame, so switching is instant (and cross-fades rather than
jumps). The window shows a *view* of the frame - the painted frame, a comparison with the original or a grid of
styles - and that same view, without the overlay, is what snapshots, recordings and the virtual camera get: what
you see is what you share. Events a user (or a test) may want to follow - every control change, snapshots,
recordings, the end - are printed on stdout, one per line.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .controls import ACTIONS, KEYS, Controls
from .effects import compose_grid, compose_side_by_side, compose_split, grid_cells, paint
from .mixer import Mix, Style, combine, describe_mix, option_name, render
from .outputs import write_image
from .recorder import Recorder, open_microphone
from .sources import LiveSource
from .stabilizer import Stabilizer
from .virtualcam import VirtualCamera

WINDOW = "stylecast"
FADE_SECONDS = 0.4
GRID_MAX = 9  # the grid shows the styles that keys 1-9 reach
# waitKeyEx codes for arrow keys differ by highgui backend: GTK/X11 keysyms, then Qt key codes.
LEFT = {65361, 0x1000012, 2424832}
RIGHT = {65363, 0x1000014, 2555904}


@dataclass
class LiveStats:
    frames: int = 0
    seconds: float = 0.0
    dropped: int = 0
    interrupted: bool = False


@dataclass
class LiveOptions:
    """Settings fixed for the session (the live-adjustable ones are in :class:`Controls`)."""

    snapshot_dir: Path = Path(".")
    record_dir: Path = Path(".")
    record: bool = False           # start recording with the first frame
    max_frames: int | None = None
    overlay: bool = True
    virtual_camera: VirtualCamera | None = None
    controls: Controls = field(default_factory=Controls)


def draw_overlay(image: np.ndarray, lines: list[str]) -> np.ndarray:
    """Text on a translucent band in the top-left corner (drawn on a copy: the snapshot stays clean). A tab splits
    a line into two aligned columns; the text shrinks to fit a small frame."""
    out = image.copy()
    font, thick = cv2.FONT_HERSHEY_SIMPLEX, 1
    rows = [line.split("\t", 1) for line in lines]
    scale = max(0.3, min(0.5, 0.5 * image.shape[0] / (len(rows) * 21 + 8)))

    def text_width(text: str) -> int:
        return cv2.getTextSize(text, font, scale, thick)[0][0]

    column = max((text_width(r[0]) + 12 for r in rows if len(r) > 1), default=0)
    line_height = cv2.getTextSize("Ag", font, scale, thick)[0][1] + round(16 * scale)
    width = max((column if len(r) > 1 else 0) + text_width(r[-1]) for r in rows) + 12
    band = out[:len(rows) * line_height + 8, :width]
    band[:] = (band * 0.45).astype(np.uint8)
    for i, row in enumerate(rows):
        y = (i + 1) * line_height
        for x, text in zip((6, 6 + column), row, strict=False):
            cv2.putText(out, text, (x, y), font, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


def fit_label(text: str, width: int, font: int = cv2.FONT_HERSHEY_SIMPLEX,
              scales: tuple[float, float] = (0.5, 0.35)) -> tuple[str, float]:
    """``text`` and a font scale that fit ``width`` pixels: shrunk first, then cut in the middle (".."), so a
    long name such as ``paintings-fast/the_shipwreck_of_the_minotaur`` stays inside its grid tile and keeps
    both its model and its painting readable."""
    largest, smallest = scales

    def fits(t: str, scale: float) -> bool:
        return cv2.getTextSize(t, font, scale, 1)[0][0] <= width

    scale = largest
    while scale > smallest and not fits(text, scale):
        scale = round(scale - 0.05, 2)
    keep = len(text)
    shown = text
    while keep > 2 and not fits(shown, scale):
        keep -= 1
        shown = text[:(keep + 1) // 2] + ".." + text[len(text) - keep // 2:]
    return shown, scale


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
    """One live window: reads the source, paints views, handles keys, and feeds the snapshot/recording/camera
    outputs until quit, the source's end, --max-frames or Ctrl-C (which all finish a recording cleanly)."""

    def __init__(self, source: LiveSource, styles: list[Style], options: LiveOptions | None = None) -> None:
        self.source = source
        self.styles = styles
        self.options = options or LiveOptions()
        self.controls = self.options.controls
        self.index = 0
        self.paused = False
        self.fade: tuple[Mix, float] | None = None  # the mix faded from, and when the fade started
        self.view: np.ndarray | None = None
        self.size = (0, 0)
        self.recorder: Recorder | None = None
        self.recording_note = ""
        self.stabilizer = Stabilizer()
        self.snapshots = 0
        self.recordings = 0
        self.stats = LiveStats()  # updated as the loop runs, so a monitor (scripts/soak.py) can follow it
        self._dirty = False
        c = self.controls
        self._handlers: dict[str, Callable[[str], None]] = {
            "pick": lambda char: self.select(int(char) - 1),
            "next": lambda _: self.select((self.index + 1) % len(self.styles)),
            "prev": lambda _: self.select((self.index - 1) % len(self.styles)),
            "blend": lambda _: self.cycle_blend(),
            "weaker": lambda _: self._changed(c.step_strength(-1)),
            "stronger": lambda _: self._changed(c.step_strength(+1)),
            "colour": lambda _: self._changed(c.toggle_colour()),
            "finer": lambda _: self._changed(c.step_stroke_scale(-1)),
            "coarser": lambda _: self._changed(c.step_stroke_scale(+1)),
            "compare": lambda _: self._changed(c.cycle_compare()),
            "grid": lambda _: self._changed(c.toggle_grid()),
            "help": lambda _: self._changed(c.toggle_help()),
            "steady": lambda _: self.toggle_steady(),
            "pause": lambda _: self.toggle_pause(),
            "record": lambda _: self.toggle_recording(),
            "snapshot": lambda _: self.snapshot(),
        }

    # -- what is painted ---------------------------------------------------------------------------------------
    def target_mix(self) -> dict[Style, float]:
        """The current style, blended with the next one when a blend is on."""
        current = {self.styles[self.index]: 1.0}
        if self.controls.blend <= 0 or len(self.styles) < 2:
            return current
        partner = {self.styles[(self.index + 1) % len(self.styles)]: 1.0}
        return combine(current, partner, self.controls.blend)

    def current_mix(self, now: float) -> Mix:
        """The target mix, or during a cross-fade the way from the previous one to it."""
        if self.fade is not None:
            previous, started = self.fade
            progress = (now - started) / FADE_SECONDS
            if progress < 1:
                return combine(previous, self.target_mix(), progress)
            self.fade = None
        return self.target_mix()

    def paint(self, frame: np.ndarray, styles: Mix) -> np.ndarray:
        """One frame through the network(s) and the effects."""
        c = self.controls
        return paint(lambda f: render(f, styles), frame, c.strength / 100, c.preserve_colour, c.stroke_scale)

    def compose(self, frame: np.ndarray, now: float) -> np.ndarray:
        """The view: the painted frame, a comparison with the original, or a grid of styles."""
        c = self.controls
        height, width = frame.shape[:2]
        if c.grid:
            cells = grid_cells(min(len(self.styles), GRID_MAX), width, height)
            tiles = [self.paint(cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA), {style: 1.0})
                     for style, (_, _, w, h) in zip(self.styles, cells, strict=False)]
            return compose_grid(tiles, width, height)
        painted = self.paint(frame, self.current_mix(now))
        if c.steady:
            painted = self.stabilizer(frame, painted)
        if c.compare == "split":
            return compose_split(frame, painted)
        if c.compare == "side-by-side":
            return compose_side_by_side(frame, painted)
        return painted

    # -- controls ----------------------------------------------------------------------------------------------
    def _changed(self, event: str) -> None:
        print(event, flush=True)
        self._dirty = True  # re-render even when paused

    def _begin_fade(self) -> None:
        """Called just before the style or blend changes: fade from what is on screen now to the new target."""
        now = time.perf_counter()
        self.fade = (self.current_mix(now), now)
        self._dirty = True

    def select(self, index: int) -> None:
        if 0 <= index < len(self.styles) and index != self.index:
            self._begin_fade()
            self.index = index
            print(f"style: {self.styles[index].name}", flush=True)

    def cycle_blend(self) -> None:
        if len(self.styles) < 2:
            print("blend: off (only one style loaded)", flush=True)
            return
        self._begin_fade()
        self.controls.cycle_blend()
        print(f"blend: {describe_mix(self.target_mix()) if self.controls.blend else 'off'}", flush=True)

    def toggle_steady(self) -> None:
        self.stabilizer.reset()  # on again later: start afresh, not from a frame of long ago
        self._changed(self.controls.toggle_steady())

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        print("paused" if self.paused else "resumed", flush=True)

    def snapshot(self) -> None:
        if self.view is None:
            return
        self.snapshots += 1
        path = self.options.snapshot_dir / f"stylecast-{time.strftime('%Y%m%d-%H%M%S')}-{self.snapshots:03d}.png"
        write_image(path, self.view)
        print(f"snapshot: {path}", flush=True)

    def toggle_recording(self) -> None:
        if self.recorder is not None:
            self.stop_recording()
            return
        self.recordings += 1
        path = self.options.record_dir / f"stylecast-{time.strftime('%Y%m%d-%H%M%S')}-{self.recordings:03d}.mp4"
        microphone, why_not = open_microphone()
        self.recorder = Recorder(path, *self.size, self.source.fps, microphone)
        self.recording_note = "" if microphone else " (no microphone)"
        print(f"recording: {path}" + (f" (no microphone: {why_not})" if microphone is None else ""), flush=True)

    def stop_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        frames = recorder.stop(time.perf_counter())
        print(f"recorded: {recorder.path} ({frames} frames)", flush=True)

    def handle_key(self, key: int) -> bool:
        """Apply one key; False means quit."""
        if key < 0:
            return True
        if key in RIGHT or key in LEFT:
            char, action = "", "next" if key in RIGHT else "prev"
        else:
            char = chr(key & 0xFF) if key & 0xFF < 128 and key < 0x10000 else ""
            action = ACTIONS.get(char)
        if action == "quit":
            return False
        if action is not None:
            self._handlers[action](char)
        return True

    def look(self) -> str:
        """The options that paint a file as the window paints now (``video`` takes them all, ``image`` all but
        ``--stabilize``)."""
        c = self.controls
        options = ["--style", option_name(self.styles[self.index])]
        if c.blend > 0 and len(self.styles) > 1:
            partner = option_name(self.styles[(self.index + 1) % len(self.styles)])
            options += ["--blend", f"{partner}:{round(100 * c.blend)}"]
        options += ["--strength", str(c.strength)] if c.strength != 100 else []
        options += ["--preserve-colour"] if c.preserve_colour else []
        options += ["--stroke-scale", f"{c.stroke_scale:g}"] if c.stroke_scale != 1 else []
        options += ["--stabilize"] if c.steady else []
        return shlex.join(options)

    # -- the loop ----------------------------------------------------------------------------------------------
    def overlay_lines(self, fps: float) -> list[str]:
        c = self.controls
        style = self.styles[self.index]
        state = "  PAUSED" if self.paused else ""
        if self.recorder is not None:
            state += f"  REC{self.recording_note}"
        settings = [f"strength {c.strength}%"]
        settings += ["original colours"] if c.preserve_colour else []
        settings += [f"strokes x{c.stroke_scale:g}"] if c.stroke_scale != 1 else []
        settings += [f"compare: {c.compare}"] if c.compare != "off" else []
        settings += ["steady"] if c.steady else []
        lines = [f"{describe_mix(self.target_mix())}  {fps:4.1f} fps  {style.model.placement.device}{state}",
                 "  ".join(settings)]
        if c.help:
            return lines + [f"{key.label}\t{key.text}" for key in KEYS]
        return lines + ["h: keys"]

    def decorate(self, view: np.ndarray, fps: float) -> np.ndarray:
        """The overlay (and the grid's tile names) on a copy of the view, for the window only."""
        if not self.options.overlay:
            return view
        shown = view
        if self.controls.grid:
            shown = view.copy()
            cells = grid_cells(min(len(self.styles), GRID_MAX), view.shape[1], view.shape[0])
            for number, (style, (x, y, w, h)) in enumerate(zip(self.styles, cells, strict=False), start=1):
                text, scale = fit_label(f"{number} {style.name}", w - 12)
                (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
                band = shown[max(0, y + h - 12 - th):y + h - 8 + base, x + 2:x + 10 + tw]
                band[:] = (band * 0.45).astype(np.uint8)  # the overlay's dark band: readable on any paint
                cv2.putText(shown, text, (x + 6, y + h - 8), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                            cv2.LINE_AA)
        return draw_overlay(shown, self.overlay_lines(fps))

    def _publish(self, view: np.ndarray, now: float) -> None:
        self.view = view
        if self.recorder is not None:
            self.recorder.add(view, now)
        if self.options.virtual_camera is not None:
            self.options.virtual_camera.send(view)

    def _start(self, frame: np.ndarray) -> None:
        """Outputs that need the frame size, then the window: a virtual camera that cannot open fails first."""
        self.size = (frame.shape[1], frame.shape[0])
        if self.options.virtual_camera is not None:
            device = self.options.virtual_camera.open(*self.size, self.source.fps)
            print(f"virtual camera: {device}", flush=True)
        cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)  # no Qt toolbar over the feed
        print(f"style: {self.styles[self.index].name}", flush=True)
        if self.options.record:
            self.toggle_recording()

    def run(self) -> LiveStats:
        stats = self.stats = LiveStats()
        meter = FpsMeter()
        fps = 0.0
        started = time.perf_counter()
        try:
            frame = self.source.latest()
            if frame is not None:
                self._start(frame)
            fresh = True
            while frame is not None and (self.options.max_frames is None or stats.frames < self.options.max_frames):
                now = time.perf_counter()
                if fresh or self._dirty or self.fade is not None:
                    self._dirty = False
                    self._publish(self.compose(frame, now), now)
                    stats.frames += 1
                    fps = meter.tick()
                cv2.imshow(WINDOW, self.decorate(self.view, fps))
                if not self.handle_key(cv2.waitKeyEx(30 if self.paused else 1)):
                    break
                if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                    break
                fresh = not self.paused
                if fresh:
                    frame = self.source.latest()
            if frame is None:
                print("source ended", flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            stats.interrupted = True
        finally:
            stats.seconds = time.perf_counter() - started
            stats.dropped = self.source.dropped
            try:
                if self.recorder is not None:
                    self.stop_recording()
                if self.view is not None:  # a look was shown: how to paint a file the same way
                    print(f"look: {self.look()}", flush=True)
            finally:
                if self.options.virtual_camera is not None:
                    self.options.virtual_camera.close()
                cv2.destroyAllWindows()
                cv2.waitKey(1)
        return stats
