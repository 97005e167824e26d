"""Soak benchmark: the live window on a looping file for a long time, watching memory and frame rate.

Not a unit test: a leak of a few kilobytes a frame or a slowdown that builds over minutes only shows in a long run.
This runs the real live loop (realtime.live.LiveSession, the code behind `stylecast webcam`) in this process on a
file source played in a loop at its own frame rate, on an Xvfb display it starts itself, and samples every
``--every`` seconds: resident memory (VmRSS from /proc/self/status), threads and open file descriptors (a leaked
capture or encoder shows there first), frames painted and the frame rate over the interval, and frames dropped.
It prints a table and a summary: RSS growth from the first sample after ``--warmup`` to the last (target: at most
5%), the RSS trend (least-squares slope), and the fps drift (mean of the last quarter of the samples after warm-up
against the first quarter).

    .venv/bin/python scripts/soak.py                      # 30 minutes, the default style, the bundled sample clip
    .venv/bin/python scripts/soak.py --minutes 3 --every 10 --warmup 30
    .venv/bin/python scripts/soak.py --source clip.mp4 --styles starry_night,./mine.onnx --record

Run it with nothing else busy on the machine: the frame rate is the network's speed, so other work moves it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from realtime import catalog  # noqa: E402
from realtime.cli import positive_int  # noqa: E402
from realtime.loader import load_styles  # noqa: E402
from realtime.live import LiveOptions, LiveSession  # noqa: E402
from realtime.sample import sample_clip  # noqa: E402
from realtime.sources import LiveSource  # noqa: E402
from tests.headless import virtual_display  # noqa: E402

TARGET_GROWTH = 5.0  # percent


@dataclass(frozen=True)
class Sample:
    seconds: float
    frames: int
    fps: float       # over the interval since the previous sample
    rss_mb: float
    threads: int
    fds: int
    dropped: int


def process_status() -> tuple[float, int, int]:
    """(resident memory in MB, threads, open file descriptors) of this process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    rss_mb = int(fields["VmRSS"].split()[0]) / 1024
    return rss_mb, int(fields["Threads"]), len(os.listdir("/proc/self/fd"))


class Sampler:
    """Samples the running session every ``every`` seconds; after ``seconds`` it stops the session the way a user
    does, with Ctrl-C (SIGINT), so the run ends through the real shutdown path (a recording is finished)."""

    def __init__(self, session: LiveSession, source: LiveSource, every: float, seconds: float) -> None:
        self.session, self.source = session, source
        self.every, self.seconds = every, seconds
        self.samples: list[Sample] = []
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        started = time.perf_counter()
        last_time, last_frames = started, 0
        print(f"{'time':>8} | {'frames':>7} | {'fps':>5} | {'RSS MB':>7} | {'threads':>7} | {'fds':>4} | dropped",
              flush=True)
        while True:
            time.sleep(max(0.0, started + (len(self.samples) + 1) * self.every - time.perf_counter()))
            now, frames = time.perf_counter(), self.session.stats.frames
            sample = Sample(now - started, frames, (frames - last_frames) / (now - last_time), *process_status(),
                            self.source.dropped)
            self.samples.append(sample)
            last_time, last_frames = now, frames
            minutes, seconds = divmod(int(sample.seconds), 60)
            print(f"{minutes:>5}:{seconds:02d} | {sample.frames:>7} | {sample.fps:>5.1f} | {sample.rss_mb:>7.1f} | "
                  f"{sample.threads:>7} | {sample.fds:>4} | {sample.dropped}", flush=True)
            if sample.seconds >= self.seconds - 1e-6:
                os.kill(os.getpid(), signal.SIGINT)
                return


def slope_per_hour(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (seconds), per hour."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 3600 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def summarize(samples: list[Sample], warmup: float) -> tuple[list[str], bool]:
    """The summary lines and whether the run met the growth target."""
    settled = [s for s in samples if s.seconds >= warmup]
    if len(settled) < 2:
        return ["not enough samples after the warm-up: run longer or sample more often"], False
    first, last = settled[0], settled[-1]
    growth = 100 * (last.rss_mb - first.rss_mb) / first.rss_mb
    trend = slope_per_hour([s.seconds for s in settled], [s.rss_mb for s in settled])
    quarter = max(1, len(settled) // 4)
    early = sum(s.fps for s in settled[:quarter]) / quarter
    late = sum(s.fps for s in settled[-quarter:]) / quarter
    drift = 100 * (late - early) / early if early else 0.0
    ok = growth <= TARGET_GROWTH
    return [
        f"RSS: {first.rss_mb:.1f} MB at {first.seconds / 60:.1f} min (after warm-up) -> {last.rss_mb:.1f} MB at "
        f"{last.seconds / 60:.1f} min: {growth:+.2f}% (target <= {TARGET_GROWTH:g}%); trend {trend:+.1f} MB/hour; "
        f"peak {max(s.rss_mb for s in settled):.1f} MB",
        f"fps: {early:.2f} (first {quarter} samples after warm-up) -> {late:.2f} (last {quarter}): {drift:+.2f}% drift",
        f"threads {first.threads} -> {last.threads}, open files {first.fds} -> {last.fds}, frames painted "
        f"{last.frames}, source frames dropped {last.dropped}",
        f"verdict: {'PASS' if ok else 'FAIL'} (RSS growth {growth:+.2f}% vs {TARGET_GROWTH:g}%)",
    ], ok


def soak(args: argparse.Namespace, record_dir: Path) -> int:
    names = [n.strip() for n in args.styles.split(",")] if args.styles else [catalog.default_style()]
    styles = load_styles(names, args.device, args.threads)
    source_path = args.source or sample_clip()
    every = args.every or max(10, args.minutes * 60 / 30)
    options = LiveOptions(snapshot_dir=record_dir, record_dir=record_dir, record=args.record, overlay=True)
    with LiveSource(str(source_path), loop=True) as source:
        session = LiveSession(source, styles, options)
        print(f"soak: {args.minutes:g} min on {source_path} (looping, {source.fps:.0f} fps) with "
              f"{', '.join(s.name for s in styles)} on {styles[0].model.placement}; sample every {every:g} s, warm-up "
              f"{args.warmup:g} s", flush=True)
        sampler = Sampler(session, source, every, args.minutes * 60)
        sampler.start()
        stats = session.run()
    print(f"ran {stats.seconds / 60:.1f} min: {stats.frames} frames, {stats.frames / stats.seconds:.2f} fps overall")
    lines, ok = summarize(sampler.samples, args.warmup)
    print("\n".join(lines))
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30, help="how long to run (default 30)")
    parser.add_argument("--every", type=float, help="seconds between samples (default: 30 samples over the run, "
                                                    "at least 10 s apart)")
    parser.add_argument("--warmup", type=float, default=60, help="seconds before the reference sample (default 60)")
    parser.add_argument("--source", type=Path, help="video file to loop (default: the bundled sample clip)")
    parser.add_argument("--styles", help="comma-separated styles or .onnx paths (default: the default style)")
    parser.add_argument("--record", action="store_true", help="record the whole run too (kept in a temporary "
                                                              "folder that is deleted at the end)")
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    parser.add_argument("--threads", type=positive_int)
    parser.add_argument("--display", help="use this X display instead of starting Xvfb")
    args = parser.parse_args()
    # The run ends with SIGINT, which a shell's background job (`soak.py &`) starts with ignored: restore Ctrl-C.
    # SIGTERM ends it the same way, so a killed soak still prints its summary and stops its Xvfb.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="stylecast-soak-") as folder:
        if args.display:
            os.environ["DISPLAY"] = args.display
            return soak(args, Path(folder))
        with virtual_display() as display:
            if display is None:
                sys.exit("soak: Xvfb did not start (apt-get install xvfb, or pass --display)")
            os.environ.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
            return soak(args, Path(folder))


if __name__ == "__main__":
    sys.exit(main())
