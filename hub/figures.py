"""Each day's dossier figures per field, kept in the hub's file for reports of any period.

The cache holds every dossier of the office with its dates, so a day's figures are exact
from it: received (``NgayTiepNhan`` that day, split by ``HinhThucNop`` where upstream says:
online, at the counter, by post), finished (``NgayKetThucXuLy`` that day; on time when not
after ``NgayHenTra``, late when after it), returned (``NgayTra`` that day), and asked for
more documents (entered status 5 that day, from the status history as the hub saw it).
``refresh`` rewrites the rows of the days a sync page touched, inside the page's
transaction, so ``dossier_days`` never disagrees with the cache; ``read`` sums a period.
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
CREATE INDEX IF NOT EXISTS dossiers_received ON dossiers(received);
CREATE INDEX IF NOT EXISTS dossiers_finished ON dossiers(finished);
CREATE INDEX IF NOT EXISTS dossiers_returned ON dossiers(returned);
"""

_FIELD = f"coalesce(d.field, '{NO_FIELD}')"
_QUERIES = {
    "received": f"SELECT {_FIELD}, count(*), sum(d.channel = 'online'), sum(d.channel = 'counter'), "
                "sum(d.channel = 'post') FROM dossiers d WHERE d.received BETWEEN ?1 AND ?2 GROUP BY 1",
    "finished": f"SELECT {_FIELD}, count(*), sum(d.due IS NULL OR d.finished <= d.due), "
                "sum(d.due IS NOT NULL AND d.finished > d.due) FROM dossiers d "
                "WHERE d.finished BETWEEN ?1 AND ?2 GROUP BY 1",
    "returned": f"SELECT {_FIELD}, count(*) FROM dossiers d WHERE d.returned BETWEEN ?1 AND ?2 GROUP BY 1",
    "asked": f"SELECT {_FIELD}, count(DISTINCT h.code) FROM dossier_history h JOIN dossiers d ON d.code = h.code "
             "WHERE h.status = 5 AND h.updated BETWEEN ?1 AND ?2 GROUP BY 1",
}


def days_of(*stamps: str | None) -> set[str]:
    """The yyyyMMdd days of some yyyyMMddHHmmss stamps (None and the epoch left out)."""
    return {s[:8] for s in stamps if s and s[:8] != "00000000"}


def refresh(conn: sqlite3.Connection, days: Iterable[str]) -> None:
    """Recompute the rows of ``days`` from the cache (call inside the writer's transaction)."""
    for day in sorted(set(days)):
        lo, hi = day + "000000", day + "235959"
        rows: dict[str, list[int]] = defaultdict(lambda: [0] * len(FIGURES))
        for f, n, online, counter, post in conn.execute(_QUERIES["received"], (lo, hi)):
            rows[f][0:4] = [n, online or 0, counter or 0, post or 0]
        for f, n, on_time, late in conn.execute(_QUERIES["finished"], (lo, hi)):
            rows[f][4:7] = [n, on_time or 0, late or 0]
        for f, n in conn.execute(_QUERIES["returned"], (lo, hi)):
            rows[f][7] = n
        for f, n in conn.execute(_QUERIES["asked"], (lo, hi)):
            rows[f][8] = n
        conn.execute("DELETE FROM dossier_days WHERE day = ?", (day,))
        conn.executemany(f"INSERT INTO dossier_days (day, field, {', '.join(FIGURES)}) "
                         f"VALUES (?, ?, {', '.join('?' * len(FIGURES))})",
                         [(day, f, *v) for f, v in rows.items()])


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
