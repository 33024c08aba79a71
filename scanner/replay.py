"""Recorded evdev streams (the text `evtest` prints) replayed as an event source.

Lets a technician capture a reader with `evtest /dev/input/by-id/... > scan.txt` and
replay it through the HID reader without the device; the tests use the same recordings.
`evtest: error reading: No such device` (what evtest prints on unplug) ends a stream
with the OSError a real unplug raises.
"""
from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Iterator

from evdev import InputEvent

_EVENT = re.compile(r"Event: time (\d+)\.(\d+), type (\d+) \([^)]*\), code (\d+) \([^)]*\), value (-?\d+)")
_SYN = re.compile(r"Event: time (\d+)\.(\d+), -+ SYN_REPORT -+")
UNPLUG = "unplug"


def parse_evtest(text: str) -> list[InputEvent | str]:
    """Events (and UNPLUG markers) from evtest output; other lines are ignored."""
    out: list[InputEvent | str] = []
    for line in text.splitlines():
        if m := _EVENT.search(line):
            sec, usec, typ, code, value = (int(g) for g in m.groups())
            out.append(InputEvent(sec, usec, typ, code, value))
        elif m := _SYN.search(line):
            out.append(InputEvent(int(m.group(1)), int(m.group(2)), 0, 0, 0))
        elif "error reading: No such device" in line:
            out.append(UNPLUG)
    return out


class ReplaySource:
    """An event source over a recording: a real pipe fd for select, one SYN batch per read."""

    def __init__(self, items: list[InputEvent | str], name: str = "replay") -> None:
        self.name = name
        self._items = list(items)
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        self.grabbed = False
        self.closed = False
        if self._items:
            os.write(self._w, b"x")

    @classmethod
    def from_file(cls, path: str | Path) -> "ReplaySource":
        return cls(parse_evtest(Path(path).read_text(encoding="utf-8")), str(path))

    def fileno(self) -> int:
        return self._r

    def grab(self) -> None:
        self.grabbed = True

    def read(self) -> Iterator[InputEvent]:
        """Like evdev's InputDevice.read: a generator, so errors surface when it is iterated."""
        try:
            os.read(self._r, 1)
        except BlockingIOError:
            return
        batch: list[InputEvent] = []
        while self._items:
            item = self._items.pop(0)
            if item == UNPLUG:
                raise OSError(errno.ENODEV, "No such device")
            batch.append(item)
            if item.type == 0:
                break
        if self._items:
            os.write(self._w, b"x")
        yield from batch

    @property
    def exhausted(self) -> bool:
        return not self._items

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._r)
            os.close(self._w)
