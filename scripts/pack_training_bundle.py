"""Pack what some training runs need into one small .tar.xz, for a machine that gets files only through a narrow
upload (a lent GPU takes 64 MiB per call, the repository included).

Give the recipes (or model files, whose metadata holds their recipe) the remote machine will run. The bundle holds
their training photos, their paintings and the VGG16 weights, each under its path relative to ``--root`` (default:
the repository's parent), so `tar -xJf BUNDLE -C ..` in a checkout there recreates ../shared/assets and every recipe
in models/recipes runs unchanged. Four things keep it small, none of which changes which pictures training sees:

- only the photos training reads: the held-out split (decided by a hash of each photo's path, so leaving it out
  moves no photo between the splits) stays behind unless ``--held-out`` asks for it, e.g. to run `stylecast eval`
  there;
- a photo is stored at most ``--max-side`` pixels on its long side (default 768: the trainer shrinks every photo
  to three times the crop side, 3 x 256, before it cuts crops, so nothing it uses is lost; re-encoding at the
  shared photos' own JPEG quality, 92, moves pixels by about two levels); a photo already that small is copied
  byte for byte. ``--jpeg-quality`` re-encodes every photo at a lower quality where that is smaller (85: about
  3 levels and a fifth less; 80: under 4 levels and two fifths less, on the shared photos);
- the VGG16 weights are stored in fp16 (the trainer loads them as fp32) and the layers past relu4_3, which no loss
  reads, are zeroed (xz packs zeros to nothing; the loader wants the whole VGG16 features dict);
- only the paintings the recipes name.

The upload holds the repository too, so the default ``--limit-mb`` is 64 MiB less what the repository's tracked
files weigh (28 MiB in session 13, nearly all shipped models): every recipe's photos at 768 px and quality 92 came
to 52 MiB, and one recipe's training photos at ``--max-side 640 --jpeg-quality 80`` fit.

Run it from the repository root, as `stylecast train` is run, so the recipes' relative paths resolve:

    python scripts/pack_training_bundle.py models/composition_vii.onnx --max-side 640 --jpeg-quality 80 \\
        --vgg-weights ../shared/assets/vgg/vgg16_features.pth --out /tmp/bundle.tar.xz
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime.catalog import read_info  # noqa: E402
from realtime.cli import positive_int  # noqa: E402
from realtime.errors import StylecastError, run_script  # noqa: E402
from realtime.outputs import atomic_output  # noqa: E402

if TYPE_CHECKING:
    from training.recipe import Recipe  # imported where used: it brings torch

REPO = Path(__file__).resolve().parents[1]
JPEG_QUALITY = 92    # the shared photos' own quality
UPLOAD_MIB = 64      # what one call to a lent GPU carries, the repository included


def recipe_of(path: Path) -> Recipe:
    """The recipe a run of ``path`` trains with: the JSON file itself, or the one a model records."""
    from training.recipe import Recipe, load_recipe

    if path.suffix == ".onnx":
        if not path.is_file():
            raise StylecastError(f"model not found: {path}")
        return Recipe.from_dict(dict(read_info(path).recipe))
    return load_recipe(path)


def needed_files(sources: list[Path], held_out: bool = False) -> tuple[list[Path], list[Path]]:
    """The photos and paintings the runs of ``sources`` read (with ``held_out``, their held-out photos too)."""
    from training.data import split_images

    photos: set[Path] = set()
    paintings: set[Path] = set()
    for source in sources:
        recipe = recipe_of(source)
        if not recipe.content_dir:
            raise StylecastError(f"{source}: the recipe names no content_dir")
        folder = Path(recipe.content_dir)
        if not folder.is_dir():
            raise StylecastError(f"{source}: training photos not found: {folder}")
        train, held = split_images(folder, recipe.holdout_every)
        photos.update(p.resolve() for p in train + (held if held_out else []))
        for style in recipe.styles:
            image = Path(style.image)
            if not image.is_file():
                raise StylecastError(f"{source}: painting not found: {image}")
            paintings.add(image.resolve())
    return sorted(photos), sorted(paintings)


def shrunk_photo(path: Path, max_side: int, quality: int | None = None) -> bytes:
    """The photo's bytes, re-encoded at ``max_side`` on its long side if it is larger, and at ``quality`` where
    that is smaller than the file."""
    import cv2
    import numpy as np

    data = path.read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise StylecastError(f"not a readable image: {path}")
    h, w = image.shape[:2]
    fits = max(h, w) <= max_side
    if fits and quality is None:
        return data
    if not fits:
        scale = max_side / max(h, w)
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(path.suffix if path.suffix.lower() in (".png", ".bmp") else ".jpg", image,
                               [cv2.IMWRITE_JPEG_QUALITY, quality or JPEG_QUALITY])
    if not ok:
        raise StylecastError(f"cannot re-encode {path}")
    return encoded.tobytes() if not fits or encoded.size < len(data) else data


def compact_vgg(path: Path) -> bytes:
    """VGG16 features in fp16 with every layer past relu4_3 zeroed: the bytes of a file the trainer loads as is."""
    import torch

    from training.vgg import LAYER_INDEX, vgg16_features

    last_read = max(LAYER_INDEX.values())  # relu4_3, the deepest layer the losses read
    state = vgg16_features(path).state_dict()  # refuses a file that is not VGG16 features, with one line
    compact = {key: (torch.zeros_like(value) if int(key.split(".")[0]) > last_read else value).half()
               for key, value in state.items()}
    buffer = io.BytesIO()
    torch.save(compact, buffer)
    return buffer.getvalue()


def upload_room_mb() -> float:
    """What is left of one upload beside the repository's tracked files (all of it when git cannot say)."""
    try:
        names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return UPLOAD_MIB
    tracked = sum((REPO / n).stat().st_size for n in names.decode().split("\0") if n and (REPO / n).is_file())
    return UPLOAD_MIB - tracked / 2**20


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
    p.add_argument("--jpeg-quality", type=positive_int, choices=range(1, 101), metavar="1..100",
                   help="re-encode every photo at this JPEG quality where that makes it smaller")
    p.add_argument("--held-out", action="store_true",
                   help="also pack the held-out photos (for stylecast eval there; training never reads them)")
    p.add_argument("--limit-mb", type=float,
                   help=f"refuse to write a bundle larger than this (MiB; default: the {UPLOAD_MIB} MiB upload "
                        "less the repository's tracked files)")
    args = p.parse_args()
    root = args.root.resolve()
    if not args.vgg_weights.is_file():
        raise StylecastError(f"VGG weights not found: {args.vgg_weights}")
    photos, paintings = needed_files(args.sources, args.held_out)
    buffer = io.BytesIO()
    # preset 0: the photos are JPEGs and the weights fp16, which xz barely packs at any preset (the default 6 was 1%
    # smaller and took 2.6x as long); the zeroed VGG layers pack to nothing at every preset.
    with tarfile.open(fileobj=buffer, mode="w:xz", preset=0) as tar:
        for photo in photos:
            add(tar, arcname(photo, root), shrunk_photo(photo, args.max_side, args.jpeg_quality))
        for painting in paintings:
            add(tar, arcname(painting, root), painting.read_bytes())
        add(tar, arcname(args.vgg_weights, root), compact_vgg(args.vgg_weights))
    size_mb = len(buffer.getvalue()) / 2**20
    limit_mb = upload_room_mb() if args.limit_mb is None else args.limit_mb
    if size_mb > limit_mb:
        raise StylecastError(f"the bundle would be {size_mb:.1f} MiB, over --limit-mb {limit_mb:.2f}; "
                             "lower --max-side or --jpeg-quality, or pack fewer recipes (nothing was written)")
    with atomic_output(args.out) as tmp:
        tmp.write_bytes(buffer.getvalue())
    into = ".. in a checkout" if root == REPO.parent.resolve() else "the folder that stands for --root"
    print(f"{args.out}: {len(photos)} photos, {len(paintings)} paintings, VGG16; {size_mb:.1f} MiB "
          f"(unpack with: tar -xJf {args.out.name} -C {into})")
    return 0


if __name__ == "__main__":
    run_script("pack_training_bundle", main)
