"""The preview grid of models/README.md: the same photos in every installed style, one column per style.

    .venv/bin/python scripts/preview_grid.py -o docs/images/styles-grid.jpg

Photos: the held-out Kodak images of the shared assets (the only training photos with a licence that allows
showing them; held out, so no model saw them) when present, and always a frame of the project's own generated
sample clip. Only the runtime is needed (no torch).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime import catalog  # noqa: E402
from realtime.engine import StyleModel  # noqa: E402
from realtime.loader import load_model  # noqa: E402
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


def stylize(model: StyleModel, photo: np.ndarray) -> np.ndarray:
    """Painted at twice the tile size and shrunk, so strokes look as they do on a 640x480 video frame."""
    big = cv2.resize(photo, (photo.shape[1] * 2, photo.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    return cv2.resize(model.run(big), (photo.shape[1], photo.shape[0]), interpolation=cv2.INTER_AREA)


def label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(out, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--height", type=int, default=240, help="tile height in pixels (default 240)")
    parser.add_argument("--models", help="comma-separated styles (default: every installed model)")
    args = parser.parse_args()
    photos = [cv2.imread(str(KODAK / name)) for name in HELD_OUT_KODAK if (KODAK / name).is_file()]
    photos.append(sample_frames()[60])
    names = args.models.split(",") if args.models else [e.name for e in catalog.installed()]
    models = [load_model(n, "cpu") for n in names]
    rows = []
    for photo in photos:
        small = tile(photo, args.height)
        cells = [label(small, "photo")] + [label(stylize(m, small), m.name) for m in models]
        rows.append(cv2.hconcat(cells))
    cv2.imwrite(str(args.output), cv2.vconcat(rows), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {args.output}: {len(photos)} photos x {len(models)} styles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
