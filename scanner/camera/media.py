"""Snapshots and clips on disk, named by ticket, under a byte budget and a retention period.

An index in SQLite (WAL) lists every file with its size, so enforcing the budget never
walks the folder; the oldest files go first.
"""
from __future__ import annotations

import logging
import sqlite3
from collections import deque
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

SCHEMA = """CREATE TABLE IF NOT EXISTS media (
    path TEXT PRIMARY KEY, ticket_id TEXT, trigger TEXT NOT NULL,
    bytes INTEGER NOT NULL, created_at TEXT NOT NULL)"""


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "none"


class MediaStore:
    def __init__(self, root: Path, budget_bytes: int, retention_days: int, quality: int = 80) -> None:
        self.root = root
        self.budget = budget_bytes
        self.retention = timedelta(days=retention_days)
        self.quality = quality
        root.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(root / "media.db"), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")  # losing an index row only leaks one file
        self.db.execute(SCHEMA)

    def _name(self, now: datetime, ticket_id: str | None, trigger: str, ext: str) -> Path:
        rel = Path(now.date().isoformat()) / f"{_safe(ticket_id or 'none')}_{trigger}_{now:%H%M%S}.{ext}"
        path = self.root / rel
        n = 1
        while path.exists():
            path = self.root / rel.with_name(f"{rel.stem}-{n}.{ext}")
            n += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _index(self, path: Path, ticket_id: str | None, trigger: str, now: datetime) -> int:
        size = path.stat().st_size
        self.db.execute("INSERT OR REPLACE INTO media VALUES (?, ?, ?, ?, ?)",
                        (str(path.relative_to(self.root)), ticket_id, trigger, size, now.isoformat()))
        self.enforce(now)
        return size

    def encode(self, frame: np.ndarray) -> bytes:
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        return buf.tobytes()

    def snapshot(self, jpeg: bytes, ticket_id: str | None, trigger: str, now: datetime) -> tuple[Path, int]:
        path = self._name(now, ticket_id, trigger, "jpg")
        path.write_bytes(jpeg)
        return path, self._index(path, ticket_id, trigger, now)

    def clip(self, jpegs: list[bytes], fps: float, ticket_id: str | None, trigger: str,
             now: datetime) -> tuple[Path, int]:
        """Write an MJPG AVI of the frames (every OpenCV build can write it)."""
        first = cv2.imdecode(np.frombuffer(jpegs[0], np.uint8), cv2.IMREAD_COLOR)
        h, w = first.shape[:2]
        path = self._name(now, ticket_id, trigger, "avi")
        out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
        try:
            for data in jpegs:
                out.write(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
        finally:
            out.release()
        return path, self._index(path, ticket_id, trigger, now)

    def used(self) -> int:
        return int(self.db.execute("SELECT coalesce(sum(bytes), 0) FROM media").fetchone()[0])

    def enforce(self, now: datetime) -> int:
        """Delete what is past retention, then the oldest files until within budget."""
        removed = 0
        cutoff = (now - self.retention).isoformat()
        old = self.db.execute("SELECT path FROM media WHERE created_at < ? ORDER BY created_at",
                              (cutoff,)).fetchall()
        for (rel,) in old:
            removed += self._remove(rel)
        while self.used() > self.budget:
            row = self.db.execute("SELECT path FROM media ORDER BY created_at, rowid LIMIT 1").fetchone()
            if row is None:
                break
            removed += self._remove(row[0])
        return removed

    def _remove(self, rel: str) -> int:
        (self.root / rel).unlink(missing_ok=True)
        self.db.execute("DELETE FROM media WHERE path = ?", (rel,))
        log.info("media %s removed (budget or retention)", rel)
        return 1

    def files(self) -> list[tuple[str, str | None, str]]:
        return [tuple(r) for r in self.db.execute(
            "SELECT path, ticket_id, trigger FROM media ORDER BY created_at, rowid")]

    def close(self) -> None:
        self.db.close()


class PendingClip:
    """A clip being recorded: the pre-roll frames plus `post` more frames."""

    def __init__(self, pre: deque[bytes], post: int, ticket_id: str | None, trigger: str,
                 started: datetime) -> None:
        self.frames = list(pre)
        self.left = post
        self.ticket_id = ticket_id
        self.trigger = trigger
        self.started = started

    def add(self, jpeg: bytes) -> bool:
        """Add a frame; True when the clip is complete."""
        if self.left > 0:
            self.frames.append(jpeg)
            self.left -= 1
        return self.left <= 0
