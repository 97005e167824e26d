"""Content photos for training: a small folder stretched by augmentation, sampled reproducibly.

The shared photo set is ~450 images, far fewer than COCO's 80k used by the published recipes, so each step
takes random crops (30-100% of the short side), rescales them to the training size and flips half of them.
Sampling is a pure function of (seed, step): resuming at step k draws exactly the crops an uninterrupted run
would have drawn, and distributed ranks split one global batch instead of drawing their own.
A fixed, hash-chosen subset of photos is held out for previews and evaluation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from realtime.picture_io import read_image
from realtime.errors import StylecastError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def list_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise StylecastError(f"content folder not found: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise StylecastError(f"no images (.jpg/.png/...) in {folder}")
    return files


def is_held_out(path: Path, root: Path, every: int) -> bool:
    """Stable across machines and file orders: decided by a hash of the path relative to the folder."""
    digest = hashlib.sha1(path.relative_to(root).as_posix().encode()).digest()
    return every > 0 and int.from_bytes(digest[:4], "big") % every == 0


def split_images(folder: Path, holdout_every: int) -> tuple[list[Path], list[Path]]:
    files = list_images(folder)
    held = [p for p in files if is_held_out(p, folder, holdout_every)]
    train = [p for p in files if not is_held_out(p, folder, holdout_every)]
    if not train:
        raise StylecastError(f"every image in {folder} is held out; add photos or raise holdout_every")
    return train, held


def load_rgb(path: Path, max_side: int | None = None) -> torch.Tensor:
    """uint8 (3, H, W) sRGB, read as the runtime reads pictures (HEIC too, colour profiles applied), so a photo is
    optimised, scored and trained on in the colours it is painted in; optionally downscaled (antialiased) so the
    longer side is at most ``max_side``."""
    bgr = read_image(Path(path)).colour
    img = torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1])).permute(2, 0, 1).contiguous()
    if max_side and max(img.shape[1:]) > max_side:
        img = resize_long_side(img, max_side)
    return img


def resize_long_side(img: torch.Tensor, side: int) -> torch.Tensor:
    h, w = img.shape[-2:]
    scale = side / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    out = F.interpolate(img[None].float(), size=size, mode="bilinear", antialias=True, align_corners=False)
    return out[0].round().clamp(0, 255).to(torch.uint8)


def to_unit(img: torch.Tensor) -> torch.Tensor:
    return img.float() / 255.0


class CropSampler:
    """Draws the global batch for a step: random crops of preloaded photos, as float RGB in [0, 1], on ``device``.

    The photos are kept on the device that trains: on a GPU the crops are cut and rescaled there. With the crops
    cut on the CPU, one Johnson-size run on an H200 made 32 steps/s at batch 8, several times slower than its
    arithmetic needs of that GPU (an estimate: the GPU-side speed-up is not measured yet). Only the crop
    positions come from the CPU generator, so a step draws the same crops on every device."""

    def __init__(self, files: list[Path], size: int, seed: int, device: torch.device | None = None) -> None:
        self.size = size
        self.seed = seed
        # Preload once, downscaled: decoding JPEGs every step would cost as much as a small network's step.
        self.images = [load_rgb(p, max_side=size * 3).to(device or "cpu") for p in files]

    def batch(self, step: int, batch_size: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        crops = []
        for _ in range(batch_size):
            img = self.images[int(torch.randint(len(self.images), (1,), generator=g))]
            h, w = img.shape[1:]
            short = min(h, w)
            side = max(1, int(short * (0.3 + 0.7 * float(torch.rand(1, generator=g)))))
            top = int(torch.randint(h - side + 1, (1,), generator=g))
            left = int(torch.randint(w - side + 1, (1,), generator=g))
            crop = img[None, :, top:top + side, left:left + side].float()
            crop = F.interpolate(crop, size=(self.size, self.size), mode="bilinear", antialias=True,
                                 align_corners=False)
            if float(torch.rand(1, generator=g)) < 0.5:
                crop = crop.flip(-1)
            crops.append(crop)
        return (torch.cat(crops) / 255.0).clamp(0, 1)
