"""The engine's SQLite file: schema and the connection settings that make tickets durable.

WAL with synchronous=FULL so a committed (and so printed) ticket survives power loss;
BEGIN IMMEDIATE for every read-then-write transaction; pragmas set on every connection.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

log = logging.getLogger(__name__)


def _import_sqlite_utils() -> Any:
    """sqlite-utils imports numpy and pandas whenever it finds them, only to map their column
    types, which the engine never stores: numpy alone is ~15 MB of RAM in a daemon that needs
    none of it. Hide both while sqlite-utils loads (other code can still import them later)."""
    import sys
    hidden = [m for m in ("numpy", "pandas") if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None  # type: ignore[assignment]  # makes `import m` fail at once
    try:
        import sqlite_utils
    finally:
        for m in hidden:
            if sys.modules.get(m) is None:
                del sys.modules[m]
    return sqlite_utils


sqlite_utils = _import_sqlite_utils()

SCHEMA_VERSION = 1


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the engine database with the pragmas every connection needs."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 5000")
    if not readonly:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError(f"{path}: SQLite refused WAL mode (got {mode})")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction taken with BEGIN IMMEDIATE (never upgraded later, so no SQLITE_BUSY).

    A failed COMMIT (disk full, I/O error) is rolled back too, so the connection is usable
    again once the cause is gone.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.error("rollback failed: %s", exc)
        raise


@contextmanager
def savepoint(conn: sqlite3.Connection, name: str = "req") -> Iterator[None]:
    """Undo one request's writes on error without losing the rest of a group commit."""
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


class DatabaseUnusable(Exception):
    """The engine's file exists but cannot be trusted: one line naming it and what to do."""


_RECOVER = "stop the engine, restore the file from the last backup or move it aside to start an empty day (docs/operations.md, 'Engine database')"


def open_checked(path: Path | str) -> sqlite3.Connection:
    """Open the engine database, refusing one that exists but lost its schema or its day, or is
    damaged (quick_check): taken as new, it would hand out numbers already printed today.
    The checks read only, so a refused file is left exactly as it was found."""
    path = Path(path)
    if path.exists():
        if path.stat().st_size == 0 and not Path(f"{path}-wal").exists():
            raise DatabaseUnusable(f"{path} is empty (0 bytes) but should hold the queue: {_RECOVER}")
        problem = _check(path)
        if problem:
            raise DatabaseUnusable(f"{path} {problem}: {_RECOVER}")
    return connect(path)


def _check(path: Path) -> str | None:
    try:
        conn = connect(path, readonly=True)
    except sqlite3.DatabaseError as exc:
        return f"cannot be read as an SQLite database ({exc})"
    try:
        found = [" ".join(str(r[0]).split()) for r in conn.execute("PRAGMA quick_check(3)").fetchall()]
        if found != ["ok"]:
            return f"is damaged (quick_check: {'; '.join(found)[:200]})"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = {"tickets", "counters", "requests", "meta"} - tables
        if missing:
            return f"has lost its schema (no table {', '.join(sorted(missing))})"
        has_tickets = conn.execute("SELECT 1 FROM tickets LIMIT 1").fetchone() is not None
        if get_meta(conn, "schema") is None or (has_tickets and get_meta(conn, "day") is None):
            return "has lost its day (no schema or day in table meta)"
    except sqlite3.DatabaseError as exc:
        return f"cannot be read as an SQLite database ({' '.join(str(exc).split())})"
    finally:
        conn.close()
    return None


def create_schema(conn: sqlite3.Connection) -> None:
    db = sqlite_utils.Database(conn)
    with immediate(conn):
        if "tickets" not in db.table_names():
            db["tickets"].create({
                "ticket_id": str, "day": str, "service": str, "seq": int, "number": str,
                "priority": str, "status": str, "counter": int, "reserved_counter": int,
                "issued_at": str, "sort_key": str, "called_at": str, "finished_at": str,
                "staff": str, "source": str, "calls": int, "original_service": str,
            }, pk="ticket_id", not_null={"day", "service", "seq", "number", "status", "issued_at"},
                defaults={"priority": "none", "calls": 0})
            db["tickets"].create_index(["day", "original_service", "seq"], unique=True)
            db["tickets"].create_index(["day", "number"], unique=True)
            db["tickets"].create_index(["status", "service", "sort_key"])
            db["tickets"].create_index(["day", "service", "called_at"])
            db["tickets"].create_index(["reserved_counter", "status", "sort_key"])
        if "counters" not in db.table_names():
            db["counters"].create({
                "number": int, "status": str, "staff": str, "serving": str, "reason": str,
                "updated_at": str,
            }, pk="number", defaults={"status": "closed"})
        if "requests" not in db.table_names():
            db["requests"].create({"id": str, "reply": str, "created": float}, pk="id")
            db["requests"].create_index(["created"])
        if "calls" not in db.table_names():
            db["calls"].create({"id": int, "ticket_id": str, "number": str, "counter": int,
                                "ts": str, "kind": str}, pk="id")
        if "service_state" not in db.table_names():
            db["service_state"].create({"day": str, "service": str, "since_priority": int},
                                       pk=("day", "service"), defaults={"since_priority": 0})
        if "meta" not in db.table_names():
            db["meta"].create({"key": str, "value": str}, pk="key")
            conn.execute("INSERT INTO meta(key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        if "refusals" not in db.table_names():  # citizens turned away (reports: quota, hours)
            db["refusals"].create({"id": int, "day": str, "service": str, "code": str, "ts": str}, pk="id")
            db["refusals"].create_index(["day"])
        ensure_staff_columns(conn, db)
        try:
            from edge.engine import ratings
        except ImportError:
            ratings = None  # type: ignore[assignment]
        if ratings is not None and "ratings" not in db.table_names():
            ratings.ensure_schema(conn)


#: Who did what (issue 10): logins of the signed-in clerk; names stay in `staff` columns.
STAFF_COLUMNS: dict[str, tuple[str, ...]] = {
    "tickets": ("staff_login", "ended_by", "transferred_by"),
    "counters": ("staff_login", "opened_at"),
    "calls": ("staff_login",),
}


def ensure_staff_columns(conn: sqlite3.Connection, db: sqlite_utils.Database) -> None:
    """Add the attribution columns to an older engine database (inside the caller's transaction)."""
    for table, cols in STAFF_COLUMNS.items():
        have = {c.name for c in db[table].columns}
        for col in cols:
            if col not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {col} TEXT")
    if "dossier" not in {c.name for c in db["tickets"].columns}:
        conn.execute("ALTER TABLE tickets ADD COLUMN dossier TEXT")  # issue 16: the receipt scanned
    for col in ("person", "age_bracket", "appointment", "slot_at"):  # issue 16: a scanned ID card, as a day-keyed hash and a bracket
        if col not in {c.name for c in db["tickets"].columns}:
            conn.execute(f"ALTER TABLE tickets ADD COLUMN {col} TEXT")
    if "counter_sessions" not in db.table_names():
        # One row per sign-in at a counter: who opened it, when, and when it closed.
        db["counter_sessions"].create({"id": int, "day": str, "counter": int, "staff_login": str,
                                       "staff": str, "opened_at": str, "closed_at": str,
                                       "closed_by": str}, pk="id")
        db["counter_sessions"].create_index(["day", "counter"])


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))


def request_key(requester: str, topic: str, req_id: str) -> str:
    """The `requests` row of one request: ids are the requester's own, per topic."""
    return f"{requester}\x1f{topic}\x1f{req_id}"


def stored_reply(conn: sqlite3.Connection, req_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT reply FROM requests WHERE id = ?", (req_id,)).fetchone()
    return json.loads(row[0]) if row else None


def store_reply(conn: sqlite3.Connection, req_id: str, reply: dict[str, Any], created: float) -> None:
    conn.execute("INSERT OR REPLACE INTO requests(id, reply, created) VALUES (?, ?, ?)",
                 (req_id, json.dumps(reply, ensure_ascii=False), created))


def note_refusal(conn: sqlite3.Connection, day: str, service: str, code: str, ts: str) -> None:
    """A ticket refused (quota reached, outside hours): kept for the reports' "turned away" figures."""
    conn.execute("INSERT INTO refusals(day, service, code, ts) VALUES (?, ?, ?, ?)", (day, service, code, ts))


def prune_replies(conn: sqlite3.Connection, older_than: float) -> int:
    return conn.execute("DELETE FROM requests WHERE created < ?", (older_than,)).rowcount
