"""A shipped .onnx model rebuilt as its torch network paints what ONNX Runtime paints: the distillation teacher
that runs on the trainer's device (a GPU run is no longer held to ONNX Runtime on the CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch", reason="training tests need the train extra (torch)")

from realtime.engine import StyleModel  # noqa: E402
from realtime.errors import StylecastError  # noqa: E402
from training import onnx_import  # noqa: E402
from training.distill import Teacher  # noqa: E402

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.mark.parametrize("name", ["wave", "paintings", "wave-fast"])
def test_rebuilt_teacher_paints_like_the_runtime(name: str) -> None:
    """Single-style (norms folded into constants), multi-style (norms as weights) and the fastcpu network."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    model = StyleModel(MODELS / f"{name}.onnx", device="cpu")
    teacher = Teacher(MODELS / f"{name}.onnx", torch.device("cpu"))
    style = len(teacher.style_names) - 1
    if model.has_weights_input:
        model.set_style_weights(np.eye(len(teacher.style_names), dtype=np.float32)[style])
    want = model.run(frame).astype(np.int16)
    rgb = torch.from_numpy(np.ascontiguousarray(frame[None, :, :, ::-1])).permute(0, 3, 1, 2).float() / 255
    got = (teacher(rgb, style)[0].permute(1, 2, 0).flip(-1) * 255).round().numpy().astype(np.int16)
    assert np.abs(got - want).max() <= 2
    assert np.abs(want - frame.astype(np.int16)).mean() > 10   # it really paints


def test_a_network_rebuilt_wrongly_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check against ONNX Runtime catches a rebuild that gets the weights wrong (here: the folded input and
    output scaling left in place) instead of teaching a student from a broken teacher."""
    monkeypatch.setattr(onnx_import, "_unfold_io", lambda net: None)
    with pytest.raises(StylecastError, match="differs from the model by"):
        onnx_import.load_stylenet(MODELS / "wave.onnx")


def test_a_foreign_damaged_or_missing_teacher_is_refused(tmp_path: Path) -> None:
    model = onnx.load(str(MODELS / "wave.onnx"))
    del model.metadata_props[:]
    foreign = tmp_path / "foreign.onnx"
    onnx.save(model, str(foreign))
    damaged = tmp_path / "damaged.onnx"
    damaged.write_bytes(np.random.default_rng(0).bytes(1000))
    for path in (foreign, damaged):
        with pytest.raises(StylecastError, match="not a stylecast model this trainer can rebuild"):
            onnx_import.load_stylenet(path)
    with pytest.raises(StylecastError, match="teacher model not found"):
        onnx_import.load_stylenet(tmp_path / "missing.onnx")
