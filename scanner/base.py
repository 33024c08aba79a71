"""The reader interface every scanner backend implements, its states, and the backend registry.

A reader turns some source (a HID keyboard, a serial line, a camera, a file) into
`Read`s. It runs in its own thread (`run(stop)`), reports each code through `on_read`
and each state change through `on_state`; it recovers from a vanished device by itself
(closing, waiting with backoff, reopening) so the daemon only watches the states.
"""
from __future__ import annotations

import enum
import importlib
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger(__name__)


class ReaderState(str, enum.Enum):
    """Explicit reader states; the daemon maps them onto its device status."""

    CONNECTING = "connecting"   # looking for / opening the device
    READY = "ready"             # open and reading
    DISCONNECTED = "disconnected"  # was open, went away; will reopen
    ERROR = "error"             # cannot open (wrong config, no permission); keeps retrying
    STOPPED = "stopped"


@dataclass(frozen=True)
class Read:
    """One decoded code."""

    code: str
    symbology: str
    source: str  # hid | serial | camera | file


OnRead = Callable[[Read], None]
OnState = Callable[[ReaderState, dict[str, Any]], None]


class Reader:
    """Base class: holds the callbacks and the backoff; subclasses implement `run`."""

    source = "file"

    def __init__(self, device: Any, on_read: OnRead, on_state: OnState) -> None:
        self.device = device
        self.on_read = on_read
        self.on_state = on_state
        self.state = ReaderState.STOPPED

    def set_state(self, state: ReaderState, **detail: Any) -> None:
        if state != self.state or detail:
            log.info("%s: %s %s", getattr(self.device, "id", "reader"), state.value, detail or "")
        self.state = state
        self.on_state(state, detail)

    def emit(self, code: str, symbology: str) -> None:
        code = code.strip("\r\n\x00")
        if code:
            self.on_read(Read(code, symbology, self.source))

    def run(self, stop: threading.Event) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class Backoff:
    """Reopen delays: 0.2 s doubling to a cap, reset after a good open."""

    def __init__(self, first: float = 0.2, cap: float = 5.0) -> None:
        self.first, self.cap, self.delay = first, cap, first

    def wait(self, stop: threading.Event) -> bool:
        """Sleep the current delay (False when stopped meanwhile) and grow it."""
        stopped = stop.wait(self.delay)
        self.delay = min(self.cap, self.delay * 2)
        return not stopped

    def reset(self) -> None:
        self.delay = self.first


#: backend name (ScannerDevice.backend) -> "module:Class"
BACKENDS: dict[str, str] = {
    "hid": "scanner.hid:HidReader",
    "serial": "scanner.serial_reader:SerialReader",
    "camera": "scanner.video:VideoReader",
    "file": "scanner.filefeed:FileReader",
    "virtual": "scanner.filefeed:FileReader",
}


def reader_class(backend: str) -> type[Reader]:
    """The Reader class for a backend name (imported lazily: evdev/cv2 only when used)."""
    try:
        spec = BACKENDS[backend]
    except KeyError:
        raise ValueError(f"unknown scanner backend {backend!r}; known: {', '.join(BACKENDS)}") from None
    mod, cls = spec.split(":")
    return getattr(importlib.import_module(mod), cls)
