"""Queue rules: issuing, calling, priority, transfers, day rollover.

Pure logic over an open SQLite transaction: no MQTT here. Each operation returns its
reply fields and the Effects (events, changed counters) the daemon publishes after COMMIT.
"""
from __future__ import annotations

import logging
import math
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from edge import protocol as P
from edge.config import OfficeConfig
from edge.config.model import Counter, Service
from edge.engine.attribution import Attribution
from edge.engine.errors import EngineError
from edge.i18n import t
from edge.engine import track
from edge.engine.store import get_meta, set_meta

log = logging.getLogger(__name__)

RECENT_SERVICE_TIMES = 20


@dataclass
class Effects:
    events: list[tuple[str, dict[str, Any], int | None]] = field(default_factory=list)
    counters: set[int] = field(default_factory=set)
    queue: bool = False
    stats: dict[str, Any] | None = None  # the closed day's figures (QueueStatsEvent)

    def event(self, action: str, ticket: dict[str, Any], counter: int | None) -> None:
        self.events.append((action, ticket, counter))
        self.queue = True

    def merge(self, other: "Effects") -> None:
        self.events.extend(other.events)
        self.counters |= other.counters
        self.queue = self.queue or other.queue
        self.stats = other.stats or self.stats


class QueueEngine:
    """The only writer of ticket state; every method runs inside the caller's transaction."""

    def __init__(self, cfg: OfficeConfig, conn: sqlite3.Connection,
                 attribution: Attribution | None = None, track_key: bytes | None = None) -> None:
        self.cfg = cfg
        self.conn = conn
        self.attribution = attribution or Attribution(None)
        self.track_key = track_key

    # ------------------------------------------------------------------ helpers

    def ticket_payload(self, row: sqlite3.Row | None) -> dict[str, Any] | None:
        if row is None:
            return None
        svc = self.cfg.service(row["service"])
        out = {
            "ticket_id": row["ticket_id"], "number": row["number"], "seq": row["seq"],
            "service": row["service"], "service_name": svc.name if svc else row["service"],
            "priority": row["priority"], "day": row["day"], "issued_at": row["issued_at"],
            "status": "waiting" if row["status"] == "booked" else row["status"],  # booked: waits for its slot
            "counter": row["counter"] if row["counter"] is not None else row["reserved_counter"],
            **({k: row[k] for k in ("dossier", "appointment", "slot_at") if k in row.keys() and row[k]}),
        }
        if self.track_key is not None:
            out["track"] = track.token(self.track_key, row["ticket_id"])
        return out

    def _ticket(self, ticket_id: str | None) -> sqlite3.Row | None:
        if not ticket_id:
            return None
        return self.conn.execute("SELECT * FROM tickets WHERE ticket_id = ?", (ticket_id,)).fetchone()

    def _counter_row(self, number: int) -> sqlite3.Row:
        row = self.conn.execute("SELECT * FROM counters WHERE number = ?", (number,)).fetchone()
        if row is None:
            self.conn.execute("INSERT INTO counters(number, status) VALUES (?, 'closed')", (number,))
            row = self.conn.execute("SELECT * FROM counters WHERE number = ?", (number,)).fetchone()
        return row

    def counter_payload(self, number: int, now: datetime) -> dict[str, Any]:
        c = self.cfg.counter(number)
        assert c is not None
        row = self._counter_row(number)
        return {"counter": number, "name": c.label, "status": row["status"], "staff": row["staff"],
                "reason": row["reason"] if row["status"] == "paused" else None,
                "services": list(c.services), "serving": self.ticket_payload(self._ticket(row["serving"])),
                "reason": row["reason"] if row["status"] == "paused" else None, "ts": P.rfc3339(now)}

    @staticmethod
    def day_of(now: datetime) -> str:
        return now.date().isoformat()

    def service_open(self, svc: Service, now: datetime) -> tuple[bool, str]:
        if not svc.enabled:
            return False, t("Dịch vụ {service} tạm ngừng cấp số.", service=svc.name)
        if now.date() in self.cfg.office.holidays:
            return False, t("Hôm nay là ngày nghỉ, bộ phận một cửa không cấp số.")
        if not self.cfg.windows_for(svc).is_open(now.weekday(), now.time()):
            return False, t("Dịch vụ {service} hiện ngoài giờ cấp số thứ tự.", service=svc.name)
        return True, ""

    # ------------------------------------------------------------------ day rollover

    def rollover(self, now: datetime) -> Effects:
        """Start a new local day: numbering restarts, yesterday's open tickets are cancelled."""
        fx = Effects()
        today = self.day_of(now)
        stored = get_meta(self.conn, "day")
        if stored == today:
            return fx
        if stored is not None and stored > today:
            log.warning("office clock went back from %s to %s; keeping the stored day", stored, today)
            return fx
        if stored is not None:
            fx.stats = self.day_stats(stored, now)
        stale = self.conn.execute(
            "SELECT * FROM tickets WHERE day < ? AND status IN ('waiting', 'called', 'booked')", (today,)).fetchall()
        for row in stale:
            self.conn.execute("UPDATE tickets SET status = 'cancelled', finished_at = ? WHERE ticket_id = ?",
                              (P.rfc3339(now), row["ticket_id"]))
            fx.event("cancelled", self.ticket_payload(self._ticket(row["ticket_id"])), row["counter"])
        for c in self.cfg.counters:
            row = self._counter_row(c.number)
            if row["status"] != "closed" or row["serving"]:
                self.conn.execute("UPDATE counters SET status = 'closed', serving = NULL, staff = NULL, "
                                  "staff_login = NULL, reason = NULL, updated_at = ? WHERE number = ?",
                                  (P.rfc3339(now), c.number))
                fx.counters.add(c.number)
        self.conn.execute("UPDATE counter_sessions SET closed_at = ? WHERE closed_at IS NULL", (P.rfc3339(now),))
        # an ID card's hash is only good for its day's cap: forget it (the age bracket stays for statistics)
        self.conn.execute("UPDATE tickets SET person = NULL WHERE day < ? AND person IS NOT NULL", (today,))
        set_meta(self.conn, "day", today)
        fx.queue = True
        if stored is not None:
            log.info("new day %s: %d tickets of earlier days cancelled", today, len(stale))
        return fx

    def auto_open(self, now: datetime) -> Effects:
        """`office.auto_open`: once per span of the opening hours, open the counters still closed."""
        fx = Effects()
        office = self.cfg.office
        if not office.auto_open or now.date() in office.holidays:
            return fx
        span = next((s for s in office.hours.spans(now.weekday()) if s.contains(now.time())), None)
        if span is None:
            return fx
        key = f"{self.day_of(now)}T{span.start.isoformat(timespec='minutes')}"
        if get_meta(self.conn, "auto_open") == key:
            return fx
        set_meta(self.conn, "auto_open", key)
        ts = P.rfc3339(now)
        for c in self.cfg.counters:
            if self._counter_row(c.number)["status"] == "closed":
                self.conn.execute("UPDATE counters SET status = 'open', reason = NULL, updated_at = ?, opened_at = ? "
                                  "WHERE number = ?", (ts, ts, c.number))
                self._sign_in(c.number, self.day_of(now), None, None, ts)
                fx.counters.add(c.number)
        if fx.counters:
            fx.queue = True
            log.info("opening hours %s: counters %s opened automatically", key, sorted(fx.counters))
        return fx

    def day_stats(self, day: str, now: datetime) -> dict[str, Any]:
        """A day's figures per field, as the hub pushes them upstream (DongBoSoLieuXepHang)."""
        rows = self.conn.execute(
            "SELECT original_service, issued_at, called_at, finished_at, status FROM tickets WHERE day = ?",
            (day,)).fetchall()
        by_field: dict[str, dict[str, Any]] = {}
        for r in rows:
            svc = self.cfg.service(r["original_service"])
            name = (svc.field or svc.name) if svc else r["original_service"]
            f = by_field.setdefault(name, {"tickets": 0, "waits": [], "services": [], "no_show": 0})
            f["tickets"] += 1
            if r["called_at"]:
                f["waits"].append((datetime.fromisoformat(r["called_at"]) - datetime.fromisoformat(r["issued_at"])).total_seconds())
            if r["status"] == "done" and r["called_at"] and r["finished_at"]:
                f["services"].append((datetime.fromisoformat(r["finished_at"]) - datetime.fromisoformat(r["called_at"])).total_seconds())
            if r["status"] == "no_show":
                f["no_show"] += 1
        mean = lambda xs: round(sum(xs) / len(xs), 1) if xs else 0.0  # noqa: E731
        return {"day": day, "ts": P.rfc3339(now), "rows": [
            {"field": name, "tickets": f["tickets"], "avg_wait_s": max(0.0, mean(f["waits"])),
             "avg_service_s": max(0.0, mean(f["services"])), "no_show": f["no_show"]}
            for name, f in sorted(by_field.items())]}

    # ------------------------------------------------------------------ issuing

    def issue(self, service: str, priority: str, source: str | None, now: datetime,
              dossier: str | None = None, person: str | None = None,
              age_bracket: str | None = None, appointment: str | None = None,
              slot_at: datetime | None = None) -> tuple[dict[str, Any], Effects]:
        svc = self.cfg.service(service)
        if svc is None:
            raise EngineError("unknown_service", t("Không có dịch vụ mã {code}.", code=service))
        is_open, why = self.service_open(svc, now)
        if not is_open:
            raise EngineError("service_closed", why)
        day = self.day_of(now)
        issued = self.conn.execute("SELECT COUNT(*), MAX(seq) FROM tickets WHERE day = ? AND original_service = ?",
                                   (day, svc.code)).fetchone()
        count, last_seq = issued[0], issued[1] or 0
        seq = last_seq + 1
        n = svc.number_start + seq - 1
        if (svc.daily_quota is not None and count >= svc.daily_quota) or n > svc.number_end:
            raise EngineError("quota_reached", t("Dịch vụ {service} đã hết số thứ tự hôm nay.", service=svc.name))
        cap = self.cfg.office.tickets_per_person
        if person and cap is not None:
            had = self.conn.execute("SELECT COUNT(*) FROM tickets WHERE day = ? AND person = ?",
                                    (day, person)).fetchone()[0]
            if had >= cap:
                raise EngineError("rate_limited", t("Mỗi người chỉ được lấy tối đa {cap} số thứ tự mỗi ngày.", cap=cap))
        number = svc.format_number(n)
        ticket_id = f"{day.replace('-', '')}-{svc.code}-{seq:04d}"
        issued_at = P.rfc3339(now)
        self.conn.execute(
            "INSERT INTO tickets(ticket_id, day, service, original_service, seq, number, priority, status, "
            "issued_at, sort_key, source, calls, dossier, person, age_bracket, appointment, slot_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
            (ticket_id, day, svc.code, svc.code, seq, number, priority,
             "booked" if slot_at is not None and slot_at > now else "waiting", issued_at,
             now.isoformat(timespec="microseconds"), source, dossier, person, age_bracket, appointment,
             P.rfc3339(slot_at) if slot_at is not None else None))
        ticket = self.ticket_payload(self._ticket(ticket_id))
        fx = Effects()
        fx.event("issued", ticket, None)
        if slot_at is not None:  # a booking is called at its slot, ahead of walk-ins: nobody is ahead
            return {"ticket": ticket, "waiting_ahead": 0,
                    "estimated_wait_s": max(0, int((slot_at - now).total_seconds()))}, fx
        ahead = self.waiting_ahead(svc, ticket_id, priority, day)
        return {"ticket": ticket, "waiting_ahead": ahead,
                "estimated_wait_s": self.estimate_wait(svc, ahead, day)}, fx

    def _since_priority(self, day: str, service: str) -> int:
        row = self.conn.execute("SELECT since_priority FROM service_state WHERE day = ? AND service = ?",
                                (day, service)).fetchone()
        return row[0] if row else 0

    def _set_since_priority(self, day: str, service: str, value: int) -> None:
        self.conn.execute("INSERT INTO service_state(day, service, since_priority) VALUES (?, ?, ?) "
                          "ON CONFLICT(day, service) DO UPDATE SET since_priority = excluded.since_priority",
                          (day, service, value))

    def waiting_ahead(self, svc: Service, ticket_id: str, priority: str, day: str) -> int:
        """Tickets called before the newly issued `ticket_id` if no new priority ticket arrives
        (docs/queue.md). The new ticket is the newest, so only a priority ticket
        needs more than a count: under interleave the service's queue is played out, and an
        open priority counter serving the service puts it behind older priority tickets only."""
        count = lambda extra: self.conn.execute(  # noqa: E731
            "SELECT COUNT(*) FROM tickets WHERE day = ? AND service = ? AND status = 'waiting' "
            "AND ticket_id != ?" + extra, (day, svc.code, ticket_id)).fetchone()[0]
        pol = svc.priority
        if priority == "none" or pol.policy == "none":
            return count("")  # every older ticket, priority or not, goes first
        if pol.policy == "strict":
            ahead = count(" AND priority != 'none'")
        else:
            ahead = self._interleave_ahead(svc, ticket_id, day)
        for c in self.cfg.counters_for(svc.code):
            if c.priority and self._counter_row(c.number)["status"] != "closed":
                ahead = min(ahead, self._priority_waiting(c, day, exclude=ticket_id))
        return ahead

    def _interleave_ahead(self, svc: Service, ticket_id: str, day: str) -> int:
        """Position of `ticket_id` when the service's counters call its queue by `_pick_in_service`."""
        rows = self.conn.execute(
            "SELECT ticket_id, priority FROM tickets WHERE day = ? AND service = ? AND status = 'waiting' "
            "ORDER BY sort_key, rowid", (day, svc.code)).fetchall()
        ordinary = [r["ticket_id"] for r in rows if r["priority"] == "none"]
        prio = [r["ticket_id"] for r in rows if r["priority"] != "none"]
        pos = {r["ticket_id"]: i for i, r in enumerate(rows)}
        since, n, o, p = self._since_priority(day, svc.code), 0, 0, 0
        every = svc.priority.every
        while o < len(ordinary) or p < len(prio):
            take_prio = p < len(prio) and (o >= len(ordinary) or since >= every
                                           or pos[prio[p]] < pos[ordinary[o]])
            if take_prio:
                picked, p, since = prio[p], p + 1, 0
            else:
                picked, o, since = ordinary[o], o + 1, since + 1
            if picked == ticket_id:
                return n
            n += 1
        return n

    @staticmethod
    def _priority_first(counter: Counter, day: str) -> tuple[str, tuple]:
        """The tickets a priority counter calls first: waiting priority tickets of its services."""
        marks = ",".join("?" * len(counter.services))
        return (f"FROM tickets WHERE day = ? AND service IN ({marks}) AND status = 'waiting' "
                "AND reserved_counter IS NULL AND priority != 'none'", (day, *counter.services))

    def _priority_waiting(self, counter: Counter, day: str, exclude: str | None = None) -> int:
        where, args = self._priority_first(counter, day)
        return self.conn.execute(f"SELECT COUNT(*) {where} AND ticket_id != ?", (*args, exclude or "")).fetchone()[0]

    def estimate_wait(self, svc: Service, ahead: int, day: str) -> int | None:
        """Seconds until a ticket with `ahead` tickets before it is called; None with no counter open."""
        open_counters = [c for c in self.cfg.counters_for(svc.code)
                         if self._counter_row(c.number)["status"] == "open"]
        if not open_counters:
            return None
        rows = self.conn.execute(
            "SELECT called_at, finished_at FROM tickets WHERE day = ? AND service = ? AND status = 'done' "
            "AND called_at IS NOT NULL AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
            (day, svc.code, RECENT_SERVICE_TIMES)).fetchall()
        durations = [(datetime.fromisoformat(r[1]) - datetime.fromisoformat(r[0])).total_seconds() for r in rows]
        durations = [d for d in durations if d > 0]
        mean = sum(durations) / len(durations) if durations else float(svc.default_service_s)
        return int(math.ceil(ahead * mean / len(open_counters)))

    # ------------------------------------------------------------------ calling

    def _pick(self, counter: Counter, day: str) -> sqlite3.Row | None:
        best: sqlite3.Row | None = self._pick_priority(counter, day) if counter.priority else None
        for code in counter.services if best is None else ():
            best = self._pick_in_service(code, counter.number, day)
            if best is not None:
                break
        reserved = self.conn.execute(
            "SELECT * FROM tickets WHERE day = ? AND status = 'waiting' AND reserved_counter = ? "
            "ORDER BY sort_key, rowid LIMIT 1", (day, counter.number)).fetchone()
        if reserved is not None and (best is None or reserved["sort_key"] <= best["sort_key"]):
            return reserved
        return best

    def _pick_booking(self, counter: Counter, day: str, now: datetime | None) -> sqlite3.Row | None:
        """A booked ticket whose slot has come, earliest slot first: called ahead of walk-ins.

        Booked tickets wait as ``booked`` (not ``waiting``) until their slot, so no other rule
        sees them; with ``now`` None (nobody else waits) the earliest is called early.
        """
        marks = ",".join("?" * len(counter.services))
        cond = "status IN ('waiting', 'booked')" if now is None else "status = 'waiting'"
        if now is not None:
            self.conn.execute(f"UPDATE tickets SET status = 'waiting' WHERE day = ? AND status = 'booked' "
                              f"AND slot_at <= ? AND service IN ({marks})", (day, P.rfc3339(now), *counter.services))
        return self.conn.execute(
            f"SELECT * FROM tickets WHERE day = ? AND {cond} AND slot_at IS NOT NULL AND reserved_counter IS NULL "
            f"AND service IN ({marks}) ORDER BY slot_at, sort_key LIMIT 1", (day, *counter.services)).fetchone()

    def _pick_priority(self, counter: Counter, day: str) -> sqlite3.Row | None:
        """A priority counter's first choice: the oldest waiting priority ticket of its services."""
        where, args = self._priority_first(counter, day)
        return self.conn.execute(f"SELECT * {where} ORDER BY sort_key, rowid LIMIT 1", args).fetchone()

    def _pick_in_service(self, code: str, counter_no: int, day: str) -> sqlite3.Row | None:
        svc = self.cfg.service(code)
        if svc is None:
            return None
        base = ("SELECT * FROM tickets WHERE day = ? AND service = ? AND status = 'waiting' "
                "AND reserved_counter IS NULL AND priority {} 'none' ORDER BY sort_key, rowid LIMIT 1")
        ordinary = self.conn.execute(base.format("="), (day, code)).fetchone()
        prio = self.conn.execute(base.format("!="), (day, code)).fetchone()
        pol = svc.priority
        if pol.policy == "none":
            cands = [r for r in (ordinary, prio) if r is not None]
            return min(cands, key=lambda r: r["sort_key"]) if cands else None
        if pol.policy == "strict":
            return prio or ordinary
        since = self._since_priority(day, code)
        if prio is not None and (ordinary is None or since >= pol.every or prio["sort_key"] <= ordinary["sort_key"]):
            return prio
        return ordinary

    def _note_pick(self, row: sqlite3.Row, day: str) -> None:
        svc = self.cfg.service(row["service"])
        if svc is None or svc.priority.policy != "interleave" or row["reserved_counter"] is not None:
            return
        since = 0 if row["priority"] != "none" else self._since_priority(day, svc.code) + 1
        self._set_since_priority(day, svc.code, since)

    def _call(self, row: sqlite3.Row, counter: Counter, staff: str | None, now: datetime,
              fx: Effects, login: str | None = None) -> dict[str, Any]:
        ts = P.rfc3339(now)
        self.conn.execute(
            "UPDATE tickets SET status = 'called', counter = ?, reserved_counter = NULL, called_at = ?, "
            "staff = ?, staff_login = ?, ended_by = NULL, calls = calls + 1 WHERE ticket_id = ?",
            (counter.number, ts, staff, login, row["ticket_id"]))
        self.conn.execute("UPDATE counters SET serving = ?, updated_at = ? WHERE number = ?",
                          (row["ticket_id"], ts, counter.number))
        self.conn.execute("INSERT INTO calls(ticket_id, number, counter, ts, kind, staff_login) "
                          "VALUES (?, ?, ?, ?, 'call', ?)", (row["ticket_id"], row["number"], counter.number, ts, login))
        ticket = self.ticket_payload(self._ticket(row["ticket_id"]))
        fx.event("called", ticket, counter.number)
        fx.counters.add(counter.number)
        return ticket

    def _end_serving(self, crow: sqlite3.Row, status: str, now: datetime, fx: Effects,
                     by: str | None = None) -> dict[str, Any] | None:
        """Finish the ticket being served at a counter with `status` (done / no_show), by clerk `by`."""
        tid = crow["serving"]
        if not tid:
            return None
        ts = P.rfc3339(now)
        self.conn.execute("UPDATE tickets SET status = ?, finished_at = ?, ended_by = ? "
                          "WHERE ticket_id = ? AND status = 'called'", (status, ts, by, tid))
        self.conn.execute("UPDATE counters SET serving = NULL, updated_at = ? WHERE number = ?", (ts, crow["number"]))
        ticket = self.ticket_payload(self._ticket(tid))
        fx.event(status, ticket, crow["number"])
        fx.counters.add(crow["number"])
        return ticket

    def command(self, number: int, req: P.CounterCommand, now: datetime) -> tuple[dict[str, Any], Effects]:
        counter = self.cfg.counter(number)
        if counter is None:
            raise EngineError("unknown_counter", t("Không có quầy số {number}.", number=number))
        fx = Effects()
        crow = self._counter_row(number)
        action = req.action
        ts = P.rfc3339(now)
        day = self.day_of(now)
        if crow["status"] == "closed" and action != "open":
            raise EngineError("counter_closed", t("{counter} đang đóng. Hãy mở quầy trước.", counter=counter.label))
        ticket: dict[str, Any] | None = None
        if action == "open":
            login, name = self.attribution.opener(req, counter)
            if login is None and name is None:  # v1 `open` without a clerk keeps who was there
                login, name = crow["staff_login"], crow["staff"]
            self.conn.execute("UPDATE counters SET status = 'open', staff = ?, staff_login = ?, reason = NULL, "
                              "updated_at = ?, opened_at = ? WHERE number = ?", (name, login, ts, ts, number))
            self._sign_in(number, day, login, name, ts)
            fx.queue = True
            by, staff = login, name
        else:
            by, staff = self.attribution.actor(req, counter, crow["staff_login"], crow["staff"])
        if action == "close":
            self._end_serving(crow, "done", now, fx, by)
            self.conn.execute("UPDATE counters SET status = 'closed', staff = NULL, staff_login = NULL, "
                              "reason = NULL, updated_at = ? WHERE number = ?", (ts, number))
            self.conn.execute("UPDATE counter_sessions SET closed_at = ?, closed_by = ? "
                              "WHERE counter = ? AND closed_at IS NULL", (ts, by, number))
            fx.queue = True
        elif action == "pause":
            self.conn.execute("UPDATE counters SET status = 'paused', reason = ?, updated_at = ? WHERE number = ?",
                              (req.reason, ts, number))
            fx.queue = True
        elif action == "resume":
            self.conn.execute("UPDATE counters SET status = 'open', reason = NULL, updated_at = ? WHERE number = ?",
                              (ts, number))
            fx.queue = True
        elif action == "next":
            if crow["status"] == "paused":  # the clerk is back: Next resumes the counter
                self.conn.execute("UPDATE counters SET status = 'open', reason = NULL WHERE number = ?", (number,))
            self._end_serving(crow, "done", now, fx, by)
            row = self._pick_booking(counter, day, now) or self._pick(counter, day) \
                or self._pick_booking(counter, day, None)
            if row is not None:
                self._note_pick(row, day)
                ticket = self._call(row, counter, staff, now, fx, by)
        elif action in ("recall", "skip", "finish", "transfer"):
            serving = self._ticket(crow["serving"])
            if serving is None:
                raise EngineError("not_serving", t("{counter} chưa gọi số nào.", counter=counter.label))
            if action == "recall":
                self.conn.execute("UPDATE tickets SET calls = calls + 1 WHERE ticket_id = ?", (serving["ticket_id"],))
                self.conn.execute("INSERT INTO calls(ticket_id, number, counter, ts, kind) VALUES (?, ?, ?, ?, 'recall')",
                                  (serving["ticket_id"], serving["number"], number, ts))
                ticket = self.ticket_payload(serving)
                fx.event("recalled", ticket, number)
            elif action == "skip":
                ticket = self._end_serving(crow, "no_show", now, fx, by)
            elif action == "finish":
                ticket = self._end_serving(crow, "done", now, fx, by)
            else:
                ticket = self._transfer(counter, serving, req, now, fx, by)
        elif action == "call":
            if req.number is None:
                raise EngineError("bad_request", t("Thiếu số thứ tự cần gọi."))
            row = self.conn.execute("SELECT * FROM tickets WHERE day = ? AND number = ?", (day, req.number)).fetchone()
            if row is None or row["status"] not in ("waiting", "no_show", "booked"):  # booked: the clerk may call it early
                raise EngineError("not_found", t("Không có số {number} đang chờ hôm nay.", number=req.number))
            if crow["status"] == "paused":
                self.conn.execute("UPDATE counters SET status = 'open', reason = NULL WHERE number = ?", (number,))
            self._end_serving(crow, "done", now, fx, by)
            ticket = self._call(row, counter, staff, now, fx, by)
        fx.counters.add(number)
        return {"counter": self.counter_payload(number, now), "ticket": ticket}, fx

    def _sign_in(self, number: int, day: str, login: str | None, name: str | None, ts: str) -> None:
        """A new session row when the clerk at the counter changes (re-opening by the same clerk is one session)."""
        cur = self.conn.execute("SELECT id, staff_login, staff FROM counter_sessions WHERE counter = ? "
                                "AND closed_at IS NULL ORDER BY id DESC LIMIT 1", (number,)).fetchone()
        if cur is not None and (cur["staff_login"], cur["staff"]) == (login, name):
            return
        if cur is not None:
            self.conn.execute("UPDATE counter_sessions SET closed_at = ?, closed_by = ? WHERE id = ?",
                              (ts, login, cur["id"]))
        self.conn.execute("INSERT INTO counter_sessions(day, counter, staff_login, staff, opened_at) "
                          "VALUES (?, ?, ?, ?, ?)", (day, number, login, name, ts))

    def _transfer(self, counter: Counter, serving: sqlite3.Row, req: P.CounterCommand, now: datetime,
                  fx: Effects, by: str | None = None) -> dict[str, Any]:
        if req.service is None and req.to_counter is None:
            raise EngineError("bad_request", t("Cần chọn dịch vụ hoặc quầy để chuyển."))
        service = serving["service"]
        if req.service is not None:
            if self.cfg.service(req.service) is None:
                raise EngineError("unknown_service", t("Không có dịch vụ mã {code}.", code=req.service))
            service = req.service
            target = self.cfg.service(service)
            if target is not None and not target.enabled:
                raise EngineError("service_closed", t("Dịch vụ {service} đang tạm ngừng.", service=target.name))
        if req.to_counter is not None:
            other = self.cfg.counter(req.to_counter)
            if other is None:
                raise EngineError("unknown_counter", t("Không có quầy số {number}.", number=req.to_counter))
            if self._counter_row(other.number)["status"] == "closed":
                raise EngineError("counter_closed", t("{counter} đang đóng, không thể chuyển số đến đó.", counter=other.label))
        ts = P.rfc3339(now)
        if req.to_counter is not None and req.to_counter == counter.number:
            raise EngineError("bad_request", t("Không thể chuyển số về chính quầy đang phục vụ."))
        self.conn.execute(
            "UPDATE tickets SET status = 'waiting', service = ?, counter = NULL, reserved_counter = ?, "
            "transferred_by = ? WHERE ticket_id = ?", (service, req.to_counter, by, serving["ticket_id"]))
        self.conn.execute("UPDATE counters SET serving = NULL, updated_at = ? WHERE number = ?", (ts, counter.number))
        ticket = self.ticket_payload(self._ticket(serving["ticket_id"]))
        fx.event("transferred", ticket, counter.number)
        fx.counters.add(counter.number)
        return ticket

    def cancel(self, ticket_id: str, now: datetime) -> tuple[dict[str, Any], Effects]:
        row = self._ticket(ticket_id)
        if row is None or row["status"] not in ("waiting", "called", "no_show", "booked"):
            raise EngineError("not_found", t("Không có vé {ticket} để hủy.", ticket=ticket_id))
        fx = Effects()
        self.conn.execute("UPDATE tickets SET status = 'cancelled', finished_at = ? WHERE ticket_id = ?",
                          (P.rfc3339(now), ticket_id))
        if row["status"] == "called" and row["counter"] is not None:
            self.conn.execute("UPDATE counters SET serving = NULL WHERE number = ? AND serving = ?",
                              (row["counter"], ticket_id))
            fx.counters.add(row["counter"])
        ticket = self.ticket_payload(self._ticket(ticket_id))
        fx.event("cancelled", ticket, row["counter"])
        return {"ticket": ticket}, fx

    # ------------------------------------------------------------------ snapshots

    def queue_state(self, now: datetime) -> dict[str, Any]:
        day = self.day_of(now)
        services = []
        for svc in self.cfg.services:
            waiting = self.conn.execute(
                "SELECT COUNT(*) FROM tickets WHERE day = ? AND service = ? AND status = 'waiting'",
                (day, svc.code)).fetchone()[0]
            last_issued = self.conn.execute(
                "SELECT number FROM tickets WHERE day = ? AND original_service = ? ORDER BY seq DESC LIMIT 1",
                (day, svc.code)).fetchone()
            last_called = self.conn.execute(
                "SELECT number FROM tickets WHERE day = ? AND service = ? AND called_at IS NOT NULL "
                "ORDER BY called_at DESC, rowid DESC LIMIT 1", (day, svc.code)).fetchone()
            services.append({
                "code": svc.code, "name": svc.name, "open": self.service_open(svc, now)[0],
                "waiting": waiting, "last_issued": last_issued[0] if last_issued else None,
                "last_called": last_called[0] if last_called else None,
                "estimated_wait_s": self.estimate_wait(svc, waiting, day),
            })
        recent = self.conn.execute(
            "SELECT number, counter, ts FROM calls WHERE ts >= ? ORDER BY id DESC LIMIT 10", (day,)).fetchall()
        calls = []
        for r in recent:
            c = self.cfg.counter(r["counter"])
            calls.append({"number": r["number"], "counter": r["counter"],
                          "counter_name": c.label if c else t("Quầy {number}", number=r["counter"]), "ts": r["ts"]})
        return {"day": day, "services": services, "recent_calls": calls, "ts": P.rfc3339(now)}

    def waiting_list(self, now: datetime, services: list[str] | None, limit: int) -> dict[str, Any]:
        """Today's `waiting` and `no_show` tickets, oldest first (the web console's waiting list)."""
        day = self.day_of(now)
        rows = self.conn.execute(
            "SELECT * FROM tickets WHERE day = ? AND status IN ('waiting', 'no_show') ORDER BY sort_key, rowid",
            (day,)).fetchall()
        if services:
            rows = [r for r in rows if r["service"] in services]
        tickets = [self.ticket_payload(r) for r in rows[:limit]]
        return {"day": day, "tickets": tickets, "total": len(rows), "staff_day": self.staff_day(day)}

    def staff_day(self, day: str) -> list[dict[str, Any]]:
        """Per signed-in clerk today: tickets they finished, marked absent, and their service seconds."""
        rows = self.conn.execute(
            "SELECT t.ended_by AS login, t.status, t.called_at, t.finished_at, "
            "(SELECT s.staff FROM counter_sessions s WHERE s.staff_login = t.ended_by ORDER BY s.id DESC LIMIT 1) AS name "
            "FROM tickets t WHERE t.day = ? AND t.ended_by IS NOT NULL AND t.status IN ('done', 'no_show')",
            (day,)).fetchall()
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            d = out.setdefault(r["login"], {"login": r["login"], "name": r["name"], "served": 0, "no_show": 0,
                                            "service_s": 0.0})
            if r["status"] == "done":
                d["served"] += 1
                if r["called_at"] and r["finished_at"]:
                    d["service_s"] += max(0.0, (datetime.fromisoformat(r["finished_at"])
                                                - datetime.fromisoformat(r["called_at"])).total_seconds())
            else:
                d["no_show"] += 1
        return sorted(out.values(), key=lambda d: d["login"])
