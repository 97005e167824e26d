"""Checkpoints that survive crashes: atomic writes, a hash manifest, and weights-only loading.

Each checkpoint is written to a temporary name and renamed, so a kill mid-write never leaves a half file under
the real name. ``manifest.json`` (also replaced atomically) lists checkpoints newest first with their SHA-256,
so a file damaged later is detected and skipped rather than loaded. Loading uses ``weights_only=True``: a
checkpoint can hold tensors, numbers and strings, never code.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from realtime.errors import StylecastError
from realtime.outputs import atomic_output

MANIFEST = "manifest.json"
KEEP = 3


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write(path: Path, write: Any) -> None:
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())  # on disk before the rename makes it the checkpoint


def _read_manifest(folder: Path) -> list[dict[str, Any]]:
    try:
        entries = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return []
    except json.JSONDecodeError:
        raise StylecastError(f"checkpoint manifest {folder / MANIFEST} is corrupt") from None
    return [e for e in entries if isinstance(e, dict) and {"file", "sha256", "step"} <= e.keys()]


def save(folder: Path, step: int, state: dict[str, Any]) -> Path:
    """Write ``state`` as ``step_NNNNNNN.pt`` and record it in the manifest; keep the newest few."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{step:07d}.pt"
    _atomic_write(path, lambda f: torch.save(state, f))
    entries = [e for e in _read_manifest(folder) if e["file"] != path.name]
    entries.insert(0, {"file": path.name, "sha256": _sha256(path), "step": step})
    for old in entries[KEEP:]:
        (folder / old["file"]).unlink(missing_ok=True)
    entries = entries[:KEEP]
    _atomic_write(folder / MANIFEST, lambda f: f.write(json.dumps(entries, indent=1).encode()))
    return path


def _candidates(folder: Path) -> list[tuple[int, Path, str | None]]:
    """Every checkpoint in ``folder`` as (step, path, expected hash), newest first.

    Files the manifest does not list count too, unverified: a kill between a file's rename and the manifest's
    leaves a complete checkpoint unlisted (the rename is atomic), and a user may copy one step file into a fresh
    folder to branch a run from it. Listed files keep their hash check."""
    listed = {e["file"]: e for e in _read_manifest(folder)}
    found = [(int(e["step"]), folder / name, e["sha256"]) for name, e in listed.items()]
    for path in folder.glob("step_*.pt") if folder.is_dir() else ():
        if path.name not in listed and path.stem[5:].isdigit():
            found.append((int(path.stem[5:]), path, None))
    return sorted(found, key=lambda c: c[0], reverse=True)


def newest_step(folder: Path) -> int | None:
    """The step of the newest recorded checkpoint (None if there is none): where a resumed run goes on from,
    unless that file turns out damaged (:func:`load_latest` then takes an older one)."""
    return max((step for step, path, _ in _candidates(folder) if path.is_file()), default=None)


def newest_before(folder: Path, step: int) -> Path | None:
    """The newest recorded checkpoint saved at or before ``step`` (None if there is none)."""
    earlier = [path for at, path, _ in _candidates(folder) if at <= step and path.is_file()]
    return earlier[0] if earlier else None  # candidates come newest first


def load_file(path: Path, expected_sha256: str | None = None) -> dict[str, Any]:
    """Load one checkpoint file; raise StylecastError if it is damaged or not a checkpoint."""
    if not path.is_file():
        raise StylecastError(f"checkpoint not found: {path}")
    if expected_sha256 is not None and _sha256(path) != expected_sha256:
        raise StylecastError(f"checkpoint {path} is corrupt (hash mismatch)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated zip, pickle with code, random bytes...
        raise StylecastError(f"checkpoint {path} cannot be loaded ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(state, dict) or "model" not in state or "recipe" not in state:
        raise StylecastError(f"{path} is not a stylecast checkpoint")
    return state


def load_latest(folder: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """Newest intact checkpoint in ``folder`` (or None) and warnings about damaged ones that were skipped."""
    warnings = []
    for _, path, sha256 in _candidates(folder):
        try:
            return load_file(path, sha256), warnings
        except StylecastError as exc:
            warnings.append(str(exc))
    return None, warnings


def load_any(path: Path) -> dict[str, Any]:
    """A checkpoint file, or the newest intact one in a checkpoint folder."""
    if path.is_dir():
        state, warnings = load_latest(path)
        if state is None:
            raise StylecastError(f"no intact checkpoint in {path}" + (f" ({warnings[0]})" if warnings else ""))
        return state
    return load_file(path)
