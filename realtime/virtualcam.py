"""The live view as a virtual camera (for video calls), through the optional ``pyvirtualcam`` package.

pyvirtualcam needs a camera device provided by the system: v4l2loopback on Linux, the OBS virtual camera on
Windows and macOS. Its absence is the usual failure, and pyvirtualcam reports it as a RuntimeError with a
backend-specific text; here it becomes one line that says what to install. The package is imported and the
device opened before the live window appears, so a missing device fails at once, not mid-session.
"""

from __future__ import annotations

import numpy as np

from .effects import letterbox
from .errors import StylecastError

INSTALL_HINT = ("install v4l2loopback and load it with 'sudo modprobe v4l2loopback' (Linux), or install OBS Studio "
                "and start its virtual camera once (Windows, macOS)")


class VirtualCamera:
    """Frames of any size in, the device's fixed size out (letterboxed)."""

    def __init__(self) -> None:
        try:
            import pyvirtualcam
        except ImportError:
            raise StylecastError("--virtual-cam needs pyvirtualcam: pip install 'stylecast[vcam]'; then "
                                 + INSTALL_HINT) from None
        self._module = pyvirtualcam
        self._camera = None

    def open(self, width: int, height: int, fps: float) -> str:
        """Start the device; returns its name."""
        try:
            self._camera = self._module.Camera(width, height, fps, fmt=self._module.PixelFormat.BGR)
        except RuntimeError as exc:
            reason = str(exc).split(". ")[0].strip().rstrip(".")
            raise StylecastError(f"no virtual camera device ({reason}): {INSTALL_HINT}") from None
        return str(self._camera.device)

    def send(self, image: np.ndarray) -> None:
        camera = self._camera
        camera.send(letterbox(image, camera.width, camera.height))

    def close(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None
