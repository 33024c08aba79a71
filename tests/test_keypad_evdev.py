"""USB keypads through evdev: hand-built InputEvent streams (no /dev/uinput here), grab, unplug, replug.

The kernel device cannot run on this machine, so a stand-in InputDevice serves the events
over a real pipe (select() works on it) and fails reads with ENODEV when "unplugged",
which is what evdev does on a real unplug. Everything after the read is the real code.
"""
from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from evdev import InputEvent, ecodes

import kiosk.keypad as keypad
from edge.bus import wait_until
from harness import TestOffice, copy_config
from kiosk.keypad.evdev_keys import EvdevKeys, key_names

KEYPAD_1 = '''[[devices]]
id = "keypad-1"
kind = "keypad"
counter = 1
'''


def press(code: int) -> list[InputEvent]:
    """What a keypad sends for one key: MSC_SCAN, key down, SYN, (autorepeat), key up, SYN."""
    return [InputEvent(1, 0, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70058),
            InputEvent(1, 0, ecodes.EV_KEY, code, 1), InputEvent(1, 0, ecodes.EV_SYN, 0, 0),
            InputEvent(1, 1, ecodes.EV_KEY, code, 2), InputEvent(1, 1, ecodes.EV_SYN, 0, 0),
            InputEvent(1, 2, ecodes.EV_KEY, code, 0), InputEvent(1, 2, ecodes.EV_SYN, 0, 0)]


class StandInDevice:
    """Serves queued events over a pipe; unplug() makes reads fail like a vanished device."""

    registry: dict[str, "StandInDevice"] = {}

    def __init__(self, path: str) -> None:
        if not os.path.exists(path):
            raise OSError(errno.ENOENT, "No such device", path)
        self.path = path
        self.name = "Stand-in USB keypad"
        self.info = SimpleNamespace(vendor=0x1a2c, product=0x0e24, bustype=3, version=0x110)
        self.rfd, self.wfd = os.pipe()
        self.events: list[InputEvent] = []
        self.lock = threading.Lock()
        self.grabbed = False
        self.dead = False
        self.closed = False
        StandInDevice.registry[path] = self

    @property
    def fd(self) -> int:
        return self.rfd

    def capabilities(self) -> dict[int, list[int]]:
        return {ecodes.EV_KEY: [ecodes.KEY_KPENTER]}

    def grab(self) -> None:
        self.grabbed = True

    def ungrab(self) -> None:
        if self.dead:
            raise OSError(errno.ENODEV, "No such device")
        self.grabbed = False

    def feed(self, events: list[InputEvent]) -> None:
        with self.lock:
            self.events += events
        os.write(self.wfd, b"x")

    def unplug(self) -> None:
        self.dead = True
        os.write(self.wfd, b"x")

    def read(self):
        os.read(self.rfd, 4096)
        if self.dead:
            raise OSError(errno.ENODEV, "No such device")
        with self.lock:
            events, self.events = self.events, []
        yield from events

    def close(self) -> None:
        self.closed = True
        for fd in (self.rfd, self.wfd):
            try:
                os.close(fd)
            except OSError:
                pass


def test_key_names_take_key_down_only():
    events = press(ecodes.KEY_KPENTER) + press(ecodes.KEY_KP2)
    assert key_names(events) == ["KEY_KPENTER", "KEY_KP2"]


def test_reader_grabs_and_recovers_after_unplug_and_replug(tmp_path: Path):
    node = tmp_path / "usb-Stand-in_Keypad-event-kbd"
    node.write_text("")
    keys: list[str] = []
    statuses: list[tuple[str, dict]] = []
    reader = EvdevKeys("kp", str(node), None, keys.append, lambda lv, d: statuses.append((lv, d)),
                       poll_s=0.05, opener=StandInDevice)
    reader.start()
    try:
        assert wait_until(lambda: reader.device is not None and reader.device.grabbed, 5)
        first = reader.device
        first.feed(press(ecodes.KEY_KPENTER) + press(ecodes.KEY_KPPLUS))
        assert wait_until(lambda: keys == ["KEY_KPENTER", "KEY_KPPLUS"], 5)
        assert statuses[-1][0] == "ok"
        # Unplug: the read fails with ENODEV and the by-id link goes away.
        node.unlink()
        first.unplug()
        assert wait_until(lambda: statuses[-1][0] == "error" and first.closed, 5), statuses
        assert statuses[-1][1]["state"] in ("unplugged",)
        # Replug: the same by-id name comes back; the reader opens and grabs it again.
        node.write_text("")
        assert wait_until(lambda: reader.device is not None and reader.device is not first
                          and reader.device.grabbed, 5)
        reader.device.feed(press(ecodes.KEY_KPMINUS))
        assert wait_until(lambda: keys[-1:] == ["KEY_KPMINUS"], 5)
        assert statuses[-1][0] == "ok" and reader.healthy()
    finally:
        reader.stop()


def test_find_by_vendor_and_product(tmp_path: Path):
    other, mine = tmp_path / "event3", tmp_path / "event7"
    other.write_text("")
    mine.write_text("")

    def opener(path: str):
        dev = StandInDevice(path)
        if path == str(other):
            dev.info = SimpleNamespace(vendor=0x046d, product=0xc31c, bustype=3, version=1)
        return dev

    reader = EvdevKeys("kp", None, "1a2c:0e24", lambda k: None, lambda lv, d: None,
                       opener=opener, lister=lambda: [str(other), str(mine)])
    dev = reader._find()
    assert dev is not None and dev.path == str(mine)
    assert StandInDevice.registry[str(other)].closed


@pytest.fixture
def evdev_office(tmp_path: Path):
    node = tmp_path / "usb-Stand-in_Keypad-event-kbd"
    node.write_text("")
    cfg = copy_config(tmp_path, replace={KEYPAD_1: KEYPAD_1 + f'backend = "evdev"\npath = "{node}"\n'})
    office = TestOffice(tmp_path / "data", cfg).start()
    office.start_engine()
    yield office, node
    office.close()


def test_evdev_keypad_calls_the_next_citizen(evdev_office, monkeypatch):
    office, node = evdev_office
    import kiosk.keypad.evdev_keys as ek
    monkeypatch.setattr(ek.evdev, "InputDevice", StandInDevice)  # no kernel device on this machine
    d = keypad.create(office.ctx("keypad-1", "keypad"))
    d.start()
    office._closers.append(d.stop)
    admin, t = office.client("admin"), office.topics
    called: list[dict] = []
    admin.subscribe(t.ticket_event("called"), lambda topic, p: called.append(json.loads(p)))
    assert admin.request(t.counter_command(1), {"action": "open"})["ok"]
    assert admin.request(t.ticket_issue, {"service": "DD"})["ok"]
    assert wait_until(lambda: d.source.device is not None, 5)
    d.source.device.feed(press(ecodes.KEY_KPENTER))
    assert wait_until(lambda: called, 10)
    assert called[0]["ticket"]["number"] == "1001" and called[0]["counter"] == 1
    assert wait_until(lambda: d.link.view.serving == "1001", 5)
