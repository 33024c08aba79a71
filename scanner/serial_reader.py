"""Serial (RS-232 / USB-CDC) barcode readers: one code per line, CR and/or LF terminated.

The port is opened exclusively; a read error (adapter unplugged) closes it and the port
is reopened with backoff until it comes back.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

import serial

from scanner.base import Backoff, OnRead, OnState, Reader, ReaderState
from scanner.keymap import symbology_of

log = logging.getLogger(__name__)


class LineSplitter:
    """Bytes in, codes out: splits on CR or LF (CRLF counts once), decodes UTF-8 leniently."""

    def __init__(self, max_len: int = 4096) -> None:
        self._buf = bytearray()
        self.max_len = max_len

    def feed(self, data: bytes) -> list[str]:
        out: list[str] = []
        for b in data:
            if b in (10, 13):
                if self._buf:
                    out.append(self._buf.decode("utf-8", errors="replace"))
                    self._buf.clear()
            elif len(self._buf) < self.max_len:
                self._buf.append(b)
        return out

    def reset(self) -> None:
        self._buf.clear()


class SerialReader(Reader):
    source = "serial"

    def __init__(self, device: Any, on_read: OnRead, on_state: OnState,
                 backoff: Backoff | None = None) -> None:
        super().__init__(device, on_read, on_state)
        if not device.port:
            raise ValueError(f"scanner {device.id}: serial backend needs `port`")
        self.backoff = backoff or Backoff()
        self.lines = LineSplitter()

    def _open(self) -> serial.SerialBase:
        port = self.device.port
        if "://" in port:
            return serial.serial_for_url(port, baudrate=self.device.baudrate, timeout=0.5)
        return serial.Serial(port, self.device.baudrate, timeout=0.5, exclusive=True)

    def run(self, stop: threading.Event) -> None:
        seen = False
        while not stop.is_set():
            try:
                ser = self._open()
            except (serial.SerialException, OSError, ValueError) as exc:
                self.set_state(ReaderState.DISCONNECTED if seen else ReaderState.CONNECTING,
                               reason=f"cannot open {self.device.port}: {exc}")
                self.backoff.wait(stop)
                continue
            seen = True
            self.backoff.reset()
            self.lines.reset()
            self.set_state(ReaderState.READY)
            try:
                while not stop.is_set():
                    data = ser.read(ser.in_waiting or 1)
                    for line in self.lines.feed(data):
                        self.emit(line, symbology_of(line))
            except (serial.SerialException, OSError) as exc:
                log.warning("serial reader %s lost: %s", self.device.port, exc)
            finally:
                try:
                    ser.close()
                except (serial.SerialException, OSError):
                    pass
        self.set_state(ReaderState.STOPPED)
