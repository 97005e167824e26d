"""Training speed: steps a second of one recipe, with the losses read back every step against every 16 (the
trainer's default on a GPU), at one or more batch sizes, side by side in interleaved rounds.

    python scripts/bench_training.py models/recipes/composition_vii-quality.json --device cuda \\
        --vgg-weights ../shared/assets/vgg/vgg16_features.pth --batch 4,8

A Johnson-size step on an H200 is bound by kernel launches (session 19: 40 steps/s alone at batch 4), so a read
that makes the CPU wait for the GPU every step, and a larger batch, may change the speed more than the arithmetic
says. Each round trains every variant for ``--steps`` steps from scratch and times the training loop alone (set-up
excluded; the checkpoint and preview written at the last step included); a first round warms up and is dropped.
Prints Markdown: the median of the rounds, and each variant's speed and crops a second as a ratio to the first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime.cli import positive_int  # noqa: E402
from realtime.errors import run_script  # noqa: E402
from training.recipe import Recipe, load_recipe  # noqa: E402
from training.trainer import GPU_READBACK_EVERY, Trainer  # noqa: E402


def steps_per_second(recipe: Recipe, readback: int, batch: int, steps: int, device: str, vgg: Path | None) -> float:
    """One timed run in a throw-away checkpoint folder."""
    with tempfile.TemporaryDirectory() as folder:
        run = recipe.with_overrides(steps=steps, batch_size=batch, checkpoint_every=steps, preview_every=steps)
        result = Trainer(run, Path(folder) / "ckpt", vgg, device=device, progress=False,
                         readback_every=readback).run()
    return result.steps_run / result.seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recipe", type=Path, help="a recipe .json")
    p.add_argument("--device", default="auto", help="cuda, cpu or auto (default)")
    p.add_argument("--vgg-weights", type=Path, help="VGG16 features state dict (default: torchvision's)")
    p.add_argument("--batch", default="", help="comma-separated batch sizes (default: the recipe's)")
    p.add_argument("--steps", type=positive_int, default=200, help="steps per timed run (default 200)")
    p.add_argument("--rounds", type=positive_int, default=3, help="timed rounds after the warm-up (default 3)")
    args = p.parse_args()
    recipe = load_recipe(args.recipe)
    batches = [int(b) for b in args.batch.split(",") if b] or [recipe.batch_size]
    variants = [(readback, batch) for batch in batches for readback in (1, GPU_READBACK_EVERY)]
    speeds: dict[tuple[int, int], list[float]] = {v: [] for v in variants}
    for round_ in range(args.rounds + 1):
        for readback, batch in variants:
            speed = steps_per_second(recipe, readback, batch, args.steps, args.device, args.vgg_weights)
            if round_:  # the first round warms up (cuDNN's algorithm search, allocator, caches)
                speeds[(readback, batch)].append(speed)
    print(f"# Training speed, {args.recipe.name}, {time.strftime('%Y-%m-%d %H:%M')}\n")
    print(f"{args.steps} steps a run, median of {args.rounds} interleaved rounds\n")
    print("| losses read every | batch | steps/s | crops/s | steps/s ratio | crops/s ratio |")
    print("|---:|---:|---:|---:|---:|---:|")
    base_batch = variants[0][1]
    base = statistics.median(speeds[variants[0]])
    for readback, batch in variants:
        median = statistics.median(speeds[(readback, batch)])
        print(f"| {readback} | {batch} | {median:.1f} | {median * batch:.0f} | {median / base:.2f}x | "
              f"{median * batch / (base * base_batch):.2f}x |")
    return 0


if __name__ == "__main__":
    run_script("bench_training", main)
