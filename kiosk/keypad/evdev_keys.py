"""USB counter keypads read with evdev: found by their by-id path (or vendor:product), grabbed.

A grabbed keypad types nothing into the clerk's desktop. Keys act on key-down only
(autorepeat is ignored). When the keypad is unplugged, reads fail with ENODEV: the
descriptor is dropped at once (a dead fd left in select() spins at 100 % CPU), the
status says so, and the thread polls until the keypad is back, then grabs it again.
"""
from __future__ import annotations

import enum
import errno
import logging
import os
import select
import threading
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)

try:  # evdev is Linux-only
    import evdev
    from evdev import ecodes
except ImportError:  # pragma: no cover - non-Linux development machines
    evdev = None  # type: ignore[assignment]
    ecodes = None  # type: ignore[assignment]


class KeypadState(enum.Enum):
    SEARCHING = "searching"
    READY = "ready"
    UNPLUGGED = "unplugged"


def key_names(events: Iterable[Any]) -> list[str]:
    """Names of the keys pressed down in an event stream (EV_KEY value 1)."""
    out: list[str] = []
    for ev in events:
        if ev.type != ecodes.EV_KEY or ev.value != 1:
            continue
        name = ecodes.KEY.get(ev.code) or ecodes.BTN.get(ev.code)
        if isinstance(name, (list, tuple)):
            name = name[0]
        out.append(name or f"KEY_{ev.code}")
    return out


def _parse_usb(usb: str | None) -> tuple[int, int] | None:
    if not usb:
        return None
    vid, pid = usb.split(":")
    return int(vid, 16), int(pid, 16)


class EvdevKeys:
    """Reads one keypad on thread `keypad-evdev-NAME`."""

    def __init__(self, name: str, path: str | None, usb: str | None, on_key: Callable[[str], None],
                 on_status: Callable[[str, dict[str, Any]], None], *, poll_s: float = 1.0,
                 opener: Callable[[str], Any] | None = None,
                 lister: Callable[[], list[str]] | None = None) -> None:
        if evdev is None and opener is None:
            raise RuntimeError("the evdev keypad backend needs the evdev package (Linux)")
        self.name = name
        self.path = path
        self.usb = _parse_usb(usb)
        self.on_key = on_key
        self.on_status = on_status
        self.poll_s = poll_s
        self.opener = opener or evdev.InputDevice
        self.lister = lister or evdev.list_devices
        self.state = KeypadState.SEARCHING
        self.device: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"keypad-evdev-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)
        self._drop()

    def healthy(self) -> bool:
        return self._thread.is_alive()

    def send(self, line: str) -> None:
        """A USB keypad has no display: feedback goes to the log only."""
        log.debug("%s: %s", self.name, line)

    # -------------------------------------------------------------- thread

    def _run(self) -> None:
        while not self._stop.is_set():
            dev = self._find()
            if dev is None:
                where = self.path or (f"usb {self.usb[0]:04x}:{self.usb[1]:04x}" if self.usb else "")
                self._set(KeypadState.UNPLUGGED if self.state is not KeypadState.SEARCHING else self.state,
                          "error", {"keypad": where, "error": "keypad not found"})
                self._stop.wait(self.poll_s)
                continue
            self.device = dev
            detail: dict[str, Any] = {"keypad": getattr(dev, "path", self.path), "name": getattr(dev, "name", "")}
            try:
                dev.grab()
                level = "ok"
            except OSError as exc:  # EBUSY: another program holds it; keys still arrive
                level, detail["warning"] = "warning", f"cannot grab: {exc}"
            self._set(KeypadState.READY, level, detail)
            try:
                self._read(dev)
            except OSError as exc:
                if exc.errno not in (errno.ENODEV, errno.EIO, errno.EBADF):
                    log.exception("%s: read failed", self.name)
                log.warning("%s: keypad gone: %s", self.name, exc)
                self._set(KeypadState.UNPLUGGED, "error", {**detail, "error": "keypad unplugged"})
            self._drop()

    def _read(self, dev: Any) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([dev.fd], [], [], 0.5)
            if not ready:
                continue
            try:
                events = list(dev.read())
            except BlockingIOError:
                continue
            for name in key_names(events):
                try:
                    self.on_key(name)
                except Exception:  # noqa: BLE001 - a bad key must not stop the keypad
                    log.exception("%s: handling %s failed", self.name, name)

    def _find(self) -> Any:
        if self.path:
            if not os.path.exists(self.path):
                return None
            try:
                return self.opener(self.path)
            except OSError as exc:
                log.info("%s: cannot open %s: %s", self.name, self.path, exc)
                return None
        for path in self.lister():
            try:
                dev = self.opener(path)
            except OSError:
                continue
            info = dev.info
            if (info.vendor, info.product) == self.usb and ecodes.EV_KEY in dev.capabilities():
                return dev
            dev.close()
        return None

    def _drop(self) -> None:
        dev, self.device = self.device, None
        if dev is None:
            return
        for op in ("ungrab", "close"):
            try:
                getattr(dev, op)()
            except OSError:
                pass

    def _set(self, state: KeypadState, level: str, detail: dict[str, Any]) -> None:
        self.state = state
        self.on_status(level, {**detail, "state": state.value})
