"""The CUDA path's figures for docs/PERFORMANCE.md: frames per second at 480p, 720p and 1080p on a GPU.

    python scripts/bench_gpu.py                                   # starry_night-fast, paintings, starry_night
    python scripts/bench_gpu.py --models starry_night-fast,x.onnx --frames 96

For each model and frame size, side by side in interleaved rounds (ratios survive a shared machine):
- network alone: a naive loop (fp32 graph, float32 NCHW numpy in and out, plain ``session.run``, so every frame
  crosses to the GPU as float32 and comes back as float32) against stylecast's session (uint8 NHWC in, the
  output left on the GPU through IO binding and copied back as uint8) in fp32 and fp16, with and without the
  32-px shape buckets, with cuDNN's heuristic or exhaustive algorithm search;
- end to end: decode -> stylize -> encode, the naive one-frame-at-a-time loop against stylecast's pipelined one.
Needs onnxruntime-gpu and a CUDA device; prints Markdown.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_performance import (  # noqa: E402 - the CPU benchmark's naive loop and timers, reused
    clip_frames, conv_gmacs, interleaved_ms, naive_stylizer, sequential_fps, style_blend)
from realtime.bench import Contestant, compare  # noqa: E402
from realtime.errors import run_script  # noqa: E402
from realtime.loader import load_model  # noqa: E402
from realtime.providers import GpuOptions  # noqa: E402
from realtime.sample import sample_clip  # noqa: E402

SIZES = ((640, 480), (1280, 720), (1920, 1080))
CUDA = ("CUDAExecutionProvider", "CPUExecutionProvider")
VARIANTS = {
    "stylecast fp32": GpuOptions(precision="fp32", bucket=0),
    "stylecast fp16": GpuOptions(precision="fp16", bucket=0),
    "stylecast fp16, 32-px buckets": GpuOptions(precision="fp16", bucket=32),
    "stylecast fp16, exhaustive cuDNN search": GpuOptions(precision="fp16", cudnn_algo="exhaustive", bucket=0),
}


def gpu_name() -> str:
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=30).stdout.strip() or "unknown GPU"
    except (OSError, subprocess.SubprocessError):
        return "unknown GPU"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="starry_night-fast,paintings,starry_night",
                        help="comma-separated styles or .onnx paths")
    parser.add_argument("--frames", type=int, default=96, help="frames per end-to-end run (default 96)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per network-alone figure")
    args = parser.parse_args()
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise SystemExit("bench_gpu: this onnxruntime has no CUDA provider (install onnxruntime-gpu)")
    clip = sample_clip()
    print(f"# stylecast on a GPU, {time.strftime('%Y-%m-%d %H:%M')}\n")
    print(f"- GPU: {gpu_name()}; onnxruntime {ort.__version__}; clip {clip.name}\n")
    print("## Network alone (median ms per frame; speed ratio to the naive loop, same run)\n")
    print("| model | size | variant | ms/frame | fps | x naive | GFLOP/s | max diff vs ours fp32 |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for name in args.models.split(","):
        models = {label: load_model(name, "cuda", None, options) for label, options in VARIANTS.items()}
        reference = models["stylecast fp32"]
        candidates = {"naive fp32 (float NCHW numpy, session.run)":
                      naive_stylizer(reference.path, style_blend(reference), providers=CUDA),
                      **{label: model.run for label, model in models.items()}}
        for size in SIZES:
            frame = clip_frames(clip, size, 4)[3]
            gmacs = conv_gmacs(reference.path, *size)
            truth = reference.run(frame).astype(np.int16)
            for label, (ms, ratio) in interleaved_ms(candidates, frame, args.repeats).items():
                diff = int(np.abs(candidates[label](frame).astype(np.int16) - truth).max())
                print(f"| {reference.name} | {size[0]}x{size[1]} | {label} | {ms:.2f} | {1000 / ms:.0f} | "
                      f"{ratio:.2f}x | {2 * gmacs / ms * 1000:.0f} | {diff} |", flush=True)

    print("\n## End to end: decode -> stylize -> encode (fps; ratio = stylecast / naive, median of 3 rounds)\n")
    print("| model | size | naive loop fps | stylecast fps (defaults) | speed-up | infer ms |")
    print("|---|---|---:|---:|---:|---:|")
    for name in args.models.split(","):
        ours = load_model(name, "cuda", None, GpuOptions())
        naive = naive_stylizer(ours.path, style_blend(ours), providers=CUDA)
        for size in SIZES:
            naive_runs, ours_runs, infer = [], [], []
            for _ in range(3):
                naive_runs.append(sequential_fps(clip, naive, size, args.frames))
                row = compare(clip, [Contestant("ours", ours.run)], size, args.frames, rounds=1)[0]
                ours_runs.append(row.fps)
                infer.append(row.infer_ms)
            ratio = statistics.median(o / n for o, n in zip(ours_runs, naive_runs, strict=True))
            print(f"| {ours.name} | {size[0]}x{size[1]} | {statistics.median(naive_runs):.1f} | "
                  f"{statistics.median(ours_runs):.1f} | {ratio:.2f}x | {statistics.median(infer):.2f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    run_script("bench_gpu", main)
