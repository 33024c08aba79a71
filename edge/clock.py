"""Clocks: the real one, a simulated one (--clock START[xSPEED]) and a manual one for tests.

Every daemon takes the time from a Clock so that a whole office can play a working day
at night, faster than real time, and tests can cross midnight without sleeping.
"""
from __future__ import annotations

import re
import threading
import time as _time
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo


class Clock:
    """Real time in the office's zone."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.speed = 1.0

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def today(self) -> date:
        return self.now().date()

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of office time."""
        _time.sleep(max(0.0, seconds) / self.speed)


class SimClock(Clock):
    """Office time that starts at `start` and runs `speed` times faster than real time."""

    def __init__(self, tz: tzinfo, start: datetime, speed: float = 1.0,
                 anchor: float | None = None) -> None:
        super().__init__(tz)
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.start = start if start.tzinfo else start.replace(tzinfo=tz)
        self.speed = speed
        # Wall-clock anchor, shared by every daemon of one simulated office (MOTCUA_CLOCK_ANCHOR),
        # so that all of them agree on the simulated time.
        self.anchor = _time.time() if anchor is None else anchor

    def now(self) -> datetime:
        elapsed = (_time.time() - self.anchor) * self.speed
        return (self.start + timedelta(seconds=elapsed)).astimezone(self.tz)


class ManualClock(Clock):
    """A clock that moves only when told to: for tests."""

    def __init__(self, tz: tzinfo, start: datetime) -> None:
        super().__init__(tz)
        self._now = start if start.tzinfo else start.replace(tzinfo=tz)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when if when.tzinfo else when.replace(tzinfo=self.tz)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)


_CLOCK = re.compile(r"^(?P<start>[0-9T:\- ]+?)(?:x(?P<speed>\d+(?:\.\d+)?))?$")


def parse_clock(spec: str | None, tz: str | tzinfo, anchor: float | None = None) -> Clock:
    """Parse `--clock START[xSPEED]`.

    START is a local time `HH:MM` (today), or a date and time `YYYY-MM-DDTHH:MM[:SS]`.
    Examples: `07:30`, `07:30x20`, `2026-11-23T07:25x60`.
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    if not spec:
        return Clock(zone)
    m = _CLOCK.match(spec.strip())
    if not m:
        raise ValueError(f"--clock {spec!r}: expected START[xSPEED], e.g. 07:30x20")
    start_s, speed_s = m.group("start").strip(), m.group("speed")
    speed = float(speed_s) if speed_s else 1.0
    if speed <= 0:
        raise ValueError(f"--clock {spec!r}: speed must be positive")
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", start_s):
            parts = [int(x) for x in start_s.split(":")]
            today = datetime.now(zone).date()
            start = datetime(today.year, today.month, today.day, parts[0], parts[1],
                             parts[2] if len(parts) > 2 else 0, tzinfo=zone)
        else:
            start = datetime.fromisoformat(start_s)
            start = start.replace(tzinfo=zone) if start.tzinfo is None else start.astimezone(zone)
    except ValueError as exc:
        raise ValueError(f"--clock {spec!r}: {exc}") from None
    return SimClock(zone, start, speed, anchor)
