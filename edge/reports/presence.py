"""Presence in the figures: how long each open counter's desk was empty, by counter and clerk.

Read from the counter cameras' absence logs (DATA/<camera>/absences.db, written by the
camera daemon, scanner/camera/absences.py), read-only; only absences that lasted the
camera's `absent_minutes` or more count, as those are the ones it warns about. Cameras
whose data folder is on another host are not seen here (copy their absences.db over).
"""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from edge.reports.stats import Period, Table

TITLE = "Thời gian vắng mặt tại quầy khi quầy mở (camera)"
COLUMNS = ["Quầy", "Cán bộ", "Số lần vắng", "Tổng thời gian vắng (phút)", "Lần dài nhất (phút)"]


def presence_table(cfg: Any, data: Path, period: Period) -> Table | None:
    """The period's absences by counter and clerk, or None when no counter camera keeps a log."""
    names = {c.number: c.label for c in cfg.counters}
    groups: dict[tuple[int, str], list[float]] = defaultdict(list)
    found = False
    for dev in cfg.devices:
        path = data / dev.id / "absences.db"
        if dev.kind != "camera" or dev.counter is None or not path.exists():
            continue
        found = True
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT counter, staff, seconds FROM absences WHERE day BETWEEN ? AND ?",
                                (period.start.isoformat(), period.end.isoformat())).fetchall()
        finally:
            conn.close()
        for counter, staff, seconds in rows:
            groups[(counter, staff or "—")].append(seconds)
    if not found:
        return None
    table = Table("desk_absence", TITLE, COLUMNS)
    for (counter, staff), secs in sorted(groups.items()):
        table.rows.append([names.get(counter, f"Quầy {counter}"), staff, len(secs),
                           round(sum(secs) / 60, 1), round(max(secs) / 60, 1)])
    return table
