"""One loaded style model: a checked ONNX Runtime session that maps a BGR frame to a stylized BGR frame.

Model files are untrusted input: each is checked with ``onnx.checker`` and against the stylecast contract (input
and output names, dtypes, layout, metadata) before use, so a wrong file fails at load time with a message naming
the problem, not mid-stream. Running is one call with contiguous uint8 arrays: the pre/post-processing lives in
the graph. On a GPU (CUDA or TensorRT) the frame is bound with IO binding, so it is copied to the device once and
back once; under TensorRT it is also padded to a shape bucket (buckets.py), so a handful of engines are built, not
one per frame size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from .buckets import run_in_bucket
from .contract import (INPUT_FRAME, INPUT_STYLE_WEIGHTS, OUTPUT_STYLIZED, ContractError, ModelInfo,
                       parse_metadata)
from .errors import StylecastError
from .providers import GpuOptions, create_session

MAX_MODEL_BYTES = 2 << 30


def _check_io(session, info: ModelInfo, path: Path) -> None:
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    frame = inputs.get(INPUT_FRAME)
    if frame is None or frame.type != "tensor(uint8)" or len(frame.shape) != 4 or frame.shape[3] != 3:
        raise ContractError(f"input '{INPUT_FRAME}' must be uint8 [N, H, W, 3]")
    out = outputs.get(OUTPUT_STYLIZED)
    if out is None or out.type != "tensor(uint8)" or len(out.shape) != 4:
        raise ContractError(f"output '{OUTPUT_STYLIZED}' must be uint8 [N, H, W, 3]")
    extra = set(inputs) - {INPUT_FRAME, INPUT_STYLE_WEIGHTS}
    if extra:
        raise ContractError(f"unexpected input(s) {', '.join(sorted(extra))}")
    weights = inputs.get(INPUT_STYLE_WEIGHTS)
    if info.is_multi_style and weights is None:
        raise ContractError(f"{len(info.styles)} styles in the metadata but no '{INPUT_STYLE_WEIGHTS}' input")
    if weights is not None and (len(weights.shape) != 1 or weights.shape[0] not in (len(info.styles), None)
                                and not isinstance(weights.shape[0], str)):
        raise ContractError(f"'{INPUT_STYLE_WEIGHTS}' has shape {weights.shape}, expected [{len(info.styles)}]")


class StyleModel:
    """A contract-checked style model. ``run`` takes and returns HxWx3 uint8 BGR frames."""

    def __init__(self, path: Path, device: str = "auto", threads: int | None = None,
                 gpu: GpuOptions | None = None) -> None:
        path = Path(path)
        if not path.is_file():
            raise StylecastError(f"model not found: {path}")
        if path.stat().st_size > MAX_MODEL_BYTES:
            raise StylecastError(f"{path} is larger than 2 GiB; not a stylecast model")
        try:
            onnx.checker.check_model(str(path))
        except Exception as exc:  # noqa: BLE001 - checker raises ValidationError, DecodeError, OSError...
            raise StylecastError(f"{path} is not a valid ONNX model ({str(exc).splitlines()[0][:160]})") from None
        self.path = path
        self.name = path.stem  # what listings and messages call it; a loader may name the style it paints
        self.session, self.placement = create_session(path, device, threads, gpu)
        try:
            self.info = parse_metadata(self.session.get_modelmeta().custom_metadata_map)
            _check_io(self.session, self.info, path)
        except ContractError as exc:
            raise StylecastError(f"{path} is not a stylecast model: {exc}") from None
        self.has_weights_input = any(i.name == INPUT_STYLE_WEIGHTS for i in self.session.get_inputs())
        self.style_weights = np.eye(len(self.info.styles), dtype=np.float32)[0]

    @property
    def style_names(self) -> list[str]:
        return [s.name for s in self.info.styles]

    def style_index(self, style: str) -> int:
        """Position of a named style in this model's ``style_weights``; a one-line error names the choices."""
        if style not in self.style_names:
            raise StylecastError(f"{self.path.name} has no style {style!r}; it has: {', '.join(self.style_names)}")
        return self.style_names.index(style)

    def select(self, style: str) -> None:
        """Paint one named style of a multi-style model from now on."""
        self.set_style_weights(np.eye(len(self.style_names), dtype=np.float32)[self.style_index(style)])

    def set_style_weights(self, weights: np.ndarray) -> None:
        """Blend of the model's styles (multi-style models only); normalised to sum to 1."""
        w = np.asarray(weights, dtype=np.float32).reshape(-1)
        if w.shape[0] != len(self.info.styles) or (w < 0).any() or w.sum() <= 0:
            raise StylecastError(f"style weights must be {len(self.info.styles)} non-negative numbers, not all 0")
        self.style_weights = w / w.sum()

    def run(self, frame: np.ndarray) -> np.ndarray:
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or 0 in frame.shape:
            raise StylecastError(f"frames must be HxWx3 uint8 BGR, got {frame.dtype} {frame.shape}")
        if self.placement.bucket:
            return run_in_bucket(self._infer, frame, self.placement.bucket)
        return self._infer(frame)

    def _infer(self, frame: np.ndarray) -> np.ndarray:
        feeds = {INPUT_FRAME: np.ascontiguousarray(frame)[None]}
        if self.has_weights_input:
            feeds[INPUT_STYLE_WEIGHTS] = self.style_weights
        if self.placement.on_gpu:
            binding = self.session.io_binding()
            for name, value in feeds.items():
                binding.bind_cpu_input(name, value)
            binding.bind_output(OUTPUT_STYLIZED, "cuda")
            self.session.run_with_iobinding(binding)
            return binding.copy_outputs_to_cpu()[0][0]
        return self.session.run([OUTPUT_STYLIZED], feeds)[0][0]

    def describe(self) -> str:
        return f"{self.name} on {self.placement}"
