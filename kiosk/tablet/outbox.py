"""The tablet's durable rating outbox: a rating is kept on the tablet until the engine answers.

Each rating gets its request id when it is stored (SQLite, WAL, synchronous=FULL,
committed before the first send), and is resent with that same id until a reply comes,
across broker restarts, engine restarts and tablet restarts. The engine answers a repeated
id with its first reply and no second effect (PROTOCOL.md), so nothing is lost and
nothing counts twice.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from edge.bus import Bus
from edge.protocol import rfc3339

log = logging.getLogger(__name__)

#: Replies that mean "try again later" rather than "this rating is answered".
RETRYABLE = ("unavailable", "internal", "rate_limited")

SCHEMA = """CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, done_at TEXT, reply TEXT)"""


class RatingOutbox:
    def __init__(self, path: Path, device: str) -> None:
        self.device = device
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("PRAGMA busy_timeout = 5000")
        self.db.execute(SCHEMA)
        self._lock = threading.Lock()

    def add(self, fields: dict[str, Any], created_at: str) -> str:
        """Store a rating for sending; returns its request id."""
        req_id = f"{self.device}:{uuid.uuid4().hex[:16]}"
        with self._lock:
            self.db.execute("INSERT INTO outbox(id, body, created_at) VALUES (?, ?, ?)",
                            (req_id, json.dumps(fields, ensure_ascii=False), created_at))
        return req_id

    def pending(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            rows = self.db.execute("SELECT id, body FROM outbox WHERE done_at IS NULL ORDER BY rowid").fetchall()
        return [(r[0], json.loads(r[1])) for r in rows]

    def attempted(self, req_id: str) -> None:
        with self._lock:
            self.db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (req_id,))

    def done(self, req_id: str, reply: dict[str, Any], at: str) -> None:
        with self._lock:
            self.db.execute("UPDATE outbox SET done_at = ?, reply = ? WHERE id = ?",
                            (at, json.dumps(reply, ensure_ascii=False), req_id))

    def count_pending(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM outbox WHERE done_at IS NULL").fetchone()[0])

    def prune(self, before: str) -> int:
        """Forget answered ratings created before `before` (an RFC 3339 time)."""
        with self._lock:
            return self.db.execute("DELETE FROM outbox WHERE done_at IS NOT NULL AND created_at < ?",
                                   (before,)).rowcount

    def close(self) -> None:
        with self._lock:
            self.db.close()


class OutboxSender:
    """A thread that drains the outbox through `bus`, oldest first, retrying with backoff."""

    def __init__(self, outbox: RatingOutbox, bus: Bus, topic: str, clock: Any,
                 reply_timeout: float = 3.0, max_backoff: float = 10.0) -> None:
        self.outbox = outbox
        self.bus = bus
        self.topic = topic
        self.clock = clock
        self.reply_timeout = reply_timeout
        self.max_backoff = max_backoff
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"outbox-{outbox.device}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self.reply_timeout + 2)

    def kick(self) -> None:
        """A new rating was stored: send now."""
        self._wake.set()

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            items = self.outbox.pending()
            if not items:
                self._publish_status(0)
                self._wake.wait(30)
                self._wake.clear()
                backoff = 0.5
                continue
            if not self.bus.connected.wait(1.0):
                self._publish_status(len(items), "broker unreachable")
                continue
            failed = False
            for req_id, fields in items:
                if self._stop.is_set():
                    return
                if not self._send(req_id, fields):
                    failed = True
                    break
            if failed:
                self._publish_status(self.outbox.count_pending(), "engine not answering")
                self._wake.wait(backoff)
                self._wake.clear()
                backoff = min(backoff * 2, self.max_backoff)
            else:
                backoff = 0.5

    def _send(self, req_id: str, fields: dict[str, Any]) -> bool:
        """True when the rating is answered for good."""
        self.outbox.attempted(req_id)
        _, fut = self.bus.request_async(self.topic, fields, req_id)
        try:
            reply = fut.result(timeout=self.reply_timeout)
        except FutureTimeout:
            log.info("no reply yet to rating %s; will resend with the same id", req_id)
            return False
        code = (reply.get("error") or {}).get("code")
        if not reply.get("ok") and code in RETRYABLE:
            log.info("rating %s: %s, retrying later", req_id, code)
            return False
        if not reply.get("ok"):
            log.warning("rating %s refused: %s", req_id, reply.get("error"))
        self.outbox.done(req_id, reply, rfc3339(self.clock.now()))
        return True

    def _publish_status(self, pending: int, problem: str | None = None) -> None:
        if pending and problem:
            self.bus.set_status("warning", {"pending_ratings": pending, "problem": problem})
        elif not pending:
            self.bus.set_status("ok", {})
