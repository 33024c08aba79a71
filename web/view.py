"""The web console's own picture of the office, built only from MQTT.

Retained counter and queue state, the waiting list (seeded by a `queue/waiting` request
and kept current from ticket events) and each clerk's day (served, no-shows, service
times, counted from `done`/`no_show` events at the counter the clerk is signed in at).
Listeners hear which part changed ("counter:3", "queue", "waiting", "day") and read it
back; the SSE streams coalesce bursts.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any, Callable

log = logging.getLogger(__name__)

Listener = Callable[[str], None]


class OfficeView:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[int, dict[str, Any]] = {}
        self.queue: dict[str, Any] | None = None
        self.waiting: dict[str, dict[str, Any]] = {}
        self.day: str | None = None
        self._called_at: dict[str, str] = {}
        self._days: dict[str, dict[str, Any]] = {}  # staff name -> figures of today
        self.listeners: list[Listener] = []

    # ------------------------------------------------------------------ in (bus worker thread)

    def _notify(self, *keys: str) -> None:
        for key in keys:
            for listener in list(self.listeners):
                try:
                    listener(key)
                except Exception:  # noqa: BLE001 - one broken stream must not stop the others
                    log.exception("view listener failed")

    def _roll(self, day: str | None) -> bool:
        if day and day != self.day:
            if self.day is not None:
                self.waiting.clear()
                self._called_at.clear()
                self._days.clear()
            self.day = day
            return True
        return False

    def set_counter(self, state: dict[str, Any]) -> None:
        with self._lock:
            self.counters[int(state["counter"])] = state
        self._notify(f"counter:{state['counter']}")

    def set_queue(self, state: dict[str, Any]) -> None:
        with self._lock:
            rolled = self._roll(state.get("day"))
            self.queue = state
        self._notify("queue", *(("waiting", "day") if rolled else ()))

    def set_waiting(self, day: str, tickets: list[dict[str, Any]],
                    staff_day: list[dict[str, Any]] | None = None) -> None:
        """A fresh list from the engine replaces ours (it is the truth; events keep it current).

        `staff_day` (the engine's per-clerk figures of today) replaces the day counts too, so a
        restarted console still knows each clerk's day."""
        with self._lock:
            self._roll(day)
            self.waiting = {t["ticket_id"]: t for t in tickets}
            for d in staff_day or []:
                if d.get("name"):
                    self._days[d["name"]] = {"served": int(d["served"]), "no_show": int(d["no_show"]),
                                             "service_total": float(d["service_s"]), "service_n": int(d["served"])}
        self._notify("waiting", *(("day",) if staff_day else ()))

    def ticket_event(self, action: str, event: dict[str, Any]) -> None:
        ticket = event["ticket"]
        tid = ticket["ticket_id"]
        changed = ["waiting"]
        with self._lock:
            if self._roll(ticket.get("day")):
                changed.append("day")
            if action in ("issued", "transferred", "no_show"):
                self.waiting[tid] = ticket
            elif action in ("called", "cancelled", "done"):
                self.waiting.pop(tid, None)
            if action == "called":
                self._called_at[tid] = event.get("ts") or ""
            if action in ("done", "no_show") and event.get("counter") is not None:
                staff = (self.counters.get(int(event["counter"])) or {}).get("staff")
                if staff:
                    d = self._days.setdefault(staff, _empty_day())
                    if action == "done":
                        d["served"] += 1
                        started = self._called_at.pop(tid, None)
                        if started and event.get("ts"):
                            secs = (datetime.fromisoformat(event["ts"]) - datetime.fromisoformat(started)).total_seconds()
                            d["service_total"] += max(0.0, secs)
                            d["service_n"] += 1
                    else:
                        d["no_show"] += 1
                    changed.append("day")
        self._notify(*changed)

    # ------------------------------------------------------------------ out (any thread)

    def counter(self, number: int) -> dict[str, Any] | None:
        with self._lock:
            return self.counters.get(number)

    def waiting_list(self) -> list[dict[str, Any]]:
        with self._lock:
            tickets = list(self.waiting.values())
        return sorted(tickets, key=lambda t: (t["status"] != "waiting", t["issued_at"]))

    def my_day(self, staff: str) -> dict[str, Any]:
        with self._lock:
            d = self._days.get(staff) or _empty_day()
            return {"served": d["served"], "no_show": d["no_show"],
                    "mean_service_s": round(d["service_total"] / d["service_n"]) if d["service_n"] else None}

    def part(self, key: str, staff: str | None = None) -> Any:
        if key.startswith("counter:"):
            return self.counter(int(key.split(":", 1)[1]))
        if key == "queue":
            with self._lock:
                return self.queue
        if key == "waiting":
            return self.waiting_list()
        if key == "day":
            return self.my_day(staff or "")
        raise KeyError(key)

    def snapshot(self, staff: str | None = None) -> dict[str, Any]:
        with self._lock:
            counters = {str(k): v for k, v in sorted(self.counters.items())}
            queue = self.queue
        return {"counters": counters, "queue": queue, "waiting": self.waiting_list(),
                "day": self.my_day(staff or "")}


def _empty_day() -> dict[str, Any]:
    return {"served": 0, "no_show": 0, "service_total": 0.0, "service_n": 0}
