"""Durable print-job queue in SQLite (WAL, synchronous=FULL): nothing lost while the printer is off.

A job is stored before it is acknowledged (``queued`` result) and leaves the queue only as
``printed``, ``expired`` or ``failed``; finished rows beyond the newest few thousand are pruned. Job ids make retries idempotent: a job id seen twice is stored once.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL UNIQUE,
  payload TEXT NOT NULL,
  created_at TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued',
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  updated_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, seq);
"""


class JobQueue:
    """FIFO of print jobs; one connection guarded by a lock (the daemon has two threads)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def add(self, job_id: str, payload: dict[str, Any], created_at: str) -> tuple[bool, str]:
        """Store a job; returns (new, state). A known job id is not stored again."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO jobs(job_id, payload, created_at) VALUES (?,?,?)",
                (job_id, json.dumps(payload, ensure_ascii=False), created_at))
            if cur.rowcount:
                return True, "queued"
            row = self._db.execute("SELECT state FROM jobs WHERE job_id=?", (job_id,)).fetchone()
            return False, row[0]

    def next(self) -> tuple[str, dict[str, Any], int] | None:
        """Oldest queued job: (job_id, payload, attempts)."""
        with self._lock:
            row = self._db.execute(
                "SELECT job_id, payload, attempts FROM jobs WHERE state='queued' ORDER BY seq LIMIT 1").fetchone()
        return (row[0], json.loads(row[1]), row[2]) if row else None

    def mark(self, job_id: str, state: str, ts: str, error: str | None = None) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET state=?, error=?, updated_at=? WHERE job_id=?",
                             (state, error, ts, job_id))

    def attempt(self, job_id: str, error: str) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET attempts=attempts+1, error=? WHERE job_id=?", (error, job_id))

    def state(self, job_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT state FROM jobs WHERE job_id=?", (job_id,)).fetchone()
        return row[0] if row else None

    def pending(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM jobs WHERE state='queued'").fetchone()[0]

    def prune(self, keep: int = 5000) -> int:
        """Forget finished jobs beyond the newest ``keep`` (ids stay long enough for retries)."""
        with self._lock:
            return self._db.execute("DELETE FROM jobs WHERE state!='queued' AND seq <= "
                                    "(SELECT coalesce(max(seq),0) - ? FROM jobs)", (keep,)).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
