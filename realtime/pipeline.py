"""Decode -> stylize -> encode as separate threads joined by bounded queues, each stage timed.

Stages overlap: while the network works on frame k, frame k+1 is being decoded and frame k-1 encoded, so the
slowest stage sets the pace instead of the sum of all three. ONNX Runtime, OpenCV and FFmpeg release the GIL
in their native code, which is what makes Python threads enough here. Bounded queues cap memory and make a file
source wait (never drop) when inference is slower. An error or Ctrl-C in any stage stops all of them and is
re-raised in the caller's thread.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

_END = object()


@dataclass
class StageStats:
    """Busy time of one stage: how long its own work took, excluding waits on its neighbours."""

    name: str
    seconds: float = 0.0
    items: int = 0

    @property
    def ms_per_item(self) -> float:
        return 1000.0 * self.seconds / self.items if self.items else 0.0


@dataclass
class RunStats:
    stages: list[StageStats] = field(default_factory=list)
    wall_seconds: float = 0.0
    frames: int = 0

    @property
    def fps(self) -> float:
        return self.frames / self.wall_seconds if self.wall_seconds else 0.0


class _Stop(Exception):
    """Raised inside a stage when another stage failed."""


class _Link:
    def __init__(self, size: int, stop: threading.Event) -> None:
        self.q: queue.Queue = queue.Queue(maxsize=size)
        self.stop = stop

    def put(self, item: Any) -> None:
        while True:
            if self.stop.is_set():
                raise _Stop
            try:
                self.q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self) -> Any:
        while True:
            if self.stop.is_set():
                raise _Stop
            try:
                return self.q.get(timeout=0.1)
            except queue.Empty:
                continue


def _timed(source: Iterable[Any], stats: StageStats) -> Iterator[Any]:
    it = iter(source)
    while True:
        start = time.perf_counter()
        try:
            item = next(it)
        except StopIteration:
            return
        stats.seconds += time.perf_counter() - start
        stats.items += 1
        yield item


def run(source: Iterable[Any], stages: list[tuple[str, Callable[[Any], Any]]], sink: Callable[[Any], None],
        source_name: str = "decode", sink_name: str = "encode", queue_size: int = 4,
        is_frame: Callable[[Any], bool] = lambda item: True) -> RunStats:
    """Run ``source`` -> each stage -> ``sink``. Stages map one item to one item. ``is_frame`` says which items
    count as frames in the stats (e.g. audio packets pass through but are not frames)."""
    stop = threading.Event()
    errors: list[BaseException] = []
    all_stats = [StageStats(source_name)] + [StageStats(name) for name, _ in stages] + [StageStats(sink_name)]
    links = [_Link(queue_size, stop) for _ in range(len(stages) + 1)]

    def guard(body: Callable[[], None]) -> Callable[[], None]:
        def wrapped() -> None:
            try:
                body()
            except _Stop:
                pass
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
                errors.append(exc)
                stop.set()
        return wrapped

    def produce() -> None:
        for item in _timed(source, all_stats[0]):
            links[0].put(item)
        links[0].put(_END)

    def stage_worker(i: int, fn: Callable[[Any], Any]) -> Callable[[], None]:
        def body() -> None:
            stats = all_stats[i + 1]
            while (item := links[i].get()) is not _END:
                start = time.perf_counter()
                out = fn(item)
                stats.seconds += time.perf_counter() - start
                stats.items += 1
                links[i + 1].put(out)
            links[i + 1].put(_END)
        return body

    threads = [threading.Thread(target=guard(produce), name=source_name, daemon=True)]
    threads += [threading.Thread(target=guard(stage_worker(i, fn)), name=name, daemon=True)
                for i, (name, fn) in enumerate(stages)]
    started = time.perf_counter()
    frames = 0
    for t in threads:
        t.start()
    try:
        sink_stats = all_stats[-1]
        while (item := links[-1].get()) is not _END:
            start = time.perf_counter()
            sink(item)
            sink_stats.seconds += time.perf_counter() - start
            sink_stats.items += 1
            frames += 1 if is_frame(item) else 0
    except _Stop:
        pass
    except BaseException:
        stop.set()
        raise
    finally:
        stop.set()  # after a clean run every thread has already finished; otherwise this stops them
        for t in threads:
            t.join(timeout=5)
    if errors:
        raise errors[0]
    return RunStats(all_stats, time.perf_counter() - started, frames)
