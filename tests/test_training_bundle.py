"""scripts/pack_training_bundle.py: what a narrow upload carries to a remote trainer is what the recipes need,
smaller, and still trains the same way."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="packing VGG weights needs the train extra (torch)")

from tests.training_fixtures import REPO, vgg_weights, write_painting, write_photos  # noqa: E402

SCRIPT = REPO / "scripts" / "pack_training_bundle.py"


def pack(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def bundle_root(tmp_path: Path) -> tuple[Path, Path, Path, Path, Path]:
    """A --root with photos (one held out, one smaller than --max-side 64), a painting, VGG weights, a recipe."""
    from training.data import split_images

    root = tmp_path / "root"
    photos = write_photos(root / "assets" / "photos", count=5, size=80)
    write_photos(photos / "nested", count=1, size=40, seed=3)
    painting = write_painting(root / "assets" / "painting.png")
    vgg = root / "assets" / "vgg16.pth"
    vgg.write_bytes(vgg_weights(tmp_path).read_bytes())
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"styles": [{"image": str(painting), "name": "stripes"}],
                                  "content_dir": str(photos)}))  # the default split: every 10th
    assert [len(s) for s in split_images(photos, 10)] == [5, 1]  # the split these tests are written for
    return root, photos, painting, vgg, recipe


def unpack(bundle: Path, into: Path) -> Path:
    with tarfile.open(bundle) as tar:
        tar.extractall(into, filter="data")
    return into


def test_a_bundle_holds_the_recipes_training_photos_paintings_and_a_smaller_vgg(tmp_path: Path) -> None:
    """Unpacked, the bundle has every training photo at its relative path (so the split is unchanged) and no
    held-out one, none longer than --max-side, the small ones and the painting byte for byte, and VGG weights
    that give the features the losses read (relu1_2..relu4_3) as the original file does, at fp16's precision,
    while the unused layers are zero."""
    import cv2

    from training.data import split_images
    from training.vgg import VGGFeatures

    root, photos, painting, vgg, recipe = bundle_root(tmp_path)
    bundle = tmp_path / "bundle.tar.xz"
    done = pack(recipe, "--vgg-weights", vgg, "--out", bundle, "--root", root, "--max-side", 64, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "5 photos, 1 paintings" in done.stdout
    unpacked = unpack(bundle, tmp_path / "unpacked")

    train, held = split_images(photos, 10)
    for original in train:
        copy = unpacked / original.relative_to(root)
        assert max(cv2.imread(str(copy)).shape[:2]) <= 64, copy
        if max(cv2.imread(str(original)).shape[:2]) <= 64:
            assert copy.read_bytes() == original.read_bytes()
    assert not (unpacked / held[0].relative_to(root)).exists()
    moved = unpacked / "assets" / "photos"
    assert [p.relative_to(moved) for p in split_images(moved, 10)[0]] == [p.relative_to(photos) for p in train]
    assert (unpacked / painting.relative_to(root)).read_bytes() == painting.read_bytes()

    packed_vgg = unpacked / "assets" / "vgg16.pth"
    assert packed_vgg.stat().st_size < 0.6 * vgg.stat().st_size
    state = torch.load(packed_vgg, weights_only=True)
    assert state["28.weight"].abs().max() == 0 and state["0.weight"].abs().max() > 0
    rgb = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    layers = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
    with torch.no_grad():
        expected, got = VGGFeatures(vgg)(rgb, layers), VGGFeatures(packed_vgg)(rgb, layers)
    for name in layers:
        error = (got[name] - expected[name]).norm() / expected[name].norm()
        assert error < 1e-2, (name, float(error))


def test_a_lower_jpeg_quality_shrinks_every_photo_and_held_out_ones_come_on_request(tmp_path: Path) -> None:
    """--jpeg-quality re-encodes even the photos small enough to copy, where that is smaller, and moves their
    pixels only a little; --held-out carries the held-out split too (for an evaluation on the remote side)."""
    import cv2
    import numpy as np

    from training.data import split_images

    root, photos, _, vgg, recipe = bundle_root(tmp_path)
    bundle = tmp_path / "bundle.tar.xz"
    done = pack(recipe, "--vgg-weights", vgg, "--out", bundle, "--root", root, "--max-side", 64,
                "--jpeg-quality", 40, "--held-out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "6 photos" in done.stdout
    unpacked = unpack(bundle, tmp_path / "unpacked")
    small = photos / "nested" / "photo_0.jpg"
    copy = unpacked / small.relative_to(root)
    assert copy.stat().st_size < 0.8 * small.stat().st_size
    shift = np.abs(cv2.imread(str(copy)).astype(int) - cv2.imread(str(small)).astype(int)).mean()
    assert 0 < shift < 6, shift
    held = split_images(photos, 10)[1][0]
    assert (unpacked / held.relative_to(root)).is_file()


def test_an_oversized_bundle_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "photos", count=2)
    painting = write_painting(tmp_path / "painting.png")
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"styles": [{"image": str(painting)}], "content_dir": str(photos)}))
    bundle = tmp_path / "bundle.tar.xz"
    done = pack(recipe, "--vgg-weights", vgg_weights(tmp_path), "--out", bundle, "--root", "/",
                "--limit-mb", 0.01, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "over --limit-mb 0.01" in done.stderr, done.stderr
    assert not list(tmp_path.glob("*.xz"))


def test_a_recipe_whose_painting_is_missing_is_one_line(tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "photos", count=2)
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"styles": [{"image": str(tmp_path / "gone.jpg")}], "content_dir": str(photos)}))
    done = pack(recipe, "--vgg-weights", vgg_weights(tmp_path), "--out", tmp_path / "b.tar.xz", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("pack_training_bundle:") and "painting not found" in done.stderr
    assert done.stderr.count("\n") == 1 and not (tmp_path / "b.tar.xz").exists()
