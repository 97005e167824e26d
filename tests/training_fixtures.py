"""Small, deterministic inputs for trainer tests: synthetic photos, a synthetic painting, VGG weights.

With ../shared/assets present the real VGG16 weights are used; without them a seeded random VGG16 stands in.
Losses over random features are still real perceptual-style losses (fixed non-linear features, Gram statistics),
so "training lowers the loss" stays a meaningful check on machines without the assets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO.parent / "shared" / "assets"
REAL_VGG = ASSETS / "vgg" / "vgg16_features.pth"


def write_photos(folder: Path, count: int = 6, size: int = 80, seed: int = 0) -> Path:
    """Smooth random scenes (blurred blobs and gradients) as JPEGs, so crops have structure to keep."""
    import cv2

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        img = np.zeros((size, size + 16, 3), np.float32)
        yy, xx = np.mgrid[0:size, 0:size + 16]
        img += rng.uniform(0, 255, 3) * (yy / size)[..., None]
        for _ in range(5):
            cy, cx, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(5, 25)
            mask = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
            img[mask] = rng.uniform(0, 255, 3)
        img = cv2.GaussianBlur(img, (5, 5), 0)
        cv2.imwrite(str(folder / f"photo_{i}.jpg"), img.clip(0, 255).astype(np.uint8))
    return folder


def write_painting(path: Path, size: int = 96, seed: int = 1) -> Path:
    """A striped, high-contrast 'painting' with a strong, easily learned Gram signature."""
    import cv2

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    stripes = (np.sin((xx + yy) / 3.0) > 0).astype(np.float32)
    img = np.stack([stripes * 200 + 30, (1 - stripes) * 180 + 40, rng.uniform(0, 60, (size, size))], -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img.astype(np.uint8))
    return path


def vgg_weights(folder: Path) -> Path:
    """The real VGG16 features when the shared assets are here, else a seeded random one."""
    if REAL_VGG.is_file():
        return REAL_VGG
    import torch
    from torchvision.models import vgg16

    torch.manual_seed(0)
    path = folder / "random_vgg16_features.pth"
    if not path.exists():
        torch.save(vgg16(weights=None).features.state_dict(), path)
    return path
