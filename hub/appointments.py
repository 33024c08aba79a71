"""Appointments booked on the provincial portal: synced offline, redeemed once at the kiosk.

Upstream (UPSTREAM.md, *extensions*): ``LayDanhSachLichHen`` lists bookings changed since a
time, paged like dossiers; ``CapNhatLichHen`` reports one redeemed (3) or expired (4). The
hub keeps the bookings in its own SQLite file (``DATA/hub/appointments.sqlite``), so a kiosk
redeems a booking while upstream is away; reports go through the hub's durable outbox.

Redemption (``appointment/redeem``, request ``{code}``) is decided here, once: unknown,
cancelled, already redeemed (by another request), expired or another day's booking is
refused with a plain Vietnamese message; a citizen later than ``appointment_late_min`` after
the slot (whose booking the sync thread may already have expired) becomes a walk-in
(``walk_in: true``: the kiosk gives an ordinary number, the booking is reported expired); otherwise the booking is marked redeemed and the reply gives
the service and the slot, which the kiosk sends with its issue request. A repeated request
id gets the same answer.
"""
from __future__ import annotations

import logging
import re
import sqlite3
import threading
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote_plus

from pydantic import Field

from edge.protocol import Request, error_reply, ok_reply, rfc3339
from hub.upstream import LIST_APPOINTMENTS, PUSH_APPOINTMENT, UpstreamError
from hub.worker import Worker, backoff

log = logging.getLogger(__name__)

TS = "%Y%m%d%H%M%S"
BOOKED, CANCELLED, REDEEMED, EXPIRED = 1, 2, 3, 4
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{2,63}$")
#: a redemption with no ticket after this long (the engine was down) may be made again
REISSUE_AFTER = timedelta(minutes=2)
_PARAM = re.compile(r"[?&;]\s*(?:malichhen|mlh|code)\s*=([^&#;]*)", re.IGNORECASE)

SCHEMA = """
CREATE TABLE IF NOT EXISTS appointments (
  code TEXT PRIMARY KEY, procedure TEXT, field TEXT, slot TEXT NOT NULL, minutes INTEGER,
  status INTEGER NOT NULL, updated TEXT NOT NULL, redeemed_at TEXT, redeem_id TEXT, number TEXT
);
CREATE TABLE IF NOT EXISTS appointment_state (key TEXT PRIMARY KEY, value TEXT);
"""


class RedeemRequest(Request):
    """On ``Topics.appointment_redeem``: the booking code as scanned (a URL with ``MaLichHen=``) or typed."""

    code: str = Field(min_length=1, max_length=512)


def booking_code(text: str) -> str | None:
    """The booking code in a scan or typed text, upper case; None when it cannot be one."""
    s = text.strip()
    m = _PARAM.search(s)
    if m:
        s = unquote_plus(m.group(1)).strip()
    s = re.sub(r"\s+", "", s).upper()
    return s if _CODE.match(s) else None


class AppointmentBook:
    """The bookings' SQLite file; one connection, guarded by a lock (sync thread and bus thread)."""

    def __init__(self, path: Path | str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.executescript(SCHEMA)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.conn.close()

    @property
    def cursor(self) -> str:
        row = self.conn.execute("SELECT value FROM appointment_state WHERE key = 'cursor'").fetchone()
        return row[0] if row else "00000000000000"

    def apply(self, records: list[dict[str, Any]], cursor: str) -> int:
        """Upsert a page; an older ``NgayCapNhat`` never overwrites a newer one, and a booking
        redeemed or expired here stays so whatever upstream still says."""
        n = 0
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for r in records:
                    code = booking_code(str(r.get("MaLichHen") or ""))
                    slot, updated = str(r.get("NgayHen") or ""), str(r.get("NgayCapNhat") or "")
                    try:
                        status = int(r.get("TrangThai") or BOOKED)
                        datetime.strptime(slot, TS)
                    except (TypeError, ValueError):
                        log.warning("skipping a malformed booking record %s", code)
                        continue
                    if code is None:
                        continue
                    old = self.conn.execute("SELECT status, updated FROM appointments WHERE code = ?",
                                            (code,)).fetchone()
                    if old is not None and (old["updated"] > updated or old["status"] in (REDEEMED, EXPIRED)):
                        continue
                    self.conn.execute(
                        "INSERT INTO appointments(code, procedure, field, slot, minutes, status, updated) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(code) DO UPDATE SET procedure = excluded.procedure, "
                        "field = excluded.field, slot = excluded.slot, minutes = excluded.minutes, "
                        "status = excluded.status, updated = excluded.updated",
                        (code, r.get("MaTTHC"), r.get("MaLinhVuc"), slot, int(r.get("ThoiLuong") or 0), status, updated))
                    n += 1
                self.conn.execute("INSERT INTO appointment_state(key, value) VALUES ('cursor', ?) "
                                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (cursor,))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return n

    def get(self, code: str) -> sqlite3.Row | None:
        with self.lock:
            return self.conn.execute("SELECT * FROM appointments WHERE code = ?", (code,)).fetchone()

    def count(self) -> int:
        with self.lock:
            return self.conn.execute("SELECT COUNT(*) FROM appointments").fetchone()[0]

    def mark(self, code: str, status: int, at: str, redeem_id: str | None = None,
             only_if: int = BOOKED) -> bool:
        """Move a booking from ``only_if`` to ``status``; False when someone else moved it first."""
        with self.lock:
            return self.conn.execute(
                "UPDATE appointments SET status = ?, redeemed_at = ?, redeem_id = ? WHERE code = ? AND status = ?",
                (status, at, redeem_id, code, only_if)).rowcount == 1

    def issued(self, code: str, number: str) -> None:
        """The engine issued the booking's ticket: from now on a second redemption is refused for good."""
        with self.lock:
            self.conn.execute("UPDATE appointments SET number = ? WHERE code = ?", (number, code))

    def reopen(self, code: str, before: str) -> bool:
        """A redemption that never became a ticket (the kiosk lost the engine) older than ``before``
        (RFC 3339): the booking may be redeemed again, so it is not lost."""
        with self.lock:
            return self.conn.execute(
                "UPDATE appointments SET status = ?, redeem_id = NULL WHERE code = ? AND status = ? "
                "AND number IS NULL AND redeemed_at < ?", (BOOKED, code, REDEEMED, before)).rowcount == 1

    def overdue(self, before: str) -> list[str]:
        """Booked slots that started before ``before`` (yyyyMMddHHmmss): they expire."""
        with self.lock:
            return [r[0] for r in self.conn.execute(
                "SELECT code FROM appointments WHERE status = ? AND slot < ?", (BOOKED, before))]


class Appointments(Worker):
    """Sync thread (``hub-appointments``) plus the redeem handler (bus thread)."""

    def __init__(self, book: AppointmentBook, adapter: Any, *, tz: tzinfo, now: Callable[[], datetime],
                 enqueue: Callable[[str, str, dict[str, Any]], bool], services: dict[str, str],
                 known: set[str], late_min: int, interval_s: float, page_size: int = 500,
                 timeout: float | None = None) -> None:
        self.book, self.adapter, self.tz, self.now = book, adapter, tz, now
        self.enqueue = enqueue
        self.services, self.known = services, known
        self.late = timedelta(minutes=late_min)
        self.interval_s, self.page_size, self.timeout = interval_s, page_size, timeout
        self.runs = 0
        self._failures = 0
        super().__init__("hub-appointments")

    # ------------------------------------------------------------------ sync
    def step(self) -> float:
        try:
            self.sync()
            self._failures = 0
        except UpstreamError as exc:
            self._failures += 1
            log.warning("booking sync failed: %s", exc)
            return backoff(self._failures, cap=self.interval_s)
        finally:
            self.expire()
        return self.interval_s

    def sync(self) -> int:
        """All pages changed since the cursor; the cursor stays at the last timestamp seen (not past it)."""
        since, got, page, latest = self.book.cursor, 0, 1, self.book.cursor
        while not self.stopping:
            res = self.adapter.list_since(LIST_APPOINTMENTS, since, page, self.page_size, self.timeout)
            if not res.records:
                break
            latest = max([latest, *(str(r.get("NgayCapNhat") or "") for r in res.records if isinstance(r, dict))])
            got += self.book.apply([r for r in res.records if isinstance(r, dict)], latest)
            if page * self.page_size >= res.total:
                break
            page += 1
        self.runs += 1
        return got

    def expire(self) -> list[str]:
        """Bookings whose slot passed more than the late window ago: expired, reported upstream."""
        now = self.now()
        gone = []
        for code in self.book.overdue((now - self.late).strftime(TS)):
            if self.book.mark(code, EXPIRED, rfc3339(now)):
                self._report(code, EXPIRED, now, None)
                gone.append(code)
        return gone

    # ------------------------------------------------------------------ redeem (bus thread)
    def redeem(self, req: RedeemRequest, topic: str) -> dict[str, Any]:
        code = booking_code(req.code)
        if code is None:
            return error_reply(req.id, "bad_request", "Mã vừa đọc không phải mã lịch hẹn.")
        row = self.book.get(code)
        if row is None:
            return error_reply(req.id, "not_found", f"Không tìm thấy lịch hẹn có mã {code}.")
        now = self.now()
        slot = datetime.strptime(row["slot"], TS).replace(tzinfo=self.tz)
        service = self.services.get(row["procedure"] or "") or self.services.get(row["field"] or "") or (
            row["field"] if row["field"] in self.known else None)
        if row["status"] == REDEEMED and row["redeem_id"] == req.id:
            return self._ok(req.id, code, service, slot, row["minutes"])  # a retry of this very request
        if row["status"] == REDEEMED and self.book.reopen(code, rfc3339(now - REISSUE_AFTER)):
            log.info("booking %s was redeemed but no ticket followed: redeeming it again", code)
            row = self.book.get(code)
            assert row is not None
        late = row["status"] == EXPIRED and slot.date() == now.date() and now > slot + self.late
        if row["status"] != BOOKED and not late:  # expired today for lateness: still a walk-in, below
            why = {CANCELLED: "đã được hủy", REDEEMED: "đã được dùng để lấy số", EXPIRED: "đã hết hạn"}
            return error_reply(req.id, "bad_request", f"Lịch hẹn {code} {why.get(row['status'], 'không còn hiệu lực')}.")
        if slot.date() != now.date():
            return error_reply(req.id, "bad_request",
                               f"Lịch hẹn {code} là vào ngày {slot:%d/%m/%Y}, lúc {slot:%H:%M}.")
        if service is None:
            return error_reply(req.id, "unknown_service", f"Lịch hẹn {code} là cho một dịch vụ không có tại đây.")
        if late or now > slot + self.late:
            if self.book.mark(code, EXPIRED, rfc3339(now)):
                self._report(code, EXPIRED, now, None)
            return ok_reply(req.id, walk_in=True, appointment={"code": code, "service": service,
                                                               "slot_at": rfc3339(slot)})
        if not self.book.mark(code, REDEEMED, rfc3339(now), req.id):
            return error_reply(req.id, "bad_request", f"Lịch hẹn {code} đã được dùng để lấy số.")
        log.info("booking %s redeemed for %s at %s", code, service, slot.strftime("%H:%M"))
        return self._ok(req.id, code, service, slot, row["minutes"])

    def _ok(self, req_id: str, code: str, service: str | None, slot: datetime, minutes: int | None) -> dict[str, Any]:
        return ok_reply(req_id, walk_in=False, appointment={"code": code, "service": service,
                                                            "slot_at": rfc3339(slot), "minutes": minutes})

    def on_issued(self, ticket: dict[str, Any], ts: datetime) -> None:
        """A ticket issued for a booking: report it redeemed, with the number, upstream."""
        code = ticket.get("appointment")
        if code:
            self.book.issued(str(code), str(ticket.get("number") or ""))
            self._report(str(code), REDEEMED, ts, str(ticket.get("number") or ""))

    def _report(self, code: str, status: int, at: datetime, number: str | None) -> None:
        record = {"MaLichHen": code, "TrangThai": status, "ThoiGian": at.astimezone(self.tz).strftime(TS)}
        if number:
            record["SoThuTu"] = number
        self.enqueue(PUSH_APPOINTMENT, code, record)
