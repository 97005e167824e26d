"""User-facing errors: the CLI prints these as one line and exits non-zero, never with a traceback."""

from __future__ import annotations

import sys
from typing import Callable, NoReturn


class StylecastError(Exception):
    """A problem the user can fix (bad path, unknown style, device not available...).

    The message is shown as-is on one line, so it should name the problem and, where possible, the fix.
    """

    exit_code = 2


def run_script(program: str, main: Callable[[], int]) -> NoReturn:
    """Run a repository script's ``main`` the way the CLI runs a command: a StylecastError ends it with one line on
    stderr (``program: message``) and exit status 1, never a traceback."""
    try:
        sys.exit(main())
    except StylecastError as exc:
        raise SystemExit(f"{program}: {exc}") from None
