"""USB HID (keyboard-emulating) barcode readers through evdev.

The reader is found by its /dev/input/by-id path (or vendor:product), grabbed so its
codes never type into the desktop, and read with select so an idle reader costs nothing.
When it is unplugged the read raises OSError (ENODEV): the descriptor is dropped at once
(a dead fd left in select spins a core), the state goes to DISCONNECTED and the reader is
looked for again with backoff until it returns.
"""
from __future__ import annotations

import errno
import logging
import os
import select
import threading
from typing import Any, Callable, Protocol

from scanner.base import Backoff, OnRead, OnState, Reader, ReaderState
from scanner.keymap import KeyDecoder, symbology_of

log = logging.getLogger(__name__)


class EventSource(Protocol):
    """What the reader needs from an input device (evdev.InputDevice has all of it)."""

    def fileno(self) -> int: ...
    def read(self) -> Any: ...
    def grab(self) -> None: ...
    def close(self) -> None: ...


class DeviceMissing(LookupError):
    """The configured reader is not plugged in (yet)."""


def find_input_device(path: str | None, usb: str | None) -> Any:
    """Open the reader's evdev node by path or by vendor:product; DeviceMissing if absent."""
    import evdev

    if path:
        if not os.path.exists(path):
            raise DeviceMissing(f"{path} does not exist")
        return evdev.InputDevice(path)
    if usb:
        vid, pid = (int(x, 16) for x in usb.split(":"))
        for node in evdev.list_devices():
            try:
                dev = evdev.InputDevice(node)
            except OSError:
                continue
            keys = dev.capabilities().get(evdev.ecodes.EV_KEY, [])
            if dev.info.vendor == vid and dev.info.product == pid and evdev.ecodes.KEY_ENTER in keys:
                return dev
            dev.close()
        raise DeviceMissing(f"no input device with USB id {usb}")
    raise ValueError("HID scanner needs `path` (/dev/input/by-id/...) or `usb` (vendor:product)")


class HidReader(Reader):
    source = "hid"
    poll_s = 0.5

    def __init__(self, device: Any, on_read: OnRead, on_state: OnState,
                 opener: Callable[[], EventSource] | None = None, backoff: Backoff | None = None) -> None:
        super().__init__(device, on_read, on_state)
        self._open = opener or (lambda: find_input_device(device.path, device.usb))
        self.backoff = backoff or Backoff()
        self.decoder = KeyDecoder()

    def run(self, stop: threading.Event) -> None:
        seen = False
        while not stop.is_set():
            self.set_state(ReaderState.DISCONNECTED if seen else ReaderState.CONNECTING)
            try:
                src = self._open()
                src.grab()
            except DeviceMissing as exc:
                self._wait(stop, ReaderState.DISCONNECTED if seen else ReaderState.CONNECTING, str(exc))
                continue
            except (OSError, ValueError) as exc:  # permission, busy (grabbed elsewhere), bad config
                self._wait(stop, ReaderState.ERROR, f"cannot open reader: {exc}")
                continue
            seen = True
            self.backoff.reset()
            self.decoder.reset()
            self.set_state(ReaderState.READY)
            try:
                self._read_loop(src, stop)
            finally:
                try:
                    src.close()
                except OSError:
                    pass
        self.set_state(ReaderState.STOPPED)

    def _wait(self, stop: threading.Event, state: ReaderState, reason: str) -> None:
        self.set_state(state, reason=reason)
        self.backoff.wait(stop)

    def _read_loop(self, src: EventSource, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                ready, _, _ = select.select([src], [], [], self.poll_s)
                if not ready:
                    continue
                events = list(src.read())  # evdev's read() is a generator: read errors surface here
            except BlockingIOError:
                continue
            except OSError as exc:  # ENODEV on unplug; EIO/EBADF on a dying hub: all mean reopen
                log.warning("reader %s went away (%s): %s", self.device.id,
                            errno.errorcode.get(exc.errno or 0, "?"), exc)
                return
            for ev in events:
                code = self.decoder.feed(ev)
                if code:
                    self.emit(code, symbology_of(code))
