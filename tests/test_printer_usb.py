"""USB backend recovery. No USB printer can run on CI, so pyusb's device lookup is replaced by a
stand-in device (the one place this suite fakes hardware): it checks that we rebuild the
device object after a power cycle, use a write timeout, fragment big jobs, and treat a
silent or vanished printer correctly."""
from __future__ import annotations

import errno

import pytest
import usb.core

from printer.backends import PrinterUnavailable, create_backend
from printer.layout import build_ticket
from test_printer import INFO


class _NotLibusb1:
    pass


class StandInDevice:
    """What pyusb's Device offers python-escpos: write/read/configure."""

    def __init__(self, serial: int) -> None:
        self.serial = serial
        self.backend = _NotLibusb1()  # escpos skips kernel-driver checks for other backends
        self.writes: list[tuple[bytes, int]] = []
        self.gone = False
        self.status_reply = b"\x12"

    def set_configuration(self) -> None: ...
    def reset(self) -> None: ...

    def write(self, ep: int, data: bytes, timeout: int) -> int:
        if self.gone:
            raise usb.core.USBError("No such device", errno.ENODEV, errno.ENODEV)
        self.writes.append((bytes(data), timeout))
        return len(data)

    def read(self, ep: int, size: int, timeout: int | None = None):
        if not self.status_reply:
            raise usb.core.USBTimeoutError("Operation timed out", errno.ETIMEDOUT, errno.ETIMEDOUT)
        return bytearray(self.status_reply)


@pytest.fixture()
def bus_devices(monkeypatch):
    """The USB bus: a list whose last element is the plugged printer (None: unplugged)."""
    plugged: list[StandInDevice | None] = [None]
    found: list[StandInDevice] = []

    def find(**kw):
        dev = plugged[-1]
        if dev is not None:
            found.append(dev)
        return dev

    monkeypatch.setattr(usb.core, "find", find)
    monkeypatch.setattr(usb.util, "dispose_resources", lambda dev: None)
    return plugged, found


def test_usb_unplug_replug_rebuilds_the_device(bus_devices, office):
    plugged, found = bus_devices
    dev = office.cfg.device("printer-1").model_copy(update={"backend": "usb", "usb": "0416:5011"})
    b = create_backend(dev)
    with pytest.raises(PrinterUnavailable, match="usb printer not reachable"):
        b.open()
    assert b.status().problem == "offline"
    first = StandInDevice(1)
    plugged.append(first)
    b.open()
    assert b.status().state == "ok"
    data = build_ticket(INFO, 80, True)
    b.write(data, "j1")
    sent = [w for w, _ in first.writes if not w.startswith(b"\x10\x04")]
    assert b"".join(sent) == data
    assert all(len(w) <= 4096 for w in sent) and len(sent) >= 2  # fragmented
    assert all(t > 0 for _, t in first.writes)  # never the blocking default
    first.gone = True  # power cycle: the old handle is dead
    with pytest.raises(PrinterUnavailable, match="No such device"):
        b.write(data, "j2")
    plugged.append(StandInDevice(2))
    b.write(data, "j2")  # reopens by itself, with a NEW device object
    assert [d.serial for d in found][-1] == 2
    assert plugged[-1].writes
    plugged[-1].status_reply = b""  # a printer that never answers: unknown, not "fine"
    st = b.status()
    assert st.paper == "unknown" and st.state == "warning"


def test_usb_without_libusb_is_unreachable(monkeypatch, office):
    def find(**kw):
        raise usb.core.NoBackendError("No backend available")

    monkeypatch.setattr(usb.core, "find", find)
    dev = office.cfg.device("printer-1").model_copy(update={"backend": "usb", "usb": "0416:5011"})
    b = create_backend(dev)
    with pytest.raises(PrinterUnavailable, match="No backend available"):
        b.open()
