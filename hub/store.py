"""The hub's SQLite file: dossier cache, sync cursor, outbox.

WAL with synchronous=FULL on every connection: a cursor that moved must never point past
dossiers that were not committed, and an outbox item must survive a power cut. One
connection per thread (sync thread, lookup path, outbox pusher); writers take
``BEGIN IMMEDIATE``.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable

from hub import figures
from hub.dossier import EPOCH, Record

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS dossiers (
    code TEXT PRIMARY KEY,
    updated TEXT NOT NULL,          -- upstream NgayCapNhat, yyyyMMddHHmmss
    status INTEGER NOT NULL,
    procedure TEXT, procedure_code TEXT, field TEXT,
    applicant TEXT,                 -- already masked; the hub stores no personal data
    received TEXT, due TEXT, finished TEXT, returned TEXT,
    unit TEXT, return_place TEXT,
    seen_at REAL NOT NULL,          -- wall time the hub last had this record from upstream
    docs_asked TEXT, docs_due TEXT, channel TEXT, field_code TEXT
);
CREATE INDEX IF NOT EXISTS dossiers_status ON dossiers(status);
CREATE TABLE IF NOT EXISTS sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- What the hub knows beyond the cached copy: ``floor``, a version upstream surely has (a
-- lagging gateway served an older copy where its listing put a newer one), so the cached
-- row is behind while updated < floor (cleared once a copy that new arrives).
CREATE TABLE IF NOT EXISTS dossier_checks (
    code TEXT PRIMARY KEY,
    floor TEXT
);
-- Each status as the hub saw it (a new dossier, or a new version with another status), and the
-- steps upstream gives (LayQuaTrinhXuLy), kept whole per dossier: "what happened so far".
CREATE TABLE IF NOT EXISTS dossier_history (
    code TEXT NOT NULL,
    updated TEXT NOT NULL,          -- NgayCapNhat of the version that had this status
    status INTEGER NOT NULL,
    unit TEXT,
    seen_at REAL NOT NULL,
    PRIMARY KEY (code, updated)
);
CREATE TRIGGER IF NOT EXISTS dossier_history_new AFTER INSERT ON dossiers BEGIN
    INSERT OR IGNORE INTO dossier_history(code, updated, status, unit, seen_at)
    VALUES (new.code, new.updated, new.status, new.unit, new.seen_at);
END;
CREATE TRIGGER IF NOT EXISTS dossier_history_changed AFTER UPDATE OF status ON dossiers
WHEN new.status IS NOT old.status BEGIN
    INSERT OR IGNORE INTO dossier_history(code, updated, status, unit, seen_at)
    VALUES (new.code, new.updated, new.status, new.unit, new.seen_at);
END;
CREATE TABLE IF NOT EXISTS dossier_steps (
    code TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT, unit TEXT, text TEXT, status INTEGER,
    version TEXT NOT NULL,          -- the dossier's NgayCapNhat when these steps were read
    PRIMARY KEY (code, seq)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL,          -- DongBoDanhGia, DongBoSoLieuXepHang
    key TEXT NOT NULL,              -- the item's own id (MaDanhGia, day): repeats are harmless
    record TEXT NOT NULL,           -- JSON of one DanhSach entry (or the whole data for stats)
    revision INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    sent_revision INTEGER NOT NULL DEFAULT 0,   -- last revision upstream accepted
    update_mode INTEGER NOT NULL DEFAULT 0,     -- 1: upstream has it, push as isUpdating
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    dead INTEGER NOT NULL DEFAULT 0,            -- refused as invalid (error_code 2): kept, not retried
    last_error TEXT,
    UNIQUE(service, key)
);
"""

_COLS = Record.SELECT
_UPSERT = (
    f"INSERT INTO dossiers ({_COLS}, seen_at) VALUES ({', '.join('?' * (len(Record.COLUMNS) + 1))}) "
    "ON CONFLICT(code) DO UPDATE SET "
    + ", ".join(f"{c}=excluded.{c}" for c in Record.COLUMNS[1:])
    + ", seen_at=excluded.seen_at WHERE excluded.updated > dossiers.updated OR (excluded.updated = dossiers.updated AND ("
    + " OR ".join(f"excluded.{c} IS NOT dossiers.{c}" for c in Record.COLUMNS[2:]) + "))"
)


def connect(path: Path | str, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the hub's pragmas (set on every connection, never trusted as defaults)."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=10)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class Store:
    """Thread-safe access to the hub's file: each thread gets its own connection."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self.conn.executescript(SCHEMA)
        self._migrate()
        self.conn.executescript(figures.SCHEMA)

    def _migrate(self) -> None:
        """Columns added since a file was made (ADD COLUMN keeps every row)."""
        have = {r[1] for r in self.conn.execute("PRAGMA table_info(dossiers)")}
        for col in Record.COLUMNS:
            if col not in have:
                self.conn.execute(f"ALTER TABLE dossiers ADD COLUMN {col} TEXT")
                log.info("hub store: added column dossiers.%s", col)

    @property
    def conn(self) -> sqlite3.Connection:
        c = getattr(self._local, "conn", None)
        if c is None:
            c = self._local.conn = connect(self.path)
        return c

    def close(self) -> None:
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None

    def _tx(self) -> "_Tx":
        return _Tx(self.conn)

    # ------------------------------------------------------------------ sync state

    def get_state(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM sync_state WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_state(self, **values: str) -> None:
        with self._tx() as c:
            c.executemany("INSERT OR REPLACE INTO sync_state(key, value) VALUES (?, ?)", values.items())

    @property
    def cursor(self) -> str:
        return self.get_state("cursor", EPOCH) or EPOCH

    @property
    def newest(self) -> str:
        """The newest ``NgayCapNhat`` any sync has read (upstream's clock, not ours)."""
        return self.get_state("newest", EPOCH) or EPOCH

    # ------------------------------------------------------------------ dossiers

    def apply_page(self, records: Iterable[Record], seen_at: float, cursor: str | None,
                   floors: dict[str, str] | None = None, hold_from: str = EPOCH) -> int:
        """Upsert one page (newer-or-equal wins), note floors and move the cursor, in one transaction.

        A copy with the same ``updated`` and the same content changes nothing, so the
        return value (rows written) counts real changes only; equal ``updated`` with other
        content is applied (upstream changed it twice within one second). ``floors`` are
        versions upstream surely has for those codes; the cursor is never stored past the
        lowest floor still unmet (from ``hold_from`` on: an older one stops holding it, so one
        record a gateway never serves right cannot make every run re-read days), so that
        window is asked again by the next run.
        """
        records = list(records)
        rows = [(*r.row(), seen_at) for r in records]
        with self._tx() as c:
            days = self._days_of(c, records)        # the old dates too: a finished date may move
            applied = max(0, c.executemany(_UPSERT, rows).rowcount) if rows else 0   # rows, not trigger rows
            if applied:
                figures.mark(c, days | self._days_of(c, records))
            if floors:
                c.executemany(
                    "INSERT INTO dossier_checks(code, floor) VALUES (?, ?) ON CONFLICT(code) DO UPDATE "
                    "SET floor=excluded.floor WHERE dossier_checks.floor IS NULL OR excluded.floor > dossier_checks.floor",
                    floors.items())
            codes = [(r.code,) for r in records] + [(k,) for k in (floors or {})]
            c.executemany("UPDATE dossier_checks SET floor=NULL WHERE code=? AND floor <= "
                          "(SELECT updated FROM dossiers WHERE dossiers.code=dossier_checks.code)", codes)
            if records:
                top = max(r.updated for r in records)
                c.execute("INSERT INTO sync_state(key, value) VALUES ('newest', ?) ON CONFLICT(key) "
                          "DO UPDATE SET value=max(value, excluded.value)", (top,))
            if cursor is not None:
                low = c.execute("SELECT min(floor) FROM dossier_checks WHERE floor IS NOT NULL AND floor >= ?",
                                (hold_from,)).fetchone()[0]
                if low is not None and low < cursor:
                    cursor = low
                c.execute("INSERT OR REPLACE INTO sync_state(key, value) VALUES ('cursor', ?)", (cursor,))
        return applied

    @staticmethod
    def _days_of(c: sqlite3.Connection, records: list[Record]) -> set[str]:
        """Days whose figures these dossiers count in, as the cache holds them now."""
        days: set[str] = set()
        for i in range(0, len(records), 500):
            chunk = [r.code for r in records[i:i + 500]]
            for row in c.execute(f"SELECT received, finished, returned, updated FROM dossiers "
                                 f"WHERE code IN ({','.join('?' * len(chunk))})", chunk):
                days |= figures.days_of(*row)
        return days

    def history(self, code: str) -> list[tuple[str, int, str | None]]:
        """(updated, status, unit) of each status the hub saw for this dossier, oldest first."""
        return self.conn.execute("SELECT updated, status, unit FROM dossier_history WHERE code=? "
                                 "ORDER BY updated", (code,)).fetchall()

    def steps(self, code: str) -> tuple[str | None, list[tuple[str | None, str | None, str | None, int | None]]]:
        """(version read at, [(at, unit, text, status)]) of upstream's steps for this dossier."""
        rows = self.conn.execute("SELECT version, at, unit, text, status FROM dossier_steps WHERE code=? "
                                 "ORDER BY seq", (code,)).fetchall()
        return (rows[0][0] if rows else None), [tuple(r[1:]) for r in rows]

    def set_steps(self, code: str, version: str,
                  steps: list[tuple[str | None, str | None, str | None, int | None]]) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM dossier_steps WHERE code=?", (code,))
            c.executemany("INSERT INTO dossier_steps(code, seq, at, unit, text, status, version) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
                          [(code, i, *s, version) for i, s in enumerate(steps)])

    def refresh_figures(self) -> int:
        """Recompute the day figures the last pages touched; returns how many days."""
        with self._tx() as c:
            return figures.refresh_dirty(c)

    def figures(self, start: str, end: str) -> dict[str, dict[str, int]]:
        """Figures per field of ``start``..``end`` (yyyyMMdd), pending days recomputed first."""
        self.refresh_figures()
        return figures.read(self.conn, start, end)

    def versions(self, codes: Iterable[str]) -> dict[str, str]:
        """code -> the cached version, for the codes the cache holds (one query)."""
        codes = list(codes)
        if not codes:
            return {}
        marks = ",".join("?" * len(codes))
        return dict(self.conn.execute(f"SELECT code, updated FROM dossiers WHERE code IN ({marks})", codes))

    def behind(self) -> dict[str, str]:
        """code -> floor of every dossier whose cached copy is known to be older than upstream's."""
        return dict(self.conn.execute(
            "SELECT k.code, k.floor FROM dossier_checks k JOIN dossiers d ON d.code=k.code "
            "WHERE k.floor IS NOT NULL AND k.floor > d.updated"))

    def floor(self, code: str) -> str | None:
        """A version upstream surely has for this dossier (None when nothing is known beyond the cache)."""
        row = self.conn.execute("SELECT floor FROM dossier_checks WHERE code=?", (code,)).fetchone()
        return row[0] if row else None

    def touch(self, code: str, seen_at: float) -> None:
        """Upstream confirmed the cached version is current."""
        with self._tx() as c:
            c.execute("UPDATE dossiers SET seen_at=max(seen_at, ?) WHERE code=?", (seen_at, code))

    def get(self, code: str) -> tuple[Record, float] | None:
        row = self.conn.execute(f"SELECT {_COLS}, seen_at FROM dossiers WHERE code=?", (code,)).fetchone()
        return (Record.from_row(row[:-1]), row[-1]) if row else None

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM dossiers").fetchone()[0]

    def all_versions(self) -> dict[str, str]:
        """code -> updated, for tests and resync checks."""
        return dict(self.conn.execute("SELECT code, updated FROM dossiers"))

    # ------------------------------------------------------------------ outbox

    def enqueue(self, service: str, key: str, record: dict[str, Any], now: str) -> bool:
        """Add or revise one push; True if upstream needs to hear about it (new or changed)."""
        text = json.dumps(record, ensure_ascii=False, sort_keys=True)
        with self._tx() as c:
            row = c.execute("SELECT record, revision FROM outbox WHERE service=? AND key=?",
                            (service, key)).fetchone()
            if row is None:
                c.execute("INSERT INTO outbox(service, key, record, created_at) VALUES (?, ?, ?, ?)",
                          (service, key, text, now))
                return True
            if row[0] == text:
                return False
            c.execute("UPDATE outbox SET record=?, revision=revision+1, next_at=0, dead=0, attempts=0 "
                      "WHERE service=? AND key=?", (text, service, key))
            return True

    def due_pushes(self, now: float, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT id, service, key, record, revision, update_mode, attempts FROM outbox "
            "WHERE sent_revision < revision AND dead=0 AND next_at <= ? ORDER BY id LIMIT ?",
            (now, limit)).fetchall()
        return [{"id": r[0], "service": r[1], "key": r[2], "record": json.loads(r[3]), "revision": r[4],
                 "update_mode": bool(r[5]), "attempts": r[6]} for r in rows]

    def mark_sent(self, item_id: int, revision: int) -> None:
        with self._tx() as c:
            c.execute("UPDATE outbox SET sent_revision=max(sent_revision, ?), update_mode=1, "
                      "last_error=NULL WHERE id=?", (revision, item_id))

    def mark_update(self, item_id: int) -> None:
        with self._tx() as c:
            c.execute("UPDATE outbox SET update_mode=1 WHERE id=?", (item_id,))

    def mark_failed(self, item_id: int, error: str, next_at: float, dead: bool = False) -> None:
        with self._tx() as c:
            c.execute("UPDATE outbox SET attempts=attempts+1, next_at=?, dead=?, last_error=? WHERE id=?",
                      (next_at, int(dead), error[:500], item_id))

    def retry_pushes_now(self) -> None:
        """Upstream is back: pending pushes need not wait out their backoff."""
        with self._tx() as c:
            c.execute("UPDATE outbox SET next_at=0 WHERE sent_revision < revision AND dead=0")

    def outbox_counts(self) -> dict[str, int]:
        row = self.conn.execute(
            "SELECT sum(sent_revision < revision AND dead=0), sum(dead), sum(sent_revision >= revision) "
            "FROM outbox").fetchone()
        return {"pending": row[0] or 0, "dead": row[1] or 0, "sent": row[2] or 0}


class _Tx:
    """``BEGIN IMMEDIATE`` ... COMMIT, rolled back on error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
