"""Choosing where a model runs (TensorRT, CUDA or CPU), how it uses a GPU, and proving what we got.

onnxruntime-gpu lists CUDAExecutionProvider (and TensorrtExecutionProvider) as *available* even on machines where
they cannot start (no driver, no cuDNN, no TensorRT libraries); the session then silently falls back. So the
provider a session really uses is read back from ``session.get_providers()`` after creation: ``--device cuda`` or
``--device tensorrt`` that ends up elsewhere is an error, and ``--device auto`` reports what it got. ``auto`` tries
CUDA, never TensorRT: TensorRT's first run of each shape builds an engine for minutes, which only a user who
asked for it should wait for.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import onnxruntime as ort

from .buckets import DEFAULT_STEP, check_step
from .device_choices import CUDNN_ALGOS, DEVICES, PRECISIONS
from .errors import StylecastError
from .fp16 import fp16_compute_bytes
from .paths import cache_dir

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
PROVIDER_OF = {"tensorrt": TENSORRT, "cuda": CUDA, "cpu": CPU}
DEVICE_OF = {provider: device for device, provider in PROVIDER_OF.items()}
START_FAILURE = {"cuda": "CUDA could not start (no GPU, driver or cuDNN found)",
                 "tensorrt": "TensorRT could not start (no GPU, driver, cuDNN or TensorRT libraries found)"}
ProviderList = list[str | tuple[str, dict[str, object]]]
_dlls_preloaded = False


@dataclass(frozen=True)
class GpuOptions:
    """How a session uses a GPU. The defaults suit the live window and are unmeasured on a GPU in this project.

    ``cudnn_algo``: cuDNN's convolution algorithm search. ``heuristic`` (default) asks cuDNN's heuristics once per
    input shape, no benchmarking; ``exhaustive`` (ONNX Runtime's own default) times every algorithm for each new
    shape, which stalls the first frame of every size and allocates large workspaces, so it can pay off only for
    long single-size jobs such as a video file; ``default`` always takes IMPLICIT_PRECOMP_GEMM.
    ``precision``: ``fp16`` or ``fp32`` compute on a GPU; None = fp16 on a GPU. The CPU always computes fp32.
    ``bucket``: round the network input up to multiples of this many pixels (see buckets.py); 0 = off; None =
    32 under TensorRT (a new shape costs an engine build), off under CUDA and on the CPU. Measured on an H200
    (scripts/bench_gpu.py, docs/PERFORMANCE.md): with the heuristic search a new shape costs CUDA nothing worth
    saving, while padding 1280x720 to 1280x736 and 1920x1080 to 1920x1088 cost 15-22% of the network's time.
    """

    cudnn_algo: str = "heuristic"
    precision: str | None = None
    bucket: int | None = None

    def check(self) -> None:
        if self.cudnn_algo not in CUDNN_ALGOS:
            raise StylecastError(f"unknown cuDNN algorithm search {self.cudnn_algo!r}; choose one of "
                                 f"{', '.join(CUDNN_ALGOS)}")
        if self.precision not in (None, *PRECISIONS):
            raise StylecastError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")
        if self.bucket is not None:
            check_step(self.bucket)


@dataclass(frozen=True)
class Placement:
    """Where a session runs, as a user would say it, and how."""

    device: str          # "tensorrt", "cuda" or "cpu"
    provider: str        # the ORT provider name
    precision: str = "fp32"
    bucket: int = 0      # shape-bucket step in pixels; 0 = frames go in at their own size

    @property
    def on_gpu(self) -> bool:
        return self.device != "cpu"

    def __str__(self) -> str:
        details = [self.provider] + ([self.precision] if self.on_gpu else [])
        details += [f"{self.bucket}-px shape buckets"] if self.bucket else []
        return f"{self.device} ({', '.join(details)})"


def _preload_cuda_libraries() -> None:
    """Let ORT find the CUDA/cuDNN libraries that torch's nvidia-* wheels install (no system CUDA needed).
    Its own messages about missing libraries are swallowed: a failed start gets one clear line from us."""
    global _dlls_preloaded
    if not _dlls_preloaded and hasattr(ort, "preload_dlls"):
        with _quiet():
            try:
                ort.preload_dlls()
            except Exception:  # noqa: BLE001 - absent libraries surface when the session starts
                pass
        _dlls_preloaded = True


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """ORT prints multi-line reports (on stdout) when a GPU provider fails; we report that ourselves, in one line."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def nvidia_driver_present() -> bool:
    """Cheap check before trying CUDA under --device auto, so CPU-only machines skip the attempt entirely."""
    if sys.platform.startswith("linux"):
        return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidiactl").exists()
    return ctypes.util.find_library("nvcuda") is not None or ctypes.util.find_library("cuda") is not None


def tensorrt_cache_dir() -> Path:
    """Built TensorRT engines, reused across runs (a build takes minutes): ``$XDG_CACHE_HOME/stylecast/trt``."""
    return cache_dir() / "trt"


def cuda_options(gpu: GpuOptions) -> dict[str, object]:
    """CUDAExecutionProvider options. Only the algorithm search is set: ORT's other defaults (copies in the
    default stream, which its documentation recommends; the largest cuDNN workspace) stay, as nothing was measured
    against them."""
    return {"cudnn_conv_algo_search": gpu.cudnn_algo.upper()}


def tensorrt_options(fp16: bool, cache: Path) -> dict[str, object]:
    """TensorrtExecutionProvider options: engines cached on disk; fp16 lets TensorRT pick half-precision kernels
    layer by layer (it is given the float32 graph, so that choice stays its own)."""
    return {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache), "trt_fp16_enable": fp16}


def provider_list(device: str, gpu: GpuOptions, precision: str, cache: Path) -> ProviderList:
    """What ``InferenceSession`` is given for a device ("tensorrt", "cuda" or "cpu"), best first; nodes a
    provider cannot take run on the next one."""
    if device == "cpu":
        return [CPU]
    cuda = (CUDA, cuda_options(gpu))
    if device == "tensorrt":
        return [(TENSORRT, tensorrt_options(precision == "fp16", cache)), cuda, CPU]
    return [cuda, CPU]


def target_device(device: str) -> str:
    """The device to try ("tensorrt", "cuda" or "cpu") for a --device value, or a StylecastError why not."""
    if device not in DEVICES:
        raise StylecastError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    available = ort.get_available_providers()
    if device == "cuda" and CUDA not in available:
        raise StylecastError("--device cuda: this onnxruntime has no CUDA support; install onnxruntime-gpu")
    if device == "tensorrt" and TENSORRT not in available:
        raise StylecastError("--device tensorrt: this onnxruntime has no TensorRT support; install onnxruntime-gpu")
    if device == "auto":
        return "cuda" if CUDA in available and nvidia_driver_present() else "cpu"
    return device


def resolve_precision(requested: str | None, device: str, target: str) -> str:
    """fp16 on a GPU unless fp32 is asked for; fp32 on the CPU, where asking for fp16 explicitly is an error: ORT's
    CPU provider has no fp16 convolutions on x86 and would convert every layer back to fp32 (slower, no gain)."""
    if device == "cpu" and requested == "fp16":
        raise StylecastError("--precision fp16 is for GPUs (--device cuda or tensorrt); the CPU computes fp32")
    return "fp32" if target == "cpu" else requested or "fp16"


def session_options(threads: int | None) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or os.cpu_count() or 1
    opts.inter_op_num_threads = 1
    # No busy-waiting between runs: with 2 cores the spinning threads of one session (or of the idle styles the
    # live window keeps loaded) steal the CPU that decoding, encoding and the other stages need. Measured with
    # `bench --compare` (fast + quality + peer in one process): fast tier 26.4 -> 30.1 fps; alone, 1.02x.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3  # ORT's warnings (e.g. unused initialisers) are not the user's business
    return opts


def _open(path: Path, model: Path | bytes, providers: ProviderList, threads: int | None,
          quiet: bool) -> ort.InferenceSession:
    try:
        with _quiet() if quiet else contextlib.nullcontext():
            return ort.InferenceSession(model if isinstance(model, bytes) else str(model),
                                        sess_options=session_options(threads), providers=providers)
    except Exception as exc:  # noqa: BLE001 - ORT raises Fail/InvalidGraph/InvalidProtobuf/RuntimeError...
        raise StylecastError(f"cannot load model {path}: {str(exc).splitlines()[0][:200]}") from None


def create_session(path: Path, device: str = "auto", threads: int | None = None,
                   gpu: GpuOptions | None = None) -> tuple[ort.InferenceSession, Placement]:
    """An InferenceSession on the requested device, or a StylecastError saying why not."""
    gpu = gpu or GpuOptions()
    gpu.check()
    target = target_device(device)
    precision = resolve_precision(gpu.precision, device, target)
    ort.set_default_logger_severity(4)  # ORT's multi-line start-up errors: we say what failed in one line
    model: Path | bytes = path
    if target != "cpu":
        _preload_cuda_libraries()
        if target == "cuda" and precision == "fp16":
            model = fp16_compute_bytes(path)
        if target == "tensorrt":
            _make_cache_dir(tensorrt_cache_dir())
    session = _open(path, model, provider_list(target, gpu, precision, tensorrt_cache_dir()), threads,
                    quiet=target != "cpu")
    got = session.get_providers()[0]
    if device in START_FAILURE and got != PROVIDER_OF[device]:
        raise StylecastError(f"--device {device}: {START_FAILURE[device]}; use --device cpu or auto")
    if got == CPU and isinstance(model, bytes):  # auto: CUDA listed but could not start; the CPU runs the file
        session = _open(path, path, [CPU], threads, quiet=False)
    on = DEVICE_OF.get(got, "cpu")
    bucket = gpu.bucket if gpu.bucket is not None else (DEFAULT_STEP if on == "tensorrt" else 0)
    return session, Placement(on, got, precision if on != "cpu" else "fp32", bucket)


def _make_cache_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StylecastError(f"cannot create the TensorRT engine cache {path}: {exc.strerror or exc}") from None
