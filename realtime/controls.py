"""The live window's controls: their state, their ranges and the keys that change them.

Kept apart from the window (no OpenCV here) so that the command line can take the same settings as options and
list the same keys in its --help as the window's help overlay does: one table, so they cannot disagree. Every
change returns the event line the live window prints on stdout (tests and scripts follow those lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

STRENGTH_STEP = 10
STROKE_SCALE_MIN, STROKE_SCALE_MAX, STROKE_SCALE_STEP = 0.5, 2.0, 0.25
COMPARE_MODES = ("off", "split", "side-by-side")
BLEND_SHARES = (0.0, 0.25, 0.5, 0.75)  # share of the next style; b steps through them


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"


@dataclass
class Controls:
    """What the viewer can change while watching; the command-line options set the starting values."""

    strength: int = 100           # percent of the stylized frame over the original
    preserve_colour: bool = False
    stroke_scale: float = 1.0     # the network sees the frame shrunk by this factor
    compare: str = "off"          # one of COMPARE_MODES
    grid: bool = False
    blend: float = 0.0            # share of the next style, one of BLEND_SHARES
    steady: bool = False          # flicker filter: flow-guided blending with the previous output
    help: bool = False

    def step_strength(self, steps: int) -> str:
        self.strength = min(100, max(0, self.strength + steps * STRENGTH_STEP))
        return f"strength: {self.strength}%"

    def toggle_colour(self) -> str:
        self.preserve_colour = not self.preserve_colour
        return f"preserve-colour: {_on_off(self.preserve_colour)}"

    def step_stroke_scale(self, steps: int) -> str:
        scale = round(self.stroke_scale + steps * STROKE_SCALE_STEP, 2)
        self.stroke_scale = min(STROKE_SCALE_MAX, max(STROKE_SCALE_MIN, scale))
        return f"stroke-scale: {self.stroke_scale:g}"

    def cycle_compare(self) -> str:
        self.compare = COMPARE_MODES[(COMPARE_MODES.index(self.compare) + 1) % len(COMPARE_MODES)]
        return f"compare: {self.compare}"

    def toggle_grid(self) -> str:
        self.grid = not self.grid
        return f"grid: {_on_off(self.grid)}"

    def cycle_blend(self) -> None:
        """Next blend share (the live window prints the blend with the styles' names)."""
        self.blend = BLEND_SHARES[(BLEND_SHARES.index(self.blend) + 1) % len(BLEND_SHARES)]

    def toggle_steady(self) -> str:
        self.steady = not self.steady
        return f"steady: {_on_off(self.steady)}"

    def toggle_help(self) -> str:
        self.help = not self.help
        return f"help: {_on_off(self.help)}"


@dataclass(frozen=True)
class Key:
    """One line of the help: a label, what it does, and the characters that trigger which action."""

    label: str
    text: str
    actions: Mapping[str, str]


KEYS = (
    Key("1-9", "pick a style", dict.fromkeys("123456789", "pick")),
    Key("n / p, arrows", "next / previous style (cross-fades)", {"n": "next", "p": "prev"}),
    Key("b", "blend with the next style: 25%, 50%, 75%, off", {"b": "blend"}),
    Key("- / +, [ / ]", f"strength -/+ {STRENGTH_STEP}%",
        {"-": "weaker", "[": "weaker", "+": "stronger", "=": "stronger", "]": "stronger"}),
    Key("c", "preserve the original colours on/off", {"c": "colour"}),
    Key(", / .", f"finer / coarser brush strokes ({STROKE_SCALE_MIN:g}-{STROKE_SCALE_MAX:g})",
        {",": "finer", ".": "coarser"}),
    Key("f", "flicker filter (steady strokes along the motion) on/off", {"f": "steady"}),
    Key("o", "compare with the original: split, side by side, off", {"o": "compare"}),
    Key("g", "grid of the styles (up to 9) on/off", {"g": "grid"}),
    Key("r", "record on/off (.mp4, with the microphone if any)", {"r": "record"}),
    Key("s", "snapshot (PNG)", {"s": "snapshot"}),
    Key("space", "pause / resume", {" ": "pause"}),
    Key("h", "this help on/off", {"h": "help"}),
    Key("q, Esc", "quit", {"q": "quit", "\x1b": "quit"}),
)
ACTIONS = {char: action for key in KEYS for char, action in key.actions.items()}


def describe_keys(indent: str = "  ") -> str:
    """The key table as text lines (the command's --help; the window's help overlay shows the same rows)."""
    return "\n".join(f"{indent}{key.label:<14} {key.text}" for key in KEYS)
