"""Pack what some training runs need into one small .tar.xz, for a machine that gets files only through a narrow
upload (a lent GPU takes 64 MiB per call, the repository included).

Give the recipes (or model files, whose metadata holds their recipe) the remote machine will run. The bundle holds
their training photos, their paintings and the VGG16 weights, each under its path relative to ``--root`` (default:
the repository's parent), so `tar -xJf BUNDLE -C ..` in a checkout there recreates ../shared/assets and every recipe
in models/recipes runs unchanged. Three things keep it small, none of which changes what training sees:

- a photo is stored at most ``--max-side`` pixels on its long side (default 768: the trainer shrinks every photo
  to three times the crop side, 3 x 256, before it cuts crops, so nothing it uses is lost; re-encoding moves pixels
  by a level or two); a photo already that small is copied byte for byte. Relative paths are kept, so the held-out
  split is the same photos;
- the VGG16 weights are stored in fp16 (the trainer loads them as fp32) and the layers past relu4_3, which no loss
  reads, are zeroed (xz packs zeros to nothing; the loader wants the whole VGG16 features dict);
- only the paintings the recipes name.

Run it from the repository root, as `stylecast train` is run, so the recipes' relative paths resolve:

    python scripts/pack_training_bundle.py models/recipes/*-quality.json models/starry_night.onnx \\
        --vgg-weights ../shared/assets/vgg/vgg16_features.pth --out /tmp/bundle.tar.xz --limit-mb 54
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime.catalog import read_info  # noqa: E402
from realtime.cli import positive_int  # noqa: E402
from realtime.errors import StylecastError, run_script  # noqa: E402
from realtime.outputs import atomic_output  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
JPEG_QUALITY = 92    # the shared photos' own quality


def recipe_of(path: Path) -> dict:
    """The recipe a run of ``path`` trains with: the JSON file itself, or the one a model records."""
    from training.recipe import load_recipe

    if path.suffix == ".onnx":
        if not path.is_file():
            raise StylecastError(f"model not found: {path}")
        return dict(read_info(path).recipe)
    return load_recipe(path).to_dict()


def needed_files(sources: list[Path]) -> tuple[list[Path], list[Path]]:
    """The photo folders and paintings the runs of ``sources`` read."""
    from training.data import list_images

    photos: set[Path] = set()
    paintings: set[Path] = set()
    for source in sources:
        recipe = recipe_of(source)
        if not recipe.get("content_dir"):
            raise StylecastError(f"{source}: the recipe names no content_dir")
        folder = Path(recipe["content_dir"])
        if not folder.is_dir():
            raise StylecastError(f"{source}: training photos not found: {folder}")
        photos.update(p.resolve() for p in list_images(folder))
        for style in recipe.get("styles", []):
            image = Path(style["image"])
            if not image.is_file():
                raise StylecastError(f"{source}: painting not found: {image}")
            paintings.add(image.resolve())
    return sorted(photos), sorted(paintings)


def shrunk_photo(path: Path, max_side: int) -> bytes:
    """The photo's bytes, re-encoded at ``max_side`` on its long side if it is larger."""
    import cv2
    import numpy as np

    data = path.read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise StylecastError(f"not a readable image: {path}")
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return data
    scale = max_side / max(h, w)
    image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(path.suffix if path.suffix.lower() in (".png", ".bmp") else ".jpg", image,
                               [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise StylecastError(f"cannot re-encode {path}")
    return encoded.tobytes()


def compact_vgg(path: Path) -> bytes:
    """VGG16 features in fp16 with every layer past relu4_3 zeroed: the bytes of a file the trainer loads as is."""
    import torch

    from training.vgg import LAYER_INDEX, VGGFeatures

    last_read = max(LAYER_INDEX.values())  # relu4_3, the deepest layer the losses read
    VGGFeatures(path)  # refuses a file that is not VGG16 features, with one line
    state = torch.load(path, map_location="cpu", weights_only=True)
    compact = {key: (torch.zeros_like(value) if int(key.split(".")[0]) > last_read else value).half()
               for key, value in state.items()}
    buffer = io.BytesIO()
    torch.save(compact, buffer)
    return buffer.getvalue()


def arcname(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        raise StylecastError(f"{path} is not under --root {root}; the bundle keeps paths relative to it") from None


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="+", type=Path, help="recipes (.json) or stylecast models (.onnx)")
    p.add_argument("--vgg-weights", type=Path, required=True, help="VGG16 features state dict (fp32 or fp16)")
    p.add_argument("--out", "-o", type=Path, required=True, help="the .tar.xz to write")
    p.add_argument("--root", type=Path, default=REPO.parent,
                   help="paths in the bundle are relative to this (default: the repository's parent)")
    p.add_argument("--max-side", type=positive_int, default=768, help="long side of the stored photos (pixels)")
    p.add_argument("--limit-mb", type=float, help="refuse to write a bundle larger than this (MiB)")
    args = p.parse_args()
    root = args.root.resolve()
    if not args.vgg_weights.is_file():
        raise StylecastError(f"VGG weights not found: {args.vgg_weights}")
    photos, paintings = needed_files(args.sources)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        for photo in photos:
            add(tar, arcname(photo, root), shrunk_photo(photo, args.max_side))
        for painting in paintings:
            add(tar, arcname(painting, root), painting.read_bytes())
        add(tar, arcname(args.vgg_weights, root), compact_vgg(args.vgg_weights))
    size_mb = len(buffer.getvalue()) / 2**20
    if args.limit_mb is not None and size_mb > args.limit_mb:
        raise StylecastError(f"the bundle would be {size_mb:.1f} MiB, over --limit-mb {args.limit_mb:g}; "
                             "lower --max-side or pack fewer recipes (nothing was written)")
    with atomic_output(args.out) as tmp:
        tmp.write_bytes(buffer.getvalue())
    into = ".. in a checkout" if root == REPO.parent.resolve() else "the folder that stands for --root"
    print(f"{args.out}: {len(photos)} photos, {len(paintings)} paintings, VGG16; {size_mb:.1f} MiB "
          f"(unpack with: tar -xJf {args.out.name} -C {into})")
    return 0


if __name__ == "__main__":
    run_script("pack_training_bundle", main)
