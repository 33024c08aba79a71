"""Real printers through python-escpos: USB, serial, network (TCP 9100), file.

Works around python-escpos 3.1 (HARDWARE.md): every ``open()`` builds a fresh device
object (USB re-enumerates after a power cycle), USB gets a write timeout, big jobs go in
fragments with a short pause (USB timeouts on tall images), and status replies are
validated by ``printer.status`` (an empty reply is "unknown", not "adequate").
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any

from printer import escpos
from printer.backends.base import PaperOut, PrinterBackend, PrinterUnavailable
from printer.status import PrinterStatus, parse

log = logging.getLogger(__name__)

CHUNK = 4096
USB_TIMEOUT_MS = 3000
STATUS_TIMEOUT_MS = 500


class EscposBackend(PrinterBackend):
    def __init__(self, device: Any) -> None:
        self.device = device
        self.name = device.backend
        self.can_read_status = device.backend != "file"
        self._p: Any = None

    def _make(self) -> Any:
        d = self.device
        from escpos import printer as ep
        if d.backend == "usb":
            if not d.usb:
                raise ValueError("usb backend needs usb = 'vendor:product'")
            vid, pid = (int(x, 16) for x in d.usb.split(":"))
            return ep.Usb(vid, pid, timeout=USB_TIMEOUT_MS, profile=d.profile)
        if d.backend == "serial":
            if not d.port:
                raise ValueError("serial backend needs port")
            fc = d.flow_control
            return ep.Serial(devfile=d.port, baudrate=d.baudrate, timeout=0.5, profile=d.profile,
                             dsrdtr=fc == "dsrdtr", xonxoff=fc == "xonxoff")
        if d.backend == "network":
            if not d.address:
                raise ValueError("network backend needs address")
            host, _, port = d.address.partition(":")
            return ep.Network(host, int(port or 9100), timeout=5, profile=d.profile)
        if d.backend == "file":
            if not d.path:
                raise ValueError("file backend needs path")
            return ep.File(d.path, profile=d.profile)
        raise ValueError(f"not an escpos backend: {d.backend}")

    def open(self) -> None:
        self.close()
        p = self._make()  # a config mistake (ValueError) is not "unreachable": let it surface
        try:
            p.open()
            if self.device.backend == "serial" and self.device.flow_control == "rtscts":
                p.device.rtscts = True
        except Exception as exc:  # includes pyusb's NoBackendError (a ValueError: no libusb)  # usb.core.USBError, serial.SerialException, OSError, DeviceNotFoundError
            raise PrinterUnavailable(f"{self.name} printer not reachable: {exc}") from exc
        self._p = p
        log.info("%s printer opened", self.name)

    def close(self) -> None:
        p, self._p = self._p, None
        if p is not None:
            try:
                p.close()
            except Exception:  # noqa: BLE001 - the device may already be gone
                log.debug("close failed", exc_info=True)
                raw = getattr(p, "_device", None)
                try:  # release the descriptor anyway, without the flush that failed
                    if raw is not None and hasattr(raw, "fd") and raw.fd is not None:
                        os.close(raw.fd)
                        raw.fd = None
                        raw.is_open = False
                except OSError:
                    pass
                p._device = False  # so python-escpos's __del__ does not try again

    def write(self, data: bytes, job_id: str) -> None:
        if self._p is None:
            self.open()
        try:
            for i in range(0, len(data), CHUNK):
                self._p._raw(data[i:i + CHUNK])
                if self.name == "usb" and i + CHUNK < len(data):
                    time.sleep(0.02)  # let tall rasters drain instead of timing out (errno 110)
            flush = getattr(self._p, "flush", None)
            if callable(flush) and self.name == "file":
                flush()
        except Exception as exc:
            self.close()
            raise PrinterUnavailable(f"write to {self.name} printer failed: {exc}") from exc

    def _read_reply(self) -> bytes:
        """One status reply with a short timeout: a silent printer must not stall the queue."""
        p = self._p
        if self.name == "usb":
            return bytes(p.device.read(p.in_ep, 16, STATUS_TIMEOUT_MS))
        if self.name == "network":
            old = p.device.gettimeout()
            p.device.settimeout(STATUS_TIMEOUT_MS / 1000)
            try:
                return p.device.recv(16)
            finally:
                p.device.settimeout(old)
        return p._read()

    def _ask(self, n: int) -> int | None:
        self._p._raw(escpos.status_query(n))
        try:
            reply = self._read_reply()
        except Exception as exc:  # timeouts and garbage are "no answer"
            log.debug("status read failed: %s", exc)
            return None
        if not reply:
            return None
        return reply[-1] if isinstance(reply, (bytes, bytearray)) else int(reply[-1])

    def status(self) -> PrinterStatus:
        if not self.can_read_status:
            return PrinterStatus(online=None if self._p else False)
        if self._p is None:
            try:
                self.open()
            except PrinterUnavailable:
                return PrinterStatus(online=False, reason="offline")
        try:
            answers = (self._ask(1), self._ask(2), self._ask(4))
            if answers == (None, None, None):
                self.close()  # a silent line: reopen on the next poll (replugged, new socket)
            return parse(*answers)
        except Exception as exc:
            self.close()
            log.warning("%s printer status failed: %s", self.name, exc)
            return PrinterStatus(online=False, reason="offline")


__all__ = ["EscposBackend", "PaperOut"]
