"""Months of an office's dossiers played through the upstream simulator, synced by the real hub.

For the six-monthly and yearly reports (docs/reports/make_dossiers_example.py) and their
tests: each working day, dossiers arrive per field (Poisson, more on Mondays), filed at the
counter, online or by post; each is accepted and processed, may be asked for more
documents (status 5, its appointment moved by the waiting time, as the rules stop the
clock), is finished on time or late (land dossiers more often late), and is mostly handed
back within days. Every change happens on upstream's clock; the hub syncs each evening over
HTTP like against a gateway, so its figures come from exactly what a sync sees (a status
that comes and goes between two syncs is not seen: the hub's history is "as seen").
"""
from __future__ import annotations

import heapq
import itertools
import logging
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Callable

from hub.simulator import DOCS, FMT, PROCEDURES, TZ, Upstream, fmt

log = logging.getLogger(__name__)

#: Per field code: dossiers per working day, share finished late.
RATES = {"HT": (9.0, 0.02), "CT": (14.0, 0.01), "DD": (5.0, 0.18), "XD": (1.5, 0.12),
         "KT": (2.5, 0.05), "BTXH": (2.0, 0.08)}
ONLINE, POST = 0.35, 0.04          # shares filed online and by post; the rest at the counter
ASKED_DOCS, REFUSED, WITHDRAWN, NOT_COLLECTED = 0.12, 0.02, 0.01, 0.08


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    code: str = field(compare=False)
    fields: dict[str, Any] = field(compare=False)
    then: Callable[[str, datetime], None] | None = field(compare=False, default=None)


def working_days_after(start: datetime, days: float) -> datetime:
    """``days`` working days (Monday-Friday) after ``start``, the fraction as office hours."""
    d, whole, frac = start, int(days), days - int(days)
    while whole > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            whole -= 1
    d += timedelta(hours=9 * frac)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


class PeriodSim:
    """Plays ``start``..``end`` on ``up`` and calls ``sync()`` each evening.

    Dossiers arrive on working days that are not ``holidays``; processing dates count
    Monday to Friday only (a simplification: a step may fall on a holiday).
    """

    def __init__(self, up: Upstream, sync: Callable[[], Any], seed: int = 1,
                 holidays: frozenset[date] | set[date] = frozenset()) -> None:
        self.up = up
        self.holidays = holidays
        self.sync = sync
        self.rng = random.Random(seed)
        self._events: list[_Event] = []
        self._seq = itertools.count()
        self.counts = {"dossiers": 0, "changes": 0, "syncs": 0}

    def run(self, start: date, end: date) -> dict[str, int]:
        day = start
        while day <= end:
            open_day = day.weekday() < 5 and day not in self.holidays
            if open_day:
                self._arrivals(day)
            close = datetime.combine(day, time(17, 30), tzinfo=TZ)
            while self._events and self._events[0].at <= close:
                self._apply(heapq.heappop(self._events))
            self._clock_to(close)        # the hub syncs every day, holidays too (every 30 s in truth)
            self.sync()
            self.counts["syncs"] += 1
            day += timedelta(days=1)
        return dict(self.counts)

    # ------------------------------------------------------------------ internals

    def _clock_to(self, at: datetime) -> None:
        ahead = (at - self.up.now()).total_seconds()
        if ahead > 0:
            self.up.advance(ahead)

    def _at(self, code: str, at: datetime, then: Callable[[str, datetime], None] | None = None,
            **fields: Any) -> None:
        heapq.heappush(self._events, _Event(at, next(self._seq), code, fields, then))

    def _apply(self, ev: _Event) -> None:
        self._clock_to(ev.at)
        if ev.fields:
            self.up.change(ev.code, **ev.fields)
            self.counts["changes"] += 1
        if ev.then:
            ev.then(ev.code, ev.at)

    def _arrivals(self, day: date) -> None:
        rng = self.rng
        by_field = {p[2]: [q for q in PROCEDURES if q[2] == p[2]] for p in PROCEDURES}
        monday = 1.3 if day.weekday() == 0 else 1.0
        times = []
        for fcode, (rate, _) in RATES.items():
            n = _poisson(rng, rate * monday)
            times += [(self._office_time(day), fcode) for _ in range(n)]
        for at, fcode in sorted(times):
            self._clock_to(at)
            proc = rng.choice(by_field[fcode])
            channel = 2 if rng.random() < ONLINE else 3 if rng.random() < POST / (1 - ONLINE) else 1
            due = working_days_after(at, proc[4])
            rec = self.up.add(MaTTHC=proc[0], TenTTHC=proc[1], MaLinhVuc=proc[2], TenLinhVuc=proc[3],
                              HinhThucNop=channel, NgayHenTra=fmt(due), TrangThaiHoSo=2)
            self.counts["dossiers"] += 1
            self._plan(rec["MaHoSo"], at, due, proc[4], RATES[fcode][1])

    def _office_time(self, day: date) -> datetime:
        rng = self.rng
        h = rng.choice([7.6, 8, 8.5, 9, 9.5, 10, 10.5, 13.5, 14, 14.5, 15, 15.5, 16])
        return datetime.combine(day, time(0), tzinfo=TZ) + timedelta(hours=h, minutes=rng.uniform(0, 29))

    def _plan(self, code: str, received: datetime, due: datetime, legal: int, late_share: float) -> None:
        rng = self.rng
        r = rng.random()
        if r < REFUSED:
            self._at(code, received + timedelta(minutes=20), TrangThaiHoSo=3)
            return
        start = received + timedelta(minutes=rng.uniform(10, 240))
        self._at(code, start, TrangThaiHoSo=4)
        if r < REFUSED + WITHDRAWN:
            self._at(code, working_days_after(start, rng.uniform(0.5, legal)), TrangThaiHoSo=7)
            return
        late = rng.random() < late_share
        took = legal * (rng.uniform(1.05, 1.8) if late else rng.uniform(0.3, 0.98))
        if rng.random() < ASKED_DOCS and legal >= 3:
            asked = working_days_after(start, max(0.5, took * 0.3))
            waited = rng.choice([2, 3, 5, 7, 10])
            back = working_days_after(asked, waited)
            new_due = working_days_after(due, waited)     # the waiting time does not count
            docs = [{"Ten": d} for d in rng.sample(DOCS, rng.randint(1, 2))]
            self._at(code, asked, TrangThaiHoSo=5, YeuCauBoSung=docs, HanBoSung=fmt(working_days_after(asked, 10)))
            self._at(code, back, TrangThaiHoSo=4, NgayHenTra=fmt(new_due))
            finish = working_days_after(back, max(0.2, took * 0.7))
            due = new_due
        else:
            finish = working_days_after(start, took)
        if not late and finish > due:
            finish = due - timedelta(hours=1)
        if late and finish <= due:
            finish = working_days_after(due, 1)
        self._at(code, finish, self._hand_back, TrangThaiHoSo=9, NgayKetThucXuLy=fmt(finish))

    def _hand_back(self, code: str, finished: datetime) -> None:
        if self.rng.random() < NOT_COLLECTED:
            return
        at = working_days_after(finished, self.rng.choice([0.2, 0.5, 1, 1, 2, 3, 5]))
        self._at(code, at, TrangThaiHoSo=10, NgayTra=fmt(at))


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method: fine for the small daily rates here."""
    limit, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def expected_figures(up: Upstream, start: date, end: date) -> dict[str, dict[str, int]]:
    """What the figures of ``start``..``end`` must be, from upstream's own records (for tests)."""
    lo, hi = f"{start:%Y%m%d}", f"{end:%Y%m%d}"
    out: dict[str, dict[str, int]] = {}

    def bump(f: str, k: str) -> None:
        out.setdefault(f, {}).setdefault(k, 0)
        out[f][k] += 1
    for r in up.records.values():
        f = r["TenLinhVuc"]
        if lo <= r["NgayTiepNhan"][:8] <= hi:
            bump(f, "received")
            bump(f, {1: "counter", 2: "online", 3: "post"}[r["HinhThucNop"]])
        if r.get("NgayKetThucXuLy") and lo <= r["NgayKetThucXuLy"][:8] <= hi:
            bump(f, "finished")
            bump(f, "on_time" if r["NgayKetThucXuLy"] <= r["NgayHenTra"] else "late")
        if r.get("NgayTra") and lo <= r["NgayTra"][:8] <= hi:
            bump(f, "returned")
    for code, steps in up.steps.items():
        if any(s["TrangThai"] == 5 and lo <= s["ThoiGian"][:8] <= hi for s in steps):
            bump(up.records[code]["TenLinhVuc"], "asked_documents")
    return out


__all__ = ["PeriodSim", "expected_figures", "working_days_after", "FMT"]
