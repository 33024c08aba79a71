"""Each day's dossier figures per field, kept in the hub's file for reports of any period.

The cache holds every dossier of the office with its dates, so a day's figures are exact
from it: received (``NgayTiepNhan`` that day, split by ``HinhThucNop`` where upstream says:
online, at the counter, by post), finished (``NgayKetThucXuLy`` that day; on time when not
after ``NgayHenTra``, late when after it), returned (``NgayTra`` that day), and asked for
more documents (entered status 5 that day, from the status history as the hub saw it).
Each page's transaction marks the days it touched (``dossier_days_dirty``), and the end of
every sync run rewrites those days at once (``refresh_dirty``), so an initial sync of
100,000 dossiers recomputes each day once, not once a page; a crash in between leaves the
marks for the next run. ``read`` sums a period.
"""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Iterable

#: Column order of ``dossier_days`` after (day, field), and of ``read``'s rows.
FIGURES = ("received", "online", "counter", "post", "finished", "on_time", "late", "returned", "asked_documents")
NO_FIELD = "—"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS dossier_days (
    day TEXT NOT NULL,            -- yyyyMMdd, office time
    field TEXT NOT NULL,          -- TenLinhVuc, or {NO_FIELD!r}
    {", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in FIGURES)},
    PRIMARY KEY (day, field)
);
CREATE TABLE IF NOT EXISTS dossier_days_dirty (day TEXT PRIMARY KEY);   -- to recompute
CREATE INDEX IF NOT EXISTS dossier_history_asked ON dossier_history(status, updated);
"""

_FIELD = f"coalesce(d.field, '{NO_FIELD}')"
_DAYS = "(SELECT day FROM dossier_days_dirty)"
# one pass over the cache per figure for all the days to recompute (no index to keep up on
# every upsert: a scan of 100,000 rows costs tens of milliseconds once a sync run)
_QUERIES = {
    "received": f"SELECT substr(d.received, 1, 8), {_FIELD}, count(*), sum(d.channel = 'online'), "
                "sum(d.channel = 'counter'), sum(d.channel = 'post') FROM dossiers d "
                f"WHERE substr(d.received, 1, 8) IN {_DAYS} GROUP BY 1, 2",
    "finished": f"SELECT substr(d.finished, 1, 8), {_FIELD}, count(*), sum(d.due IS NULL OR d.finished <= d.due), "
                "sum(d.due IS NOT NULL AND d.finished > d.due) FROM dossiers d "
                f"WHERE substr(d.finished, 1, 8) IN {_DAYS} GROUP BY 1, 2",
    "returned": f"SELECT substr(d.returned, 1, 8), {_FIELD}, count(*) FROM dossiers d "
                f"WHERE substr(d.returned, 1, 8) IN {_DAYS} GROUP BY 1, 2",
    "asked": f"SELECT substr(h.updated, 1, 8), {_FIELD}, count(DISTINCT h.code) FROM dossier_history h "
             "JOIN dossiers d ON d.code = h.code "
             f"WHERE h.status = 5 AND substr(h.updated, 1, 8) IN {_DAYS} GROUP BY 1, 2",
}


def days_of(*stamps: str | None) -> set[str]:
    """The yyyyMMdd days of some yyyyMMddHHmmss stamps (None and the epoch left out)."""
    return {s[:8] for s in stamps if s and s[:8] != "00000000"}


def refresh(conn: sqlite3.Connection, days: Iterable[str]) -> None:
    """Recompute the rows of ``days`` from the cache (call inside the writer's transaction)."""
    mark(conn, days)
    refresh_dirty(conn)


def mark(conn: sqlite3.Connection, days: Iterable[str]) -> None:
    """Note days whose figures changed (inside the writer's transaction)."""
    conn.executemany("INSERT OR IGNORE INTO dossier_days_dirty(day) VALUES (?)", [(d,) for d in days])


def refresh_dirty(conn: sqlite3.Connection) -> int:
    """Recompute every marked day and clear the marks (inside the writer's transaction)."""
    n = conn.execute("SELECT count(*) FROM dossier_days_dirty").fetchone()[0]
    if not n:
        return 0
    rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(FIGURES))
    for day, f, count, online, counter, post in conn.execute(_QUERIES["received"]):
        rows[day, f][0:4] = [count, online or 0, counter or 0, post or 0]
    for day, f, count, on_time, late in conn.execute(_QUERIES["finished"]):
        rows[day, f][4:7] = [count, on_time or 0, late or 0]
    for day, f, count in conn.execute(_QUERIES["returned"]):
        rows[day, f][7] = count
    for day, f, count in conn.execute(_QUERIES["asked"]):
        rows[day, f][8] = count
    conn.execute(f"DELETE FROM dossier_days WHERE day IN {_DAYS}")
    conn.executemany(f"INSERT INTO dossier_days (day, field, {', '.join(FIGURES)}) "
                     f"VALUES (?, ?, {', '.join('?' * len(FIGURES))})",
                     [(day, f, *v) for (day, f), v in rows.items()])
    conn.execute("DELETE FROM dossier_days_dirty")
    return n


def _sums(conn: sqlite3.Connection, key: str, start: str, end: str) -> dict[str, dict[str, int]]:
    sums = ", ".join(f"sum({c})" for c in FIGURES)
    rows = conn.execute(f"SELECT {key}, {sums} FROM dossier_days WHERE day BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
                        (start, end))
    return {k: dict(zip(FIGURES, (v or 0 for v in vals))) for k, *vals in rows}


def read(conn: sqlite3.Connection, start: str, end: str) -> dict[str, dict[str, int]]:
    """field -> figure -> total over the days ``start``..``end`` (yyyyMMdd, inclusive)."""
    return _sums(conn, "field", start, end)


def read_months(conn: sqlite3.Connection, start: str, end: str) -> dict[str, dict[str, int]]:
    """yyyyMM -> figure -> total, all fields together, for the months of a long period."""
    return _sums(conn, "substr(day, 1, 6)", start, end)
