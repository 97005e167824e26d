"""Choosing where a model runs (CUDA or CPU) and proving we got it.

onnxruntime-gpu lists CUDAExecutionProvider as *available* even on machines where it cannot start (no driver, no
cuDNN); the session then silently falls back to the CPU. So the provider a session really uses is read back
from ``session.get_providers()`` after creation: ``--device cuda`` that ends up on the CPU is an error, and
``--device auto`` reports what it got.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from .errors import StylecastError

DEVICES = ("auto", "cuda", "cpu")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
_dlls_preloaded = False


@dataclass(frozen=True)
class Placement:
    """Where a session runs, as a user would say it."""

    device: str        # "cuda" or "cpu"
    provider: str      # the ORT provider name

    def __str__(self) -> str:
        return f"{self.device} ({self.provider})"


def _preload_cuda_libraries() -> None:
    """Let ORT find the CUDA/cuDNN libraries that torch's nvidia-* wheels install (no system CUDA needed).
    Its own messages about missing libraries are swallowed: a failed start gets one clear line from us."""
    global _dlls_preloaded
    if not _dlls_preloaded and hasattr(ort, "preload_dlls"):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                ort.preload_dlls()
            except Exception:  # noqa: BLE001 - absent libraries surface when the session starts
                pass
        _dlls_preloaded = True


def nvidia_driver_present() -> bool:
    """Cheap check before trying CUDA under --device auto, so CPU-only machines skip the attempt entirely."""
    if sys.platform.startswith("linux"):
        return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidiactl").exists()
    return ctypes.util.find_library("nvcuda") is not None or ctypes.util.find_library("cuda") is not None


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


def create_session(path: Path, device: str = "auto", threads: int | None = None) -> tuple[ort.InferenceSession,
                                                                                          Placement]:
    """An InferenceSession on the requested device, or a StylecastError saying why not."""
    if device not in DEVICES:
        raise StylecastError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    want_cuda = device == "cuda" or (device == "auto" and CUDA in ort.get_available_providers()
                                     and nvidia_driver_present())
    if device == "cuda" and CUDA not in ort.get_available_providers():
        raise StylecastError("--device cuda: this onnxruntime has no CUDA support; install onnxruntime-gpu")
    providers: list = [CPU]
    # ORT prints multi-line errors when CUDA fails to start; we report that ourselves, in one line.
    ort.set_default_logger_severity(4)
    if want_cuda:
        _preload_cuda_libraries()
        providers = [(CUDA, {"cudnn_conv_algo_search": "HEURISTIC"}), CPU]
    try:
        session = ort.InferenceSession(str(path), sess_options=session_options(threads), providers=providers)
    except Exception as exc:  # noqa: BLE001 - ORT raises Fail/InvalidGraph/InvalidProtobuf/RuntimeError...
        raise StylecastError(f"cannot load model {path}: {str(exc).splitlines()[0][:200]}") from None
    got = session.get_providers()[0]
    if device == "cuda" and got != CUDA:
        raise StylecastError("--device cuda: CUDA could not start (no GPU, driver or cuDNN found); "
                             "use --device cpu or auto")
    return session, Placement("cuda" if got == CUDA else "cpu", got)
