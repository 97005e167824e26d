"""Shared fixtures: tint models on STYLECAST_MODELS, an isolated cache, the sample clip, an Xvfb display and a
CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.headless import virtual_display
from tests.model_factory import model_folder

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO.parent / "shared" / "assets"
ARTIFACTS = REPO / "tests" / "artifacts"


def pytest_configure(config: pytest.Config) -> None:
    """With pytest-xdist's workers (the default, `-n auto`), each worker's torch and every command it starts gets
    its share of the cores: two processes of two torch threads each on two cores (the suite beside a training run)
    made the trainer tests up to ~11x slower."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))


@pytest.fixture(scope="session")
def tint_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return model_folder(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def cli_env(tint_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for CLI subprocesses: the tint models installed, a private cache folder."""
    return {**os.environ, "STYLECAST_MODELS": str(tint_models["red"].parent),
            "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("cache")), "PYTHONPATH": str(REPO)}


@pytest.fixture(autouse=True)
def _in_process_env(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("STYLECAST_MODELS", "XDG_CACHE_HOME"):
        monkeypatch.setenv(key, cli_env[key])


@pytest.fixture(scope="session")
def sample_clip(cli_env: dict[str, str]) -> Path:
    from realtime.sample import write_sample

    return write_sample(Path(cli_env["XDG_CACHE_HOME"]) / "sample.mp4")


@pytest.fixture
def display() -> str:
    """A private Xvfb display for one test."""
    with virtual_display() as name:
        if name is None:
            pytest.skip("Xvfb did not start")
        yield name


def run_cli(env: dict[str, str], *args: str, timeout: float = 240, cwd: Path | None = None
            ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "realtime.cli", *map(str, args)], env=env, cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout)


def asset(*parts: str) -> Path:
    path = ASSETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared asset {path} is not on this machine")
    return path
