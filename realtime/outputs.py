"""Writing results without ever losing a file: check first, write to a temporary name, rename at the end.

The output path is checked *before* any heavy work (a 20-minute conversion must not fail at the last frame because
the folder is read-only), the data goes to a hidden temporary file in the same folder, and only a complete file
is renamed into place (an atomic ``os.replace`` on one filesystem). Any error or Ctrl-C removes the temporary
file, so the output is either the whole result or untouched. Inputs are never overwritten.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from .errors import StylecastError
from .metadata import with_exif

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
# Out of room: the disk, the user's quota or a file size limit. Reported against the output's real name, not the
# hidden temporary one the encoder was writing.
NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def check_output_path(path: Path, inputs: Iterable[str | Path] = ()) -> None:
    """Raise StylecastError unless ``path`` can be written without harming anything."""
    if path.is_dir():
        raise StylecastError(f"output {path} is a directory; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise StylecastError(f"output folder {folder} does not exist")
    for source in inputs:
        source = Path(source)
        if source.resolve() == path.resolve() or (path.exists() and source.exists() and path.samefile(source)):
            raise StylecastError(f"output {path} would overwrite the input; choose another name")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".stylecast-probe-"):
            pass
    except OSError as exc:
        raise StylecastError(f"cannot write to {folder}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def atomic_output(path: Path, inputs: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix, so encoders pick the right format); on success rename
    it to ``path``, on any failure delete it."""
    path = Path(path)
    check_output_path(path, inputs)
    fd, name = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.stem}.",
                                suffix=f".partial{path.suffix}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp creates 0600 files; the result should get the permissions any new file gets (umask).
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno in NO_ROOM:
            raise StylecastError(f"cannot write {path}: {exc.strerror}; nothing was written") from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def image_type(path: Path) -> str:
    """The picture format ``path`` asks for (its lower-case suffix); a StylecastError if OpenCV cannot write it.
    Commands call this before painting, so a typo in the name costs no minutes of work."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise StylecastError(f"unsupported image type {suffix or '(none)'} for {path}; use one of "
                             f"{', '.join(sorted(IMAGE_SUFFIXES))}")
    return suffix


def write_image(path: Path, image: np.ndarray, inputs: Iterable[str | Path] = (), jpeg_quality: int = 95,
                exif: bytes | None = None) -> None:
    """Encode with OpenCV (format from the suffix) and write atomically. ``jpeg_quality`` (0-100) applies to .jpg
    only: 95 is OpenCV's own default, documentation figures use less to keep the repository small. ``exif`` (a
    source photo's, see metadata.py) goes into a JPEG, PNG or WebP."""
    suffix = image_type(path)
    # Only JPEG gets the quality flag: other encoders warn on stderr about a flag they do not know.
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if suffix in (".jpg", ".jpeg") else []
    ok, data = cv2.imencode(suffix, image, params)
    if not ok:
        raise StylecastError(f"could not encode {path}")
    encoded = with_exif(data.tobytes(), suffix, exif) if exif else data.tobytes()
    with atomic_output(Path(path), inputs) as tmp:
        tmp.write_bytes(encoded)
