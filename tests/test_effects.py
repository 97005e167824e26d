"""The live window's pixel effects and controls, on pixels and without a window."""

from __future__ import annotations

import cv2
import numpy as np

from realtime.controls import ACTIONS, KEYS, Controls, describe_keys
from realtime.effects import (apply_strength, compose_grid, compose_side_by_side, compose_split, grid_cells,
                              grid_shape, letterbox, mix, preserve_colour, run_at_scale)

RNG = np.random.default_rng(7)


def frames(low: int = 0, high: int = 256, shape: tuple[int, int] = (48, 64)) -> tuple[np.ndarray, np.ndarray]:
    return tuple(RNG.integers(low, high, (*shape, 3), dtype=np.uint8) for _ in range(2))


def test_strength_end_points_are_exact_and_the_middle_is_a_linear_blend() -> None:
    original, stylized = frames()
    assert np.array_equal(apply_strength(stylized, original, 0.0), original)
    assert np.array_equal(apply_strength(stylized, original, 1.0), stylized)
    expected = 0.6 * original.astype(np.float32) + 0.4 * stylized
    assert np.abs(apply_strength(stylized, original, 0.4) - expected).max() <= 0.5 + 1e-3
    assert np.array_equal(mix(original, stylized, 0.5), mix(stylized, original, 0.5))


def test_preserve_colour_keeps_the_original_chroma_and_the_stylized_luma() -> None:
    # Low-saturation originals and mid-range luma keep every result inside the RGB gamut (no clipping).
    original = RNG.integers(100, 156, (48, 64, 3), dtype=np.uint8)
    stylized = RNG.integers(60, 196, (48, 64, 3), dtype=np.uint8)
    out = preserve_colour(stylized, original)
    ycc = {name: cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb).astype(int)
           for name, img in (("out", out), ("original", original), ("stylized", stylized))}
    assert np.abs(ycc["out"][..., 0] - ycc["stylized"][..., 0]).max() <= 2
    assert np.abs(ycc["out"][..., 1:] - ycc["original"][..., 1:]).max() <= 2
    # And it is not a no-op: the stylized frame's own colours are gone.
    assert np.abs(ycc["out"][..., 1:] - ycc["stylized"][..., 1:]).mean() > 10


def test_run_at_scale_runs_the_network_on_a_resized_frame_and_returns_the_frame_size() -> None:
    seen: list[tuple[int, ...]] = []

    def network(frame: np.ndarray) -> np.ndarray:
        seen.append(frame.shape)
        return 255 - frame

    frame = frames(shape=(48, 64))[0]
    assert np.array_equal(run_at_scale(network, frame, 1.0), 255 - frame)
    for scale in (2.0, 0.5, 1.5):
        assert run_at_scale(network, frame, scale).shape == frame.shape
    assert seen[1:] == [(24, 32, 3), (96, 128, 3), (32, 43, 3)]


def test_split_side_by_side_and_grid_layouts() -> None:
    original, stylized = frames(shape=(48, 64))
    split = compose_split(original, stylized)
    assert split.shape == original.shape
    assert np.array_equal(split[:, :32], original[:, :32]) and np.array_equal(split[:, 33:], stylized[:, 33:])
    assert (split[:, 32] == 255).all()
    side = compose_side_by_side(original, stylized)
    assert side.shape == (48, 128, 3)
    assert np.array_equal(side[:, :64], original) and np.array_equal(side[:, 64:], stylized)
    assert compose_side_by_side(original, stylized, max_width=64).shape == (24, 64, 3)

    assert [grid_shape(n) for n in (1, 2, 3, 4, 5, 9)] == [(1, 1), (1, 2), (2, 2), (2, 2), (2, 3), (3, 3)]
    cells = grid_cells(5, 65, 49)
    colours = [np.full((h, w, 3), 40 * (i + 1), np.uint8) for i, (_, _, w, h) in enumerate(cells)]
    grid = compose_grid(colours, 65, 49)
    assert grid.shape == (49, 65, 3)
    for i, (x, y, w, h) in enumerate(cells):
        assert (grid[y:y + h, x:x + w] == 40 * (i + 1)).all()
    assert (grid[24:, 44:] == 0).all()  # the sixth cell of the 2x3 grid stays black
    assert sum(w * h for _, _, w, h in grid_cells(9, 65, 49)) == 65 * 49  # cells tile the canvas exactly


def test_letterbox_keeps_the_aspect_ratio_inside_a_fixed_size() -> None:
    image = np.full((48, 128, 3), 200, np.uint8)
    assert letterbox(image, 128, 48) is image
    boxed = letterbox(image, 64, 48)
    assert boxed.shape == (48, 64, 3)
    assert (boxed[:12] == 0).all() and (boxed[36:] == 0).all() and (boxed[12:36] == 200).all()


def test_controls_step_within_their_ranges_and_name_each_change() -> None:
    c = Controls(strength=90)
    assert c.step_strength(+1) == "strength: 100%" and c.step_strength(+1) == "strength: 100%"
    assert [c.step_strength(-1) for _ in range(11)][-1] == "strength: 0%"
    assert c.toggle_colour() == "preserve-colour: on" and c.toggle_colour() == "preserve-colour: off"
    assert [c.step_stroke_scale(+1) for _ in range(5)] == [f"stroke-scale: {s}" for s in
                                                          ("1.25", "1.5", "1.75", "2", "2")]
    assert [c.step_stroke_scale(-1) for _ in range(7)][-1] == "stroke-scale: 0.5"
    assert [c.cycle_compare() for _ in range(3)] == ["compare: split", "compare: side-by-side", "compare: off"]
    assert c.toggle_grid() == "grid: on" and c.toggle_help() == "help: on"
    shares = []
    for _ in range(4):
        c.cycle_blend()
        shares.append(c.blend)
    assert shares == [0.25, 0.5, 0.75, 0.0]


def test_key_table_has_one_action_per_character_and_lists_every_key() -> None:
    assert sum(len(k.actions) for k in KEYS) == len(ACTIONS)  # no character bound twice
    assert len(describe_keys().splitlines()) == len(KEYS)
    for char in "123456789nbp-+[]c,.ogrsh q":
        assert char in ACTIONS, char

