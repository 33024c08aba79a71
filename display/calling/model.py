"""What the waiting-room board shows, kept apart from pygame so it can be tested plainly.

Bus handlers feed it the retained queue/counter state, the notice and call events; the
painter takes a `snapshot()` under the lock. Every `apply_*` returns True when something
visible changed, so the screen redraws only then.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from edge import protocol as P
from edge.protocol import nfc

WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def vn_clock(dt: datetime) -> str:
    """"08:15": 24-hour clock, as Vietnamese offices write it."""
    return f"{dt.hour:02d}:{dt.minute:02d}"


def vn_date(dt: datetime) -> str:
    """"Thứ Hai, 23/11/2026"."""
    return f"{WEEKDAYS_VI[dt.weekday()]}, {dt.day:02d}/{dt.month:02d}/{dt.year}"


def en_date(dt: datetime) -> str:
    return f"{WEEKDAYS_EN[dt.weekday()]}, {dt.day:02d}/{dt.month:02d}/{dt.year}"


@dataclass(frozen=True)
class CounterView:
    number: int
    name: str
    status: str = "closed"  # closed | open | paused
    serving: str | None = None  # ticket number being served
    service_name: str | None = None
    staff: str | None = None
    last: str | None = None  # the last number called here: kept after service ends, until the next call

    @property
    def shown_number(self) -> str | None:
        """The number the tile shows: the one being served, else the last one called here."""
        return self.serving or self.last


@dataclass(frozen=True)
class LatestCall:
    number: str
    counter: int
    counter_name: str
    recall: bool = False
    live: bool = False  # from an event (blinks), not from retained state after a (re)start
    seq: int = 0  # increases with every live call, so the UI knows to start blinking


@dataclass(frozen=True)
class ServiceView:
    code: str
    name: str
    open: bool
    waiting: int
    last_called: str | None = None


@dataclass(frozen=True)
class Snapshot:
    counters: tuple[CounterView, ...]
    services: tuple[ServiceView, ...]
    recent: tuple[tuple[str, int, str], ...]  # (number, counter, counter name), newest first
    latest: LatestCall | None
    notice: str
    notice_until: datetime | None
    has_queue_state: bool


def chosen_counters(cfg: Any, counters: list[int] | None, zones: list[str] | None,
                    floors: list[int] | None) -> frozenset[int] | None:
    """The counters a device (board or speaker) is for: `counters` plus those of `zones` and
    `floors`; None when none of the three is given (all counters)."""
    if not (counters or zones or floors):
        return None
    return frozenset(set(counters or ()) | {c.number for c in cfg.counters
                                            if (zones and c.zone in zones) or (floors and c.floor in floors)})


def _when(ts: str) -> datetime:
    """A payload's time for ordering; an unreadable one sorts as the oldest."""
    try:
        when = datetime.fromisoformat(ts)
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@dataclass
class BoardState:
    """Thread-safe board contents for the counters this display shows."""

    counter_names: dict[int, str]
    counter_services: dict[int, tuple[str, ...]]
    shown: frozenset[int] | None = None
    recent_max: int = 8
    _counters: dict[int, CounterView] = field(default_factory=dict)
    _services: tuple[ServiceView, ...] = ()
    _recent: tuple[tuple[str, int, str], ...] = ()
    # Calls of this board's counters: (number, counter, name) -> (time, order). The engine's
    # queue state lists only the office's last few calls, so a floor's board would often
    # have none of its own; the board adds every call event it sees.
    _history: dict[tuple[str, int, str], tuple[datetime, int]] = field(default_factory=dict)
    _restored: set[int] = field(default_factory=set)  # tiles whose last number came from `restore`
    _latest: LatestCall | None = None
    _notice: str = ""
    _notice_until: datetime | None = None
    _has_queue: bool = False
    _day: str | None = None
    _seq: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_config(cls, cfg: Any, shown: list[int] | None = None,
                    zones: list[str] | None = None, floors: list[int] | None = None) -> "BoardState":
        """The counters of a board: `shown` numbers plus every counter of `zones` and `floors`
        (none of the three given: all counters)."""
        names = {c.number: nfc(c.name or f"Quầy {c.number}") for c in cfg.counters}
        services = {c.number: tuple(c.services) for c in cfg.counters}
        state = cls(names, services, chosen_counters(cfg, shown, zones, floors))
        for n, name in names.items():
            if state.shows(n):
                state._counters[n] = CounterView(n, name)
        return state

    def shows(self, counter: int) -> bool:
        return self.shown is None or counter in self.shown

    def _shown_services(self) -> set[str] | None:
        if self.shown is None:
            return None
        return {s for n in self.shown for s in self.counter_services.get(n, ())}

    # ------------------------------------------------------------------ inputs

    def apply_counter(self, cs: P.CounterState) -> bool:
        if not self.shows(cs.counter):
            return False
        serving = cs.serving.number if cs.serving else None
        with self._lock:
            before = self._counters.get(cs.counter)
            view = CounterView(cs.counter, nfc(self.counter_names.get(cs.counter) or cs.name), cs.status,
                               serving, nfc(cs.serving.service_name) if cs.serving else None,
                               nfc(cs.staff) if cs.staff else None,
                               serving or (before.last if before is not None else None))
            if serving:
                self._restored.discard(cs.counter)
            if before == view:
                return False
            self._counters[cs.counter] = view
            return True

    def apply_queue(self, qs: P.QueueState) -> bool:
        wanted = self._shown_services()
        services = tuple(ServiceView(s.code, nfc(s.name), s.open, s.waiting, s.last_called)
                         for s in qs.services if wanted is None or s.code in wanted)
        every: tuple[tuple[str, int, str], ...] = ()
        for r in qs.recent_calls:  # newest first; a recalled number is listed once, at its newest
            entry = (r.number, r.counter, nfc(self.counter_names.get(r.counter) or r.counter_name))
            if self.shows(r.counter) and entry not in every:
                every += (entry,)
        times = {(r.number, r.counter): _when(r.ts) for r in qs.recent_calls}
        with self._lock:
            before = (self._services, self._recent, self._latest, self._has_queue, dict(self._counters))
            if self._day is not None and qs.day != self._day:
                self._latest = None  # a new working day: yesterday's last call is not news
                self._counters = {n: replace(c, last=c.serving) for n, c in self._counters.items()}
                self._history.clear()
                self._restored.clear()
            self._day = qs.day
            for i, entry in enumerate(every):
                when = times[entry[:2]]
                known = self._history.get(entry)
                if known is None or known[0] < when:
                    # ranked below any live or saved call of the same time
                    self._history[entry] = (when, known[1] if known else -1_000_000 - i)
            self._services, self._has_queue = services, True
            recent = self._recent = self._newest()
            if self._latest is None and recent:
                number, counter, name = recent[0]
                self._latest = LatestCall(number, counter, name)
            # A tile with no number yet, or only the one kept from before a restart, takes the
            # newest call the engine lists for its counter.
            fill = {c for c, v in self._counters.items() if v.last is None or c in self._restored}
            for number, counter, _name in reversed(every):  # oldest first: the newest call per counter wins
                view = self._counters.get(counter)
                if view is not None and counter in fill:
                    self._counters[counter] = replace(view, last=number)
                    self._restored.discard(counter)
            return before != (self._services, self._recent, self._latest, self._has_queue, self._counters)

    def apply_call(self, ev: P.TicketEvent, recall: bool) -> bool:
        counter = ev.counter if ev.counter is not None else ev.ticket.counter
        if counter is None or not self.shows(counter):
            return False
        name = nfc(self.counter_names.get(counter) or ev.counter_name or f"Quầy {counter}")
        with self._lock:
            self._seq += 1
            self._latest = LatestCall(ev.ticket.number, counter, name, recall, True, self._seq)
            self._history[(ev.ticket.number, counter, name)] = (_when(ev.ts), self._seq)
            self._recent = self._newest()
            view = self._counters.get(counter)
            if view is not None:  # the tile shows the number at once, before the counter's state follows
                self._counters[counter] = replace(view, serving=ev.ticket.number, last=ev.ticket.number)
                self._restored.discard(counter)
            return True

    def _newest(self) -> tuple[tuple[str, int, str], ...]:
        """The newest calls, newest first (lock held); the history is kept short."""
        ordered = sorted(self._history, key=self._history.__getitem__, reverse=True)
        for old in ordered[4 * self.recent_max:]:
            del self._history[old]
        return tuple(ordered[: self.recent_max])

    def apply_notice(self, notice: P.Notice | None) -> bool:
        text = nfc(" ".join(notice.text.split())) if notice else ""
        until = None
        if notice and notice.until:
            try:
                until = datetime.fromisoformat(notice.until)
            except ValueError:
                until = None
        with self._lock:
            if (self._notice, self._notice_until) == (text, until):
                return False
            self._notice, self._notice_until = text, until
            return True

    def last_numbers(self) -> dict[str, Any]:
        """What the tiles and the recent list keep, to save across a restart:
        {"day", "last": {counter: number}, "recent": [[number, counter, time], ...]}."""
        with self._lock:
            return {"day": self._day,
                    "last": {str(n): c.last for n, c in sorted(self._counters.items()) if c.last},
                    "recent": [[num, counter, self._history[(num, counter, name)][0].isoformat()]
                               for num, counter, name in self._recent]}

    def restore(self, saved: dict[str, Any], today: str) -> None:
        """Tiles take the numbers saved today before a restart (the engine lists only its last
        10 calls); any newer call, state or listed call replaces them."""
        if saved.get("day") != today or not isinstance(saved.get("last"), dict):
            return
        with self._lock:
            for key, number in saved["last"].items():
                view = self._counters.get(int(key)) if str(key).isdigit() else None
                if view is not None and view.last is None and isinstance(number, str):
                    self._counters[view.number] = replace(view, last=number)
                    self._restored.add(view.number)
            for i, item in enumerate(saved.get("recent") or []):
                if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
                        and isinstance(item[1], int) and isinstance(item[2], str) and self.shows(item[1])):
                    continue
                entry = (item[0], item[1], self.counter_names.get(item[1]) or f"Quầy {item[1]}")
                self._history.setdefault(entry, (_when(item[2]), -1000 - i))
            self._recent = self._newest()

    def settle(self) -> None:
        """The latest call stops being 'live' (its blinking is over)."""
        with self._lock:
            if self._latest is not None and self._latest.live:
                self._latest = replace(self._latest, live=False)

    # ------------------------------------------------------------------ output

    def snapshot(self, now: datetime | None = None) -> Snapshot:
        with self._lock:
            notice = self._notice
            if self._notice_until is not None and now is not None and now >= self._notice_until:
                notice = ""
            return Snapshot(tuple(self._counters[n] for n in sorted(self._counters)), self._services,
                            self._recent, self._latest, notice, self._notice_until, self._has_queue)
