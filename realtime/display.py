"""Whether the live window can open, asked before OpenCV tries.

On Linux the opencv-python wheel draws its windows with Qt on X11 (its only platform plugin is ``xcb``), and Qt
without a reachable X server does not raise: it prints a paragraph about plugins and aborts the process (SIGABRT,
exit 134, a core dump where enabled). Over SSH without ``-X``, in a container or a cron job that is the first
thing a user would see. A connection attempt to the X server named by ``DISPLAY`` costs under a millisecond and
turns that into one line saying what to do.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Mapping

from .errors import StylecastError

X11_TCP_BASE = 6000  # display N listens on TCP port 6000 + N when it listens on TCP at all
HOW = "run it in a desktop session, over ssh -X, or under a virtual display: xvfb-run -a stylecast webcam ..."


def check_display(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> None:
    """Raise StylecastError when the live window's X server cannot be reached. Only Linux's Qt-on-X11 is checked:
    other systems draw their own windows, and a ``QT_QPA_PLATFORM`` other than xcb is the user's own choice."""
    if not platform.startswith("linux") or environ.get("QT_QPA_PLATFORM", "xcb") != "xcb":
        return
    display = environ.get("DISPLAY", "")
    if not display:
        raise StylecastError(f"no screen for the live window: DISPLAY is not set; {HOW}")
    if not _reachable(display):
        raise StylecastError(f"cannot reach the display {display} for the live window; {HOW}")


def _reachable(display: str) -> bool:
    """Whether an X server answers at ``display`` (``[host]:N[.screen]``, or a launchd socket path on macOS
    XQuartz, which is a path and taken as reachable when it exists)."""
    if display.startswith("/"):
        return os.path.exists(display.split(":")[0])
    match = re.fullmatch(r"(?:unix/)?(?P<host>[^:]*):(?P<number>\d+)(?:\.\d+)?", display)
    if match is None:
        return False
    host, number = match["host"], int(match["number"])
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        # Linux X servers also listen on an abstract socket of the same name, which survives /tmp being private.
        return any(_unix_connects(address) for address in (path, "\0" + path))
    try:  # ssh -X forwards localhost:10 and up over TCP
        socket.create_connection((host, X11_TCP_BASE + number), timeout=2.0).close()
        return True
    except OSError:  # refused, unknown host, timed out
        return False


def _unix_connects(address: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2.0)
            probe.connect(address)
        return True
    except OSError:  # no such socket, refused
        return False
