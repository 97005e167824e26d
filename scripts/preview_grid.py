"""The preview grid of models/README.md: the same photos in every installed style, one row per style.

    .venv/bin/python scripts/preview_grid.py -o docs/images/styles-grid.jpg
    .venv/bin/python scripts/preview_grid.py -o docs/images/blend.jpg --blend paintings-fast/wave,paintings-fast/udnie

``--blend A,B`` draws one photo going from style A to style B in five steps instead, through the live window's
mixer: inside the network when both styles live in one multi-style model, by mixing outputs otherwise.

Photos: the held-out Kodak images of the shared assets (the only training photos with a licence that allows
showing them; held out, so no model saw them) when present, and always a frame of the project's own generated
sample clip. Only the runtime is needed (no torch).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime import catalog  # noqa: E402
from realtime.live import fit_label  # noqa: E402
from realtime.loader import load_model, load_styles  # noqa: E402
from realtime.mixer import render  # noqa: E402
from realtime.errors import run_script  # noqa: E402
from realtime.outputs import check_output_path, write_image  # noqa: E402
from realtime.sample import frames as sample_frames  # noqa: E402

KODAK = Path(__file__).resolve().parents[2] / "shared" / "assets" / "content" / "kodak24"
HELD_OUT_KODAK = ("kodim02.jpg", "kodim12.jpg", "kodim17.jpg")  # training's held-out split (holdout_every=10)


def tile(image: np.ndarray, height: int) -> np.ndarray:
    """Scaled to cover a 4:3 tile of ``height`` and centre-cropped, so the grid is regular."""
    width = height * 4 // 3
    scale = max(height / image.shape[0], width / image.shape[1])
    size = (max(width, round(image.shape[1] * scale)), max(height, round(image.shape[0] * scale)))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    x, y = (size[0] - width) // 2, (size[1] - height) // 2
    return np.ascontiguousarray(resized[y:y + height, x:x + width])


def stylize(paint: Callable[[np.ndarray], np.ndarray], photo: np.ndarray) -> np.ndarray:
    """Painted at twice the tile size and shrunk, so strokes look as they do on a 640x480 video frame."""
    big = cv2.resize(photo, (photo.shape[1] * 2, photo.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    return cv2.resize(paint(big), (photo.shape[1], photo.shape[0]), interpolation=cv2.INTER_AREA)


def label(image: np.ndarray, text: str) -> np.ndarray:
    """A caption bar on top, fitted to the tile as the live window's grid fits its labels."""
    out = image.copy()
    text, scale = fit_label(text, out.shape[1] - 10, scales=(0.5, 0.3))
    cv2.rectangle(out, (0, 0), (out.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(out, text, (5, 16), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def shown_by_default() -> list[str]:
    """Every painting once per tier, under its catalog name (``wave``, ``wave-fast``); a multi-style model adds
    rows (``MODEL/STYLE``) only for its styles that no name of its tier paints (its blends have a picture of their
    own, ``--blend``)."""
    entries = catalog.installed()
    painted = {e.name: catalog.painted_styles(e) for e in entries}
    named = {(e.tier, painted[e.name][0]) for e in entries if len(painted[e.name]) == 1}
    names: list[str] = []
    for e in entries:
        styles = painted[e.name]
        names += [e.name] if len(styles) == 1 else [f"{e.name}/{s}" for s in styles if (e.tier, s) not in named]
    return names


def grid(photos: list[np.ndarray], names: list[str]) -> np.ndarray:
    models = [load_model(n, "cpu") for n in names]
    rows = [cv2.hconcat([label(photo, "photo" if i == 0 else "") for i, photo in enumerate(photos)])]
    for model in models:
        rows.append(cv2.hconcat([label(stylize(model.run, photo), model.name) for photo in photos]))
    return cv2.vconcat(rows)


def blend_strip(photo: np.ndarray, pair: list[str], steps: int = 5) -> np.ndarray:
    a, b = load_styles(pair, "cpu")
    cells = [label(photo, "photo")]
    for i in range(steps):
        w = i / (steps - 1)
        painted = stylize(lambda frame, w=w: render(frame, {a: 1 - w, b: w}), photo)
        cells.append(label(painted, f"{a.name} {round(100 * (1 - w))}%" if w < 0.5 else f"{b.name} {round(100 * w)}%"))
    return cv2.hconcat(cells)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--height", type=int, default=180, help="tile height in pixels (default 180)")
    parser.add_argument("--models", help="comma-separated styles (default: every installed style)")
    parser.add_argument("--blend", help="two comma-separated styles: one photo blended from the first to the second")
    args = parser.parse_args()
    check_output_path(args.output)  # before painting every style, not after
    photos = [cv2.imread(str(KODAK / name)) for name in HELD_OUT_KODAK if (KODAK / name).is_file()]
    photos.append(sample_frames()[60])
    tiles = [tile(photo, args.height) for photo in photos]
    if args.blend:
        image = blend_strip(tiles[0], [n.strip() for n in args.blend.split(",")][:2])
    else:
        image = grid(tiles, args.models.split(",") if args.models else shown_by_default())
    write_image(args.output, image, jpeg_quality=88)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    run_script("preview_grid", main)
