"""Train several recipes at once, one `stylecast train` process each, sharing one machine (a lent GPU), and stop
them all at a wall-clock deadline. A model file in place of a recipe trains that model further (`--from-model`)
for ``--more-steps`` beyond the step it records, so each lease adds to the shipped models instead of starting over.

Processes sharing a GPU take turns on it (time slicing, not concurrency): on an H200, eight Johnson-size runs at
batch 8 made 46 steps/s together against 32 steps/s for one run alone, so side by side buys little throughput and
costs each run most of its own. Run several when every recipe must come out of one short lease; run one when its
quality matters (see docs/STATUS.md, device lessons). A run still going at the deadline is stopped the way Ctrl-C stops it (it
saves a checkpoint) and exported from that checkpoint, so a lease never ends with nothing; its model records the
step it reached, and its recipe reproduces it with ``--steps`` set to that step.

    python scripts/train_many.py models/recipes/wave-quality.json models/recipes/udnie-quality.json \\
        --out-dir /tmp/gpu --deadline-min 5 -- --vgg-weights vgg16.pth --device cuda
    python scripts/train_many.py models/wave.onnx models/udnie.onnx --more-steps 20000 \\
        --out-dir /tmp/gpu --deadline-min 8 -- --vgg-weights vgg16.pth --device cuda

Arguments after ``--`` go to every `stylecast train`. Prints one line per run: exit, step reached, minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime.catalog import read_info  # noqa: E402
from realtime.cli import positive_int  # noqa: E402
from realtime.errors import StylecastError, run_script  # noqa: E402

CLI = [sys.executable, "-m", "realtime.cli"]
REPO = Path(__file__).resolve().parents[1]
FINISHED = re.compile(r"stylecast: (\d+) steps in ([\d.]+) min")


@dataclass
class Run:
    name: str
    process: subprocess.Popen
    log: Path
    onnx: Path
    checkpoints: Path
    code: int | None = None


def source_args(source: Path, more_steps: int) -> list[str]:
    """What tells `stylecast train` which run to make: a recipe, or a model file to train further."""
    if source.suffix != ".onnx":
        return ["--recipe", str(source)]
    recorded = read_info(source).recipe.get("steps")
    if not isinstance(recorded, int):
        raise StylecastError(f"{source} records no step count to train on from")
    return ["--from-model", str(source), "--steps", str(recorded + more_steps)]


def start(source: Path, out_dir: Path, threads: int, extra: list[str], more_steps: int) -> Run:
    name = source.stem
    onnx, ckpt, log = out_dir / f"{name}.onnx", out_dir / f"{name}.ckpt", out_dir / f"{name}.log"
    command = [*CLI, "train", *source_args(source, more_steps), "--out", str(onnx), "--checkpoint-dir", str(ckpt),
               "--threads", str(threads), "--resume", *extra]
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO)
    return Run(name, process, log, onnx, ckpt)


def wait_all(runs: list[Run], deadline: float) -> None:
    """Until every run ends or the deadline passes; then SIGTERM (a checkpoint is saved) and a minute's grace."""
    while any(r.process.poll() is None for r in runs) and time.monotonic() < deadline:
        time.sleep(2)
    for r in runs:
        if r.process.poll() is None:
            r.process.send_signal(signal.SIGTERM)
    for r in runs:
        try:
            r.code = r.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            r.process.kill()
            r.code = r.process.wait()


def export_stopped(run: Run) -> str:
    """A run that did not write its model (stopped, or failed) is exported from its newest checkpoint; without
    one, `stylecast export` says so in its one-line error."""
    if run.code == 0 and run.onnx.is_file():
        return "finished"
    done = subprocess.run([*CLI, "export", str(run.checkpoints), "-o", str(run.onnx)], cwd=REPO,
                          capture_output=True, text=True)
    last = (done.stdout.strip().splitlines() or [done.stderr.strip()])[-1]
    return f"exit {run.code}; export: {last}"


def main() -> int:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="+", type=Path, metavar="RECIPE_OR_MODEL",
                   help="recipe .json files, or stylecast .onnx models to train further")
    p.add_argument("--more-steps", type=positive_int, default=100_000,
                   help="for a model: steps beyond the one it records (default: until the deadline)")
    p.add_argument("--out-dir", type=Path, required=True, help="models, checkpoints and one log per recipe")
    p.add_argument("--deadline-min", type=float, default=60.0, help="stop every run after this many minutes")
    args = p.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    threads = max(1, (os.cpu_count() or 1) // len(args.sources))
    began = time.monotonic()
    runs = [start(s.resolve(), args.out_dir.resolve(), threads, extra, args.more_steps) for s in args.sources]
    wait_all(runs, began + 60 * args.deadline_min)
    for run in runs:
        status = export_stopped(run)
        log = run.log.read_text(errors="replace") if run.log.is_file() else ""
        finished = FINISHED.findall(log)
        steps = f"{finished[-1][0]} steps in {finished[-1][1]} min" if finished else "no steps reported"
        print(f"{run.name}: {steps}; {status}", flush=True)
    return 0 if all(r.onnx.is_file() for r in runs) else 1


if __name__ == "__main__":
    run_script("train_many", main)
