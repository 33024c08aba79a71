"""Satisfaction ratings: their table in the engine's SQLite and the rating/submit handler.

One rating per ticket (PROTOCOL.md): a later rating of the same ticket replaces the first
and keeps its `rating_id` (stable per ticket, so the hub's upstream push is an upsert),
bumping `revision`, at most MAX_REVISIONS times (each unsatisfied one starts a camera clip).
Only a ticket finished (`done`) at the rating's counter can be rated; the engine checks
that a tablet rates only its own counter. The row copies the ticket's counter, clerk and service at the time
of rating, so reports never depend on a ticket row changing later.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime
from typing import Any

from edge.engine.errors import EngineError
from edge.i18n import t
from edge.limits import clean_text
from edge.protocol import RatingEvent, RatingRequest, rfc3339

log = logging.getLogger(__name__)

#: Statements separated by ';' (the engine's store runs them one by one); no ';' in comments.
SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    rating_id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL UNIQUE,
    number TEXT NOT NULL,
    day TEXT NOT NULL,
    counter INTEGER NOT NULL,
    staff TEXT,
    service TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('very_satisfied', 'satisfied', 'unsatisfied')),
    reasons TEXT NOT NULL DEFAULT '[]',
    comment TEXT,
    submitted_at TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    request_id TEXT
);
CREATE INDEX IF NOT EXISTS ratings_day ON ratings(day, counter);
CREATE INDEX IF NOT EXISTS ratings_request ON ratings(request_id)
"""

#: Ticket statuses that can be rated: served and finished (a visit not over is not rated).
RATEABLE = ("done",)
MAX_REASON = 100
#: A rating and at most two changes of mind.
MAX_REVISIONS = 3


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the ratings table if missing (for tools that open a database on their own)."""
    for stmt in [s for s in SCHEMA.split(";") if s.strip()]:
        conn.execute(stmt)


def rating_id_for(ticket_id: str) -> str:
    """Stable id of the rating of one ticket."""
    return f"R-{ticket_id}"


def _clean_reasons(reasons: list[str]) -> list[str]:
    out: list[str] = []
    for r in reasons:
        text = clean_text(r, MAX_REASON * 4, newlines=False).strip()
        if not text:
            continue
        if len(text) > MAX_REASON:
            raise EngineError("bad_request", t("Lý do quá dài (tối đa {n} ký tự).", n=MAX_REASON))
        if text not in out:
            out.append(text)
    return out


def _find_ticket(conn: sqlite3.Connection, req: RatingRequest, now: datetime) -> sqlite3.Row:
    if req.ticket_id:
        row = conn.execute("SELECT * FROM tickets WHERE ticket_id = ?", (req.ticket_id,)).fetchone()
        if row is None:
            raise EngineError("not_found", t("Không tìm thấy phiếu cần đánh giá."))
        if row["status"] not in RATEABLE:
            raise EngineError("bad_request", t("Phiếu này chưa được phục vụ xong nên chưa thể đánh giá."))
        if row["counter"] != req.counter:
            raise EngineError("bad_request", t("Phiếu này không được phục vụ tại quầy {counter}.", counter=req.counter))
        return row
    row = conn.execute(
        "SELECT * FROM tickets WHERE counter = ? AND day = ? AND status = 'done' "
        "AND finished_at IS NOT NULL ORDER BY finished_at DESC, called_at DESC LIMIT 1",
        (req.counter, now.date().isoformat())).fetchone()
    if row is None:
        raise EngineError("not_found", t("Quầy {counter} chưa phục vụ phiếu nào hôm nay.", counter=req.counter))
    return row


def submit(conn: sqlite3.Connection, req: RatingRequest, now: datetime,
           request_key: str | None = None) -> dict[str, Any]:
    """Store one rating inside the caller's transaction; returns the reply fields.

    `request_key` identifies the request (the engine's requester-qualified key; the bare id
    by default), so another tablet's id never counts as this one's retry.

    Raises EngineError (bad_request, not_found) for a rating that cannot be stored.
    """
    reasons = _clean_reasons(req.reasons)
    if req.level == "unsatisfied" and not reasons:
        raise EngineError("bad_request", t("Vui lòng chọn ít nhất một lý do không hài lòng."))
    comment = clean_text(req.comment, 500).strip() or None if req.comment else None
    key = request_key or req.id
    same = conn.execute("SELECT rating_id FROM ratings WHERE request_id = ?", (key,)).fetchone()
    if same is not None:  # a retry that missed the engine's reply cache: no second effect
        return {"rating_id": same["rating_id"]}
    ticket = _find_ticket(conn, req, now)
    rid = rating_id_for(ticket["ticket_id"])
    prev = conn.execute("SELECT revision FROM ratings WHERE rating_id = ?", (rid,)).fetchone()
    if prev is not None and prev["revision"] >= MAX_REVISIONS:
        raise EngineError("bad_request", t("Phiếu này đã được đánh giá; không thể đổi thêm."))
    conn.execute(
        "INSERT INTO ratings(rating_id, ticket_id, number, day, counter, staff, service, level, "
        "reasons, comment, submitted_at, revision, request_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) "
        "ON CONFLICT(ticket_id) DO UPDATE SET level = excluded.level, reasons = excluded.reasons, "
        "comment = excluded.comment, submitted_at = excluded.submitted_at, "
        "counter = excluded.counter, staff = excluded.staff, "
        "revision = ratings.revision + 1, request_id = excluded.request_id",
        (rid, ticket["ticket_id"], ticket["number"], ticket["day"], req.counter, ticket["staff"],
         ticket["service"], req.level, json.dumps(reasons, ensure_ascii=False), comment,
         rfc3339(now), key))
    log.info("rating %s of ticket %s at counter %d: %s", rid, ticket["number"], req.counter, req.level)
    return {"rating_id": rid}


def event(conn: sqlite3.Connection, rating_id: str, now: datetime) -> RatingEvent:
    """The stored rating as published on `Topics.event("rating")` (the hub pushes it upstream)."""
    row = conn.execute("SELECT * FROM ratings WHERE rating_id = ?", (rating_id,)).fetchone()
    if row is None:
        raise EngineError("not_found")
    return RatingEvent(
        rating_id=row["rating_id"], ticket_id=row["ticket_id"], number=row["number"], day=row["day"],
        counter=row["counter"], staff=row["staff"], service=row["service"], level=row["level"],
        reasons=json.loads(row["reasons"]), comment=row["comment"],
        submitted_at=row["submitted_at"], revision=row["revision"], ts=rfc3339(now),
        dossier=_dossier(conn, row["ticket_id"]))


def _dossier(conn: sqlite3.Connection, ticket_id: str) -> str | None:
    """The dossier the rated ticket was issued for (issue 16), so upstream can key the rating on it."""
    row = conn.execute("SELECT dossier FROM tickets WHERE ticket_id = ?", (ticket_id,)).fetchone()
    return row[0] if row is not None else None
