"""A technician's direct line to a receipt printer: send bytes, ask DLE EOT 4 for the paper.

`motcua test printer` prefers the printer package's own backends (`printer.backends`);
this covers the transports that need no driver library (network port 9100, serial line,
device file, the virtual printer) so a printer can be checked even on a build without them.
The paper reply is validated bit by bit: no answer or a malformed one is *unknown*,
never "fine" (python-escpos 3.1 reads garbage as "adequate").
"""
from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

PAPER_QUERY = b"\x10\x04\x04"  # DLE EOT 4: paper roll sensor


def paper_state(reply: bytes) -> str:
    """ok | low | out | unknown, from the one-byte DLE EOT 4 answer (pattern 0xx1xx10)."""
    if len(reply) != 1 or reply[0] & 0x93 != 0x12:
        return "unknown"
    if reply[0] & 0x60:
        return "out"
    if reply[0] & 0x0C:
        return "low"
    return "ok"


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def query(self, data: bytes, size: int) -> bytes: ...
    def close(self) -> None: ...


class NetworkTransport:
    """Raw TCP (JetDirect, port 9100)."""

    def __init__(self, address: str, timeout: float = 5.0) -> None:
        host, _, port = address.partition(":")
        self.sock = socket.create_connection((host, int(port or 9100)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def query(self, data: bytes, size: int) -> bytes:
        self.sock.sendall(data)
        self.sock.settimeout(1.0)
        try:
            return self.sock.recv(size)
        except (socket.timeout, OSError):
            return b""

    def close(self) -> None:
        self.sock.close()


class SerialTransport:
    """A serial line, opened exclusively (the daemon must be stopped)."""

    def __init__(self, port: str, baudrate: int) -> None:
        import serial
        self.port = serial.Serial(port, baudrate, timeout=1.0, write_timeout=5.0, exclusive=True)

    def write(self, data: bytes) -> None:
        self.port.write(data)
        self.port.flush()

    def query(self, data: bytes, size: int) -> bytes:
        self.port.reset_input_buffer()
        self.write(data)
        return self.port.read(size)

    def close(self) -> None:
        self.port.close()


class FileTransport:
    """A device file such as /dev/usb/lp0 (write only: no status)."""

    def __init__(self, path: str) -> None:
        self.fh = open(path, "ab", buffering=0)  # noqa: SIM115 - closed in close()

    def write(self, data: bytes) -> None:
        self.fh.write(data)

    def query(self, data: bytes, size: int) -> bytes:
        return b""

    def close(self) -> None:
        self.fh.close()


class VirtualTransport:
    """The virtual printer: what it would print becomes a PNG (printer.decode)."""

    def __init__(self, out_dir: Path, paper_dots: int) -> None:
        self.out_dir, self.paper_dots = out_dir, paper_dots
        self.data = bytearray()
        self.png: Path | None = None

    def write(self, data: bytes) -> None:
        self.data += data

    def query(self, data: bytes, size: int) -> bytes:
        return b"\x12"  # a virtual roll never runs out

    def close(self) -> None:
        from printer.decode import decode
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.png = self.out_dir / "test-ticket.png"
        decode(bytes(self.data), self.paper_dots).image.save(self.png)


def open_transport(dev: Any, out_dir: Path) -> Transport:
    """The transport for a printer config, or ValueError saying what is missing."""
    if dev.backend == "network":
        if not dev.address:
            raise ValueError(f"{dev.id}: backend network needs address = \"host[:9100]\"")
        return NetworkTransport(dev.address)
    if dev.backend == "serial":
        if not dev.port:
            raise ValueError(f"{dev.id}: backend serial needs port = \"/dev/...\"")
        return SerialTransport(dev.port, dev.baudrate)
    if dev.backend == "file":
        if not dev.path:
            raise ValueError(f"{dev.id}: backend file needs path = \"/dev/usb/lp0\" or a file")
        return FileTransport(dev.path)
    if dev.backend == "virtual":
        from printer.layout import PAPER_DOTS
        return VirtualTransport(Path(dev.output_dir) if dev.output_dir else out_dir, PAPER_DOTS[dev.paper_mm])
    raise LookupError(dev.backend)
