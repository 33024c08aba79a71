"""Where a counter camera keeps the long absences it saw, for the day's report.

One row per absence that warned (the open counter's desk empty at least `absent_minutes`):
its start and end on the office clock, the counter and the clerk signed in. The row is
written when the absence ends (someone is back, or the counter closes or pauses), keyed by
counter and start so that a repeat stores nothing new. edge/reports/presence.py reads it.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from scanner.camera.footage import storable

SCHEMA = """CREATE TABLE IF NOT EXISTS absences (
    counter INTEGER NOT NULL, staff TEXT, day TEXT NOT NULL, started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL, seconds REAL NOT NULL, PRIMARY KEY (counter, started_at))"""

FILENAME = "absences.db"


class AbsenceLog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute(SCHEMA)

    def add(self, counter: int, staff: str | None, ended: datetime, seconds: float) -> None:
        started = ended - timedelta(seconds=seconds)
        self.db.execute("INSERT OR IGNORE INTO absences VALUES (?, ?, ?, ?, ?, ?)",
                        (counter, storable(staff), started.date().isoformat(), started.isoformat(timespec="seconds"),
                         ended.isoformat(timespec="seconds"), round(seconds, 1)))

    def close(self) -> None:
        self.db.close()
