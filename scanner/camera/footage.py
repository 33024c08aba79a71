"""The footage index: recorded segments on the wall clock, and ticket bookmarks against them.

One SQLite file (WAL) per camera, DATA/<camera>/recordings/index.db. `segments` places each
recorded file on its ffmpeg run's stream clock (`stream_end`, `duration`; `start_time` is the
file's own first timestamp, which the concat demuxer's in/out points are measured in) and
`runs` places each run's stream clock on the wall clock (`anchor`), so a better anchor
found later moves the whole run at once. `bookmarks`
holds every ticket event and rating the camera saw, keyed so that a repeated MQTT delivery
is stored once. `export_clip` turns a ticket's bookmarks into one file of its visit.
"""
from __future__ import annotations

import logging
import sqlite3
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (run TEXT PRIMARY KEY, anchor REAL NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
    path TEXT PRIMARY KEY, run TEXT NOT NULL, stream_end REAL NOT NULL, duration REAL NOT NULL,
    start_time REAL NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bookmarks (
    ticket_id TEXT NOT NULL, kind TEXT NOT NULL, event_ts TEXT NOT NULL, at REAL NOT NULL,
    counter INTEGER, staff TEXT, number TEXT, detail TEXT,
    PRIMARY KEY (ticket_id, kind, event_ts));
CREATE INDEX IF NOT EXISTS bookmarks_at ON bookmarks(at);
"""

#: Bookmarks that open a visit and those that close it.
VISIT_OPEN = ("called", "recalled")
VISIT_CLOSE = ("done", "transferred", "no_show", "rating")


class ClipError(Exception):
    """No footage for this ticket (message in Vietnamese, for the person asking)."""


@dataclass(frozen=True)
class Segment:
    path: str
    wall_start: float
    duration: float
    start_time: float

    @property
    def wall_end(self) -> float:
        return self.wall_start + self.duration


class FootageIndex:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()  # the recorder and the bus thread share one connection
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    # ------------------------------------------------------------------ segments

    def anchor_run(self, run: str, candidate: float) -> float:
        """The run's wall time of stream time 0: the earliest candidate seen (least delayed)."""
        with self._lock:
            self.db.execute("INSERT INTO runs VALUES (?, ?) ON CONFLICT(run) DO UPDATE "
                            "SET anchor = min(anchor, excluded.anchor)", (run, candidate))
            return float(self.db.execute("SELECT anchor FROM runs WHERE run = ?", (run,)).fetchone()[0])

    def add_segment(self, path: str, run: str, stream_end: float, duration: float,
                    start_time: float, size: int) -> None:
        """A finished segment ending at `stream_end` seconds of its run's stream clock."""
        with self._lock:
            self.db.execute("INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?, ?, ?)",
                            (path, run, stream_end, duration, start_time, size))

    def remove_segment(self, path: str) -> None:
        with self._lock:
            self.db.execute("DELETE FROM segments WHERE path = ?", (path,))

    def segment_paths(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self.db.execute("SELECT path FROM segments")}

    def _placed(self, where: str = "", args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self.db.execute(
                "SELECT * FROM (SELECT s.path, r.anchor + s.stream_end - s.duration AS wall_start, "
                "s.duration, s.start_time, s.bytes FROM segments s JOIN runs r USING (run)) "
                f"{where} ORDER BY wall_start", args).fetchall()

    def segments(self, start: float | None = None, end: float | None = None) -> list[Segment]:
        """Segments overlapping [start, end] (all without bounds), in wall-clock order."""
        lo = float("-inf") if start is None else start
        hi = float("inf") if end is None else end
        rows = self._placed("WHERE wall_start < ? AND wall_start + duration > ?", (hi, lo))
        return [Segment(*r[:4]) for r in rows]

    def used_bytes(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT coalesce(sum(bytes), 0) FROM segments").fetchone()[0])

    def expired(self, cutoff: float, budget: int) -> list[str]:
        """Segments to delete: older than `cutoff`, then the oldest while the rest exceed `budget`."""
        rows = [(r[0], r[1] + r[2], r[4]) for r in self._placed()]
        total = sum(r[2] for r in rows)
        out = []
        for path, end, size in rows:
            if end < cutoff or total > budget:
                out.append(path)
                total -= size
            else:
                break
        return out

    # ------------------------------------------------------------------ bookmarks

    def bookmark(self, ticket_id: str, kind: str, event_ts: str, at: float, counter: int | None = None,
                 staff: str | None = None, number: str | None = None, detail: str | None = None) -> bool:
        """Store one bookmark; False when this event was already stored (a repeated delivery)."""
        texts = [storable(x) for x in (ticket_id, kind, event_ts, staff, number, detail)]
        with self._lock:
            cur = self.db.execute("INSERT OR IGNORE INTO bookmarks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                  (*texts[:3], at, counter, *texts[3:]))
            return cur.rowcount == 1

    def bookmarks(self, ticket_id: str) -> list[tuple[str, float, str | None]]:
        """(kind, wall time, detail) of one ticket, in time order."""
        with self._lock:
            return [tuple(r) for r in self.db.execute(
                "SELECT kind, at, detail FROM bookmarks WHERE ticket_id = ? ORDER BY at", (storable(ticket_id),))]

    def forget_bookmarks(self, cutoff: float) -> None:
        with self._lock:
            self.db.execute("DELETE FROM bookmarks WHERE at < ?", (cutoff,))
            self.db.execute("DELETE FROM runs WHERE run LIKE 'orphan:%' AND run NOT IN (SELECT run FROM segments)")

    def visit(self, ticket_id: str) -> tuple[float, float] | None:
        """Wall-clock span of a ticket's visit: first call to its last closing event."""
        marks = self.bookmarks(ticket_id)
        if not marks:
            return None
        opens = [at for kind, at, _ in marks if kind in VISIT_OPEN]
        start = opens[0] if opens else marks[0][1]
        closes = [at for kind, at, _ in marks if kind in VISIT_CLOSE and at >= start]
        end = closes[-1] if closes else marks[-1][1]
        return start, end


def storable(text: str | None) -> str | None:
    """SQLite takes only valid UTF-8: a lone surrogate from a bad payload is kept escaped."""
    if text is None:
        return None
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def concat_list(segments: list[Segment], start: float, end: float, root: Path | None = None) -> str:
    """An ffconcat script covering [start, end] of these segments, cut by in/out points."""
    lines = ["ffconcat version 1.0"]
    for i, seg in enumerate(segments):
        path = str(root / seg.path) if root is not None else seg.path
        lines.append("file '{}'".format(path.replace("'", "'\\''")))
        if i == 0 and start > seg.wall_start:
            lines.append(f"inpoint {seg.start_time + start - seg.wall_start:.3f}")
        if i == len(segments) - 1 and end < seg.wall_end:
            lines.append(f"outpoint {seg.start_time + end - seg.wall_start:.3f}")
    return "\n".join(lines) + "\n"


def export_clip(root: Path, index: FootageIndex, ticket_id: str, out: Path, before_s: float,
                after_s: float, ffmpeg: str = "ffmpeg") -> tuple[float, float, float]:
    """Write the footage of a ticket's visit to `out` (MP4, copied).

    Returns its wall-clock span and the seconds of it not recorded (the camera was away):
    the clip jumps over them."""
    span = index.visit(ticket_id)
    if span is None:
        raise ClipError(f"Không có dấu mốc nào của vé {ticket_id} trên camera này.")
    start, end = span[0] - before_s, span[1] + after_s
    segs = index.segments(start, end)
    if not segs:
        raise ClipError(f"Không còn đoạn ghi hình nào trong thời gian phục vụ vé {ticket_id} "
                        "(đã quá hạn lưu hoặc camera không ghi lúc đó).")
    start, end = max(start, segs[0].wall_start), min(end, segs[-1].wall_end)
    covered = sum(min(end, s.wall_end) - max(start, s.wall_start) for s in segs)
    missing = max(0.0, end - start - covered)
    out.parent.mkdir(parents=True, exist_ok=True)
    # the list goes to the temp folder: whoever exports may not write where the camera records
    with tempfile.NamedTemporaryFile("w", suffix=".ffconcat", delete=False) as f:
        f.write(concat_list(segs, start, end, root.resolve()))
        listing = Path(f.name)
    try:
        res = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                              "-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v",
                              "-c", "copy", "-movflags", "+faststart", str(out)],
                             capture_output=True, text=True, timeout=600)
    finally:
        listing.unlink(missing_ok=True)
    if res.returncode != 0:
        raise ClipError(f"ffmpeg không ghép được đoạn ghi hình: {res.stderr.strip()[-300:]}")
    log.info("clip of %s: %d segments -> %s", ticket_id, len(segs), out)
    return start, end, missing
