"""The web daemon's book of today's tickets, by their page token (the QR on the ticket).

Built only from MQTT: ticket events (each carries the ticket with its `track` token), the
engine's `queue/waiting` answers (to seed after a start) and the retained queue state (for
the estimated wait). A phone's page is answered from here, never by asking the engine, so
hundreds of phones cost the engine nothing. Positions are computed once per change (sorted
lists per service, then a bisect per phone) rather than once per phone.
"""
from __future__ import annotations

import bisect
import logging
import threading
from typing import Any, Callable

log = logging.getLogger(__name__)

Listener = Callable[[str], None]
STATES = {"issued": "waiting", "transferred": "waiting", "called": "called", "recalled": "called",
          "done": "done", "no_show": "no_show", "cancelled": "cancelled"}


class TicketBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.day: str | None = None
        self._by_token: dict[str, dict[str, Any]] = {}   # token -> entry
        self._by_id: dict[str, str] = {}                  # ticket_id -> token
        self._estimates: dict[str, tuple[int, int | None]] = {}  # service -> (waiting, estimated_wait_s)
        self._order: dict[str, tuple[list[str], list[str]]] | None = None  # service -> (ordinary, priority) keys
        self.listeners: list[Listener] = []
        self._notify_later = False

    # ------------------------------------------------------------------ in (bus thread)

    def _notify(self, key: str) -> None:
        if self._notify_later:  # the day rolled over: every open page must say its ticket expired
            self._notify_later = False
            key = "all"
        for listener in list(self.listeners):
            try:
                listener(key)
            except Exception:  # noqa: BLE001 - one broken stream must not stop the others
                log.exception("ticket book listener failed")

    def _roll(self, day: str | None) -> bool:
        """A new office day: yesterday's tokens expire (their pages say so, with no data)."""
        if day and day != self.day:
            expired = self.day is not None
            if expired:
                self._by_token.clear()
                self._by_id.clear()
                self._estimates.clear()
            self.day = day
            self._order = None
            return expired
        return False

    def _put(self, ticket: dict[str, Any], state: str, event: dict[str, Any] | None, action: str | None) -> None:
        token = ticket.get("track")
        if not token:
            return
        entry = self._by_token.get(token) or {"transferred": False, "counter_name": None, "called_at": None}
        entry.update(ticket=ticket, state=state)
        if action == "transferred":
            entry["transferred"] = True
        if state == "called" and event is not None:
            entry["counter_name"] = event.get("counter_name")
            entry["called_at"] = event.get("ts")
            entry["calls"] = entry.get("calls", 0) + 1
        self._by_token[token] = entry
        self._by_id[ticket["ticket_id"]] = token
        self._order = None

    def ticket_event(self, action: str, event: dict[str, Any]) -> None:
        ticket = event.get("ticket") or {}
        state = STATES.get(action)
        if state is None or not ticket.get("ticket_id"):
            return
        with self._lock:
            if self._roll(ticket.get("day")):
                self._notify_later = True
            if ticket.get("day") != self.day:
                return  # a late event of another day
            old = self._by_token.get(ticket.get("track") or "")
            moved_from = old["ticket"]["service"] if old is not None else None
            self._put(ticket, state, event, action)
        # Only the phones of the services involved hear of it (a transfer touches two queues).
        self._notify(f"svc:{ticket['service']}")
        if moved_from and moved_from != ticket["service"]:
            self._notify(f"svc:{moved_from}")

    def set_waiting(self, day: str, tickets: list[dict[str, Any]]) -> None:
        """Seed from the engine's list (waiting and no-show tickets); events keep it current."""
        with self._lock:
            self._roll(day)
            for t in tickets:
                if t.get("day") == self.day:
                    token = t.get("track")
                    old = self._by_token.get(token) if token else None
                    if old is None or old["state"] in ("waiting", "no_show"):
                        self._put(t, "waiting" if t.get("status") == "waiting" else "no_show", None, None)
        self._notify("all")

    def set_queue(self, state: dict[str, Any]) -> None:
        with self._lock:
            if self._roll(state.get("day")):
                self._notify_later = True
            old = self._estimates
            self._estimates = {s["code"]: (int(s.get("waiting") or 0), s.get("estimated_wait_s"))
                               for s in state.get("services") or []}
            changed = [code for code, est in self._estimates.items() if old.get(code) != est]
        for code in changed:
            self._notify(f"svc:{code}")
        if self._notify_later:
            self._notify("all")

    # ------------------------------------------------------------------ out (any thread)

    @staticmethod
    def _key(t: dict[str, Any]) -> str:
        # A transferred ticket keeps its issue time, and goes ahead of every ticket issued after it.
        return f"{t['issued_at']}|{t['ticket_id']}"

    def _orders(self) -> dict[str, tuple[list[str], list[str]]]:
        if self._order is None:
            order: dict[str, tuple[list[str], list[str]]] = {}
            for e in self._by_token.values():
                t = e["ticket"]
                if e["state"] != "waiting":
                    continue
                ordinary, prio = order.setdefault(t["service"], ([], []))
                (ordinary if t.get("priority", "none") == "none" else prio).append(self._key(t))
            for ordinary, prio in order.values():
                ordinary.sort()
                prio.sort()
            self._order = order
        return self._order

    def ahead(self, ticket: dict[str, Any]) -> int:
        """Waiting tickets of the same service likely called first: older ones, and every waiting
        priority ticket before an ordinary one (an estimate: the engine alone knows the turn)."""
        with self._lock:
            ordinary, prio = self._orders().get(ticket["service"], ([], []))
            key = self._key(ticket)
            if ticket.get("priority", "none") == "none":
                return bisect.bisect_left(ordinary, key) + len(prio)
            return bisect.bisect_left(prio, key)

    def service_of(self, token: str) -> str | None:
        with self._lock:
            e = self._by_token.get(token)
            return e["ticket"]["service"] if e is not None else None

    def known(self, token: str) -> bool:
        with self._lock:
            return token in self._by_token

    def page(self, token: str) -> dict[str, Any] | None:
        """What one ticket's page shows; None for a token we do not know (no data at all)."""
        with self._lock:
            e = self._by_token.get(token)
            if e is None:
                return None
            t = e["ticket"]
            out: dict[str, Any] = {
                "number": t["number"], "service": t["service_name"], "state": e["state"],
                "transferred": e["transferred"], "priority": t.get("priority", "none") != "none",
            }
            if e["state"] == "called":
                out["counter"] = e["counter_name"] or (f"Quầy {t['counter']}" if t.get("counter") else None)
                out["calls"] = e.get("calls", 1)
            waiting, est = self._estimates.get(t["service"], (0, None))
        if out["state"] == "waiting":
            ahead = self.ahead(t)
            out["ahead"] = ahead
            if est is None:
                out["wait_s"] = None
            else:
                # Whole minutes (what the page shows): a new ticket behind this one changes nothing here,
                # so the phones of a busy service are not all sent a page on every issue.
                out["wait_s"] = int(round(est * ahead / waiting / 60)) * 60 if waiting else 0
        return out
