"""Where frames come from: a device interface, a registry of backends, an explicit state.

`opencv` opens a device index, an RTSP URL or a video file with cv2.VideoCapture;
`virtual` draws generated scenes (scanner/camera/synth.py) whose people follow the
office: a clerk at the desk while the counter is open, as many people in the waiting
area as tickets are waiting.
"""
from __future__ import annotations

import enum
import logging
from typing import Any, Callable

import cv2
import numpy as np

from scanner.camera.synth import Scene

log = logging.getLogger(__name__)


class SourceState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    ERROR = "error"


class SourceError(Exception):
    """The camera cannot be opened or stopped giving frames."""


class FrameSource:
    """One camera. `read()` returns a BGR frame or raises SourceError."""

    def __init__(self, device: Any) -> None:
        self.device = device
        self.state = SourceState.CLOSED
        self.error: str | None = None

    def open(self) -> None:
        raise NotImplementedError

    def read(self) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        self.state = SourceState.CLOSED

    def describe(self) -> str:
        return type(self).__name__


class OpenCVSource(FrameSource):
    def __init__(self, device: Any) -> None:
        super().__init__(device)
        self.cap: cv2.VideoCapture | None = None
        src = device.source
        if src is None:
            raise ValueError(f"camera {device.id}: backend 'opencv' needs `source`")
        self.target: int | str = int(src) if src.isdigit() else src
        self.is_file = isinstance(self.target, str) and "://" not in self.target

    def describe(self) -> str:
        from scanner.camera.recorder import redact
        return redact(str(self.target))  # shown on the device status: no camera password

    def open(self) -> None:
        cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            self.state = SourceState.ERROR
            self.error = f"cannot open {self.target}"
            raise SourceError(self.error)
        if isinstance(self.target, int):
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.device.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.device.height)
        self.cap = cap
        self.state = SourceState.OPEN
        self.error = None

    def read(self) -> np.ndarray:
        if self.cap is None:
            raise SourceError("not open")
        ok, frame = self.cap.read()
        if not ok and self.is_file:  # a recorded file plays in a loop
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.cap.read()
        if not ok or frame is None:
            self.state = SourceState.ERROR
            self.error = f"no frame from {self.target}"
            raise SourceError(self.error)
        return frame

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None
        super().close()


class VirtualSource(FrameSource):
    """Generated frames; `people` is set by the daemon from the office state (or by a test)."""

    def __init__(self, device: Any, seed: int | None = None) -> None:
        super().__init__(device)
        kind = "desk" if device.counter is not None else "waiting"
        self.scene = Scene(kind, device.width, device.height,
                           seed=seed if seed is not None else (device.counter or 7))
        self.available = True  # a virtual camera can be "unplugged" like a real one

    def open(self) -> None:
        if not self.available:
            self.state = SourceState.ERROR
            self.error = "virtual camera unplugged"
            raise SourceError(self.error)
        self.state = SourceState.OPEN
        self.error = None

    def read(self) -> np.ndarray:
        if not self.available:
            self.state = SourceState.ERROR
            self.error = "virtual camera unplugged"
            raise SourceError(self.error)
        return self.scene.frame()

    def set_people(self, n: int) -> None:
        self.scene.people = max(0, n)


BACKENDS: dict[str, Callable[[Any], FrameSource]] = {
    "opencv": OpenCVSource,
    "virtual": VirtualSource,
}


def make_source(device: Any) -> FrameSource:
    return BACKENDS[device.backend](device)
