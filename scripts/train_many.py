"""Train several recipes at once, one `stylecast train` process each, sharing one machine (a lent GPU), and stop
them all at a wall-clock deadline. A model file in place of a recipe trains that model further (`--from-model`)
for ``--more-steps`` beyond the step it records, so each lease adds to the shipped models instead of starting over.

Processes sharing a GPU take turns on it (time slicing, not concurrency): on an H200, eight Johnson-size runs at
batch 8 made 46 steps/s together against 32 steps/s for one run alone (session 10; in session 14 one run at batch
4 made 36-38 steps/s), so side by side buys little throughput and costs each run most of its own. Run several
when every recipe must come out of one short lease; run one when its quality matters (see docs/STATUS.md, device
lessons). A run still going at the deadline is stopped the way Ctrl-C stops it (it saves a checkpoint) and
exported from that checkpoint, so a lease never ends with nothing; its model records the step it reached, and its
recipe reproduces it with ``--steps`` set to that step.

    python scripts/train_many.py models/recipes/wave-quality.json models/recipes/udnie-quality.json \\
        --out-dir /tmp/gpu --deadline-min 5 -- --vgg-weights vgg16.pth --device cuda
    python scripts/train_many.py models/wave.onnx models/udnie.onnx --more-steps 20000 \\
        --out-dir /tmp/gpu --deadline-min 8 -- --vgg-weights vgg16.pth --device cuda

``--final-lr`` ends every run at a lower rate, which a step schedule cannot say ahead of a lease because no one
knows how many steps a run will make in it: at ``1 - --final-share`` of the deadline each run is stopped (it saves a
checkpoint), its own speed so far is read from its progress bar, and it is resumed from that checkpoint with
``--steps`` sized to end before the deadline (less its start-up and export) and ``--lr-schedule STEP:LR`` from the
step it reached, so the model's recipe reproduces the drop. A run that diverged before the switch goes on, at the
lower rate, from the last checkpoint its divergence guard trusts (session 14: `the_scream` at 3e-4 broke past step
7858 and went on from 7000 at 1e-4 to 2.70x -> 1.96x the optimum's style loss):

    python scripts/train_many.py models/the_scream.onnx --out-dir /root/train --deadline-min 6 \\
        --final-lr 1e-4 --final-share 0.6 -- --vgg-weights vgg16.pth --device cuda

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
from realtime.cli import fraction, positive_int  # noqa: E402
from realtime.errors import StylecastError, run_script  # noqa: E402

CLI = [sys.executable, "-m", "realtime.cli"]
REPO = Path(__file__).resolve().parents[1]
FINISHED = re.compile(r"stylecast: (\d+) steps in ([\d.]+) min")
# tqdm's progress line: [elapsed<remaining, rate] with the rate as steps/s, or s/step below one step a second.
BAR = re.compile(r"\[(?:(\d+):)?(\d+):(\d+)<[^,\]]*, *([\d.]+)(step/s|s/step)")


@dataclass
class Run:
    name: str
    source: Path
    process: subprocess.Popen
    log: Path
    onnx: Path
    checkpoints: Path
    began: float
    ended: float | None = None
    code: int | None = None
    final_from: int | None = None    # the step from which it trains at --final-lr

    @property
    def finished(self) -> bool:
        """It ran to its last step and wrote its model."""
        return self.code == 0 and self.onnx.is_file()


def learning_rate(text: str) -> float:
    """An argparse type: a rate in (0, 1]."""
    value = fraction(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


def source_args(source: Path, more_steps: int) -> list[str]:
    """What tells `stylecast train` which run to make: a recipe, or a model file to train further."""
    if source.suffix != ".onnx":
        return ["--recipe", str(source)]
    recorded = read_info(source).recipe.get("steps")
    if not isinstance(recorded, int):
        raise StylecastError(f"{source} records no step count to train on from")
    return ["--from-model", str(source), "--steps", str(recorded + more_steps)]


def start(source: Path, out_dir: Path, threads: int, extra: list[str], more_steps: int,
          then: tuple[str, ...] = ()) -> Run:
    """Start one `stylecast train`; ``then`` (later flags win) and an appended log when it goes on at a new rate."""
    name = source.stem
    onnx, ckpt, log = out_dir / f"{name}.onnx", out_dir / f"{name}.ckpt", out_dir / f"{name}.log"
    command = [*CLI, "train", *source_args(source, more_steps), "--out", str(onnx), "--checkpoint-dir", str(ckpt),
               "--threads", str(threads), "--resume", *extra, *then]
    with log.open("a" if then else "w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO)
    return Run(name, source, process, log, onnx, ckpt, began=time.monotonic())


def wait_all(runs: list[Run], deadline: float) -> None:
    """Until every run ends or the deadline passes; then SIGTERM (a checkpoint is saved) and a minute's grace."""
    while time.monotonic() < deadline:
        for r in runs:
            if r.ended is None and r.process.poll() is not None:
                r.ended = time.monotonic()
        if all(r.ended is not None for r in runs):
            break
        time.sleep(1)
    for r in runs:
        if r.process.poll() is None:
            r.process.send_signal(signal.SIGTERM)
    for r in runs:
        try:
            r.code = r.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            r.process.kill()
            r.code = r.process.wait()
        r.ended = r.ended or time.monotonic()


def bar_speed(log: Path) -> tuple[float, float] | None:
    """Steps per second and seconds spent in the training loop, from the last progress line of ``log``."""
    lines = BAR.findall(log.read_text(errors="replace")) if log.is_file() else []
    if not lines:
        return None
    hours, minutes, seconds, value, unit = lines[-1]
    rate = float(value) if unit == "step/s" else 1 / max(float(value), 1e-9)
    return rate, 3600 * int(hours or 0) + 60 * int(minutes) + int(seconds)


def at_final_rate(run: Run, deadline: float, lr: float, out_dir: Path, threads: int, extra: list[str],
                  more_steps: int) -> Run:
    """Resume a run stopped at the switch at ``lr``, for the steps its own speed fits before ``deadline`` less
    twice what its first start and stop cost beyond the loop (a start-up again, and the export). A run that
    finished, or left no checkpoint or progress line to size it by, is left as it is."""
    from training.checkpoint import newest_step  # imported here: it brings torch

    step, speed = newest_step(run.checkpoints), bar_speed(run.log)
    if run.finished:
        return run
    if step is None or speed is None:
        print(f"{run.name}: not resumed at lr {lr:g}: no checkpoint or progress line by the switch", flush=True)
        return run
    rate, in_loop = speed
    overhead = max(0.0, (run.ended or time.monotonic()) - run.began - in_loop)
    more = int(0.9 * rate * (deadline - time.monotonic() - 2 * overhead))
    if more < 1:
        print(f"{run.name}: not resumed at lr {lr:g}: a start and stop ({overhead:.0f} s) twice over leave no time "
              f"before the deadline", flush=True)
        return run
    resumed = start(run.source, out_dir, threads, extra, more_steps,
                    then=("--steps", str(step + more), "--lr-schedule", f"{step}:{lr:g}"))
    resumed.final_from = step
    return resumed


def export_stopped(run: Run) -> str:
    """A run that did not write its model (stopped, or failed) is exported from its newest checkpoint; without
    one, `stylecast export` says so in its one-line error."""
    if run.finished:
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
    p.add_argument("--final-lr", type=learning_rate, metavar="LR",
                   help="end every run at this learning rate, resumed from the switch for as many steps as fit")
    p.add_argument("--final-share", type=fraction, default=0.3,
                   help="with --final-lr: the part of the deadline trained at that rate (default 0.3)")
    args = p.parse_args(argv)
    out_dir = args.out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    threads = max(1, (os.cpu_count() or 1) // len(args.sources))
    deadline = time.monotonic() + 60 * args.deadline_min
    switch = deadline - 60 * args.deadline_min * args.final_share if args.final_lr else deadline
    runs = [start(s.resolve(), out_dir, threads, extra, args.more_steps) for s in args.sources]
    wait_all(runs, switch)
    if args.final_lr:
        runs = [at_final_rate(r, deadline, args.final_lr, out_dir, threads, extra, args.more_steps) for r in runs]
        wait_all(runs, deadline)
    for run in runs:
        status = export_stopped(run)
        log = run.log.read_text(errors="replace") if run.log.is_file() else ""
        finished = FINISHED.findall(log)
        steps = f"{finished[-1][0]} steps in {finished[-1][1]} min" if finished else "no steps reported"
        final = f" (lr {args.final_lr:g} from step {run.final_from})" if run.final_from is not None else ""
        print(f"{run.name}: {steps}{final}; {status}", flush=True)
    return 0 if all(r.onnx.is_file() for r in runs) else 1


if __name__ == "__main__":
    run_script("train_many", main)
