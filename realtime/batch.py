"""Many files in one command: ``stylecast image holiday/ IMG_0042.HEIC -o painted/``, ``stylecast video clips/
-o painted/``.

Every output name is decided and checked before anything is painted (two inputs that would write the same file,
an output that would overwrite an input, a folder that cannot be written), so a batch does not stop half-way for a
reason known at the start. A file that turns out unreadable is a different case: it is reported on its own line
and the rest are still painted (see the ``image`` and ``video`` commands).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import StylecastError
from .outputs import IMAGE_SUFFIXES, check_output_path


@dataclass(frozen=True)
class Kind:
    """What a batch paints: the file types a folder is searched for, those that can be written, and the type
    written for the others."""

    one: str                  # "picture"
    many: str                 # "pictures"
    found: frozenset[str]     # suffixes searched for in a folder
    written: frozenset[str]   # suffixes an output may keep
    fallback: str             # the type written for an input whose own type cannot be written


PICTURES = Kind("picture", "pictures", frozenset(IMAGE_SUFFIXES | {".heic", ".heif"}), frozenset(IMAGE_SUFFIXES),
                ".jpg")  # HEIC photos come out as JPEG
CLIPS = Kind("clip", "clips", frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mts", ".m2ts", ".ts",
                                         ".3gp", ".mpg", ".mpeg", ".wmv", ".flv", ".gif"}),
             frozenset({".mp4", ".mov", ".mkv", ".webm", ".gif"}), ".mp4")


def typed_as_folder(output: str) -> bool:
    """An output named as a folder by a final slash (given as typed, since ``Path`` drops it)."""
    return output.endswith((os.sep, "/"))


def is_batch(inputs: list[Path], output: str) -> bool:
    """Several inputs, a folder of them, or an output :func:`typed_as_folder`. One file to an existing folder's name
    without the slash stays an error, as it was: the name may be a mistyped file name (bad-input row 12)."""
    return len(inputs) > 1 or any(path.is_dir() for path in inputs) or typed_as_folder(output)


def batch_jobs(inputs: list[Path], output: Path, kind: Kind, typed_as_folder: bool = False
               ) -> list[tuple[Path, Path]]:
    """(input, output) pairs, folders expanded to the files of ``kind`` directly inside them (by name), each
    written into the ``output`` folder (made if missing) under its own name, in its own type where that can be
    written, else the kind's fallback. A new folder named like a file of the kind (``-o painted.png`` for a folder
    of photos) is refused unless typed with a final slash: the user most likely expected one file, not a folder of
    them under that name."""
    sources: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in kind.found)
            if not found:
                raise StylecastError(f"{path} holds no {kind.many} ({', '.join(sorted(kind.found))})")
            sources += found
        elif not path.is_file():
            raise StylecastError(f"input not found: {path}")
        else:
            sources.append(path)
    if output.exists() and not output.is_dir():
        raise StylecastError(f"output {output} is a file; several {kind.many} need a folder")
    if not output.exists() and output.suffix.lower() in kind.found and not typed_as_folder:
        raise StylecastError(f"a folder or several {kind.many} are painted into a folder, and {output} is named as "
                             f"a {kind.one}; give a folder name (a final / makes {output.name}/ a folder anyway)")
    jobs, writers = [], {}
    for source in sources:
        suffix = source.suffix.lower() if source.suffix.lower() in kind.written else kind.fallback
        target = output / (source.stem + suffix)
        if target in writers:
            raise StylecastError(f"{writers[target]} and {source} would both be written to {target}; "
                                 "paint them into separate folders")
        writers[target] = source
        jobs.append((source, target))
    output.mkdir(parents=True, exist_ok=True)
    for target in writers:
        check_output_path(target, sources)
    return jobs
