"""Wired keypads on a serial or RS-485 line, and the virtual keypad on a pseudo-terminal.

Line protocol (ASCII, 9600 8N1 by default; docs/led-and-keypads.md):

    keypad -> motcua   one key or word per line, ended by CR, LF or CRLF, at most 64 bytes:
                       `next`, `recall`, `skip`, `finish`, `pause`, `transfer`, `1`..`9`,
                       `transfer HT` (one line), or any key name the keymap defines
    motcua -> keypad   `OK <action> <number or ->`, `ERR <code>`, `ASK service`,
                       `SHOW <number or -> <waiting> <status>` whenever the counter changes

The virtual keypad is the same protocol on a pty: the daemon holds the master end and
writes the slave's path to DATA/<device>/tty, so `echo next > $(cat .../tty)` presses Next.
"""
from __future__ import annotations

import enum
import logging
import os
import select
import threading
from pathlib import Path
from typing import Any, Callable, Protocol

import serial

log = logging.getLogger(__name__)

MAX_LINE = 64


class Port(Protocol):
    def read(self, size: int = 1) -> bytes: ...
    def write(self, data: bytes) -> int | None: ...
    def close(self) -> None: ...


class SourceState(enum.Enum):
    CONNECTING = "connecting"
    READY = "ready"
    LOST = "lost"


class FdPort:
    """The master end of a pty as a port: read with a timeout, write, close."""

    def __init__(self, fd: int, timeout: float = 0.2) -> None:
        self.fd, self.timeout = fd, timeout

    def read(self, size: int = 1) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], self.timeout)
        return os.read(self.fd, size) if ready else b""

    def write(self, data: bytes) -> int:
        return os.write(self.fd, data)

    def close(self) -> None:  # the pty's owner closes the fds
        pass


class LineKeys:
    """Reads key lines from a port on thread `keypad-line-NAME`; reopens it when it goes away."""

    def __init__(self, name: str, opener: Callable[[], Port], on_line: Callable[[str], None],
                 on_status: Callable[[str, dict[str, Any]], None], *,
                 backoff: tuple[float, float] = (0.2, 5.0), path: str | None = None) -> None:
        self.name = name
        self.opener = opener
        self.on_line = on_line
        self.on_status = on_status
        self.backoff = backoff
        self.path = path
        self.state = SourceState.CONNECTING
        self.port: Port | None = None
        self._wlock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"keypad-line-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)
        self._close()

    def healthy(self) -> bool:
        return self._thread.is_alive()

    def send(self, line: str) -> None:
        """One feedback line to the keypad (dropped while the line is down)."""
        with self._wlock:
            port = self.port
            if port is None:
                return
            try:
                port.write(line.encode("ascii", "replace") + b"\r\n")
            except (serial.SerialException, OSError) as exc:
                log.info("%s: feedback not sent: %s", self.name, exc)

    def _run(self) -> None:
        delay = self.backoff[0]
        while not self._stop.is_set():
            try:
                port = self.opener()
            except (serial.SerialException, OSError, ValueError) as exc:
                self._set(SourceState.LOST if self.state is SourceState.READY else self.state,
                          "error", {"port": self.path or self.name, "error": f"cannot open: {exc}"})
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            with self._wlock:
                self.port = port
            delay = self.backoff[0]
            self._set(SourceState.READY, "ok", {"port": self.path or self.name})
            try:
                self._read_lines(port)
            except (serial.SerialException, OSError) as exc:
                log.warning("%s: keypad line lost: %s", self.name, exc)
                self._set(SourceState.LOST, "error", {"port": self.path or self.name, "error": f"line lost: {exc}"})
            self._close()

    def _read_lines(self, port: Port) -> None:
        buf = bytearray()
        overflow = False
        while not self._stop.is_set():
            data = port.read(256)
            if not data:
                if self.path and self.path.startswith("/") and not os.path.exists(self.path):
                    raise serial.SerialException(f"{self.path} disappeared")
                continue
            for byte in data:
                if byte in (0x0D, 0x0A):
                    if overflow:
                        self.send("ERR bad_request")
                    elif buf:
                        self._line(bytes(buf))
                    buf.clear()
                    overflow = False
                elif len(buf) >= MAX_LINE:
                    overflow = True
                else:
                    buf.append(byte)

    def _line(self, raw: bytes) -> None:
        try:
            text = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            log.warning("%s: not ASCII: %r", self.name, raw[:MAX_LINE])
            self.send("ERR bad_request")
            return
        if text and text.isprintable():
            self.on_line(text)
        elif text:
            self.send("ERR bad_request")

    def _close(self) -> None:
        with self._wlock:
            port, self.port = self.port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def _set(self, state: SourceState, level: str, detail: dict[str, Any]) -> None:
        self.state = state
        self.on_status(level, {**detail, "state": state.value})


def serial_opener(path: str, baudrate: int) -> Callable[[], Port]:
    def open_port() -> Port:
        return serial.Serial(path, baudrate, timeout=0.2, write_timeout=0.5, exclusive=True)
    return open_port


def write_tty_file(state_dir: Path, path: str) -> Path:
    f = state_dir / "tty"
    f.write_text(path + "\n", encoding="utf-8")
    return f
