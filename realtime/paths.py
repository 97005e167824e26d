"""Where stylecast keeps what it can rebuild (the sample clip, TensorRT engines): the user's cache folder.

One definition, so every cached file honours ``XDG_CACHE_HOME`` the same way (tests point it at a private folder).
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/stylecast``, else ``~/.cache/stylecast``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stylecast"
