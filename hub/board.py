"""What the dossier status board shows, computed from the hub's cache (published retained on
``Topics.dossier_board``): results ready for pickup, dossiers waiting for documents, today's counts.

``board_snapshot(conn, now, tz, stale=False) -> DossierBoard`` is pure apart from reading
``conn`` (a connection to the hub's SQLite file), so the board's tests can call it directly.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo

from edge.protocol import MAX_PAYLOAD, BoardCounts, BoardDossier, DossierBoard, dumps, rfc3339
from hub.dossier import STATUS_TEXT, Record, TS_FORMAT, iso

LIST_MAX = 100
_COLS = Record.SELECT


def _line(r: Record, now: datetime, tz: tzinfo) -> BoardDossier:
    return BoardDossier(code=r.code, procedure=r.procedure, applicant=r.applicant, status=r.status,
                        status_text=STATUS_TEXT[r.status], due_at=iso(r.due, tz), finished_at=iso(r.finished, tz),
                        overdue=r.overdue(now, tz))


def board_snapshot(conn: sqlite3.Connection, now: datetime, tz: tzinfo, stale: bool = False) -> DossierBoard:
    """The board payload for ``now``; lists trimmed so the payload stays under 64 KiB."""
    day = now.astimezone(tz).strftime("%Y%m%d")
    now_s = now.astimezone(tz).strftime(TS_FORMAT)

    def rows(status: int, order: str) -> tuple[list[BoardDossier], int]:
        total = conn.execute("SELECT count(*) FROM dossiers WHERE status=?", (status,)).fetchone()[0]
        got = conn.execute(f"SELECT {_COLS} FROM dossiers WHERE status=? ORDER BY {order} LIMIT ?",
                           (status, LIST_MAX)).fetchall()
        return [_line(Record.from_row(r), now, tz) for r in got], total

    ready, ready_total = rows(9, "coalesce(finished, updated) DESC, code")
    waiting, waiting_total = rows(5, "updated DESC, code")
    c = conn.execute(
        "SELECT sum(received LIKE ?1), sum(finished LIKE ?1 AND status IN (9, 10)), sum(returned LIKE ?1), "
        "sum(status NOT IN (3, 5, 7, 8, 9, 10) AND due IS NOT NULL AND due < ?2) FROM dossiers",
        (day + "%", now_s)).fetchone()
    board = DossierBoard(day=now.astimezone(tz).date().isoformat(), ready=ready, ready_total=ready_total,
                         needs_documents=waiting, needs_documents_total=waiting_total,
                         today=BoardCounts(received=c[0] or 0, finished=c[1] or 0, returned=c[2] or 0,
                                           overdue=c[3] or 0),
                         stale=stale, ts=rfc3339(now))
    while len(dumps(board)) > MAX_PAYLOAD - 1024 and (board.ready or board.needs_documents):
        board.ready = board.ready[: len(board.ready) * 3 // 4]
        board.needs_documents = board.needs_documents[: len(board.needs_documents) * 3 // 4]
    return board
