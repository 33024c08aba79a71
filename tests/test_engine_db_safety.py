"""Issue 11 finding 7 and the clock: the engine refuses a database that lost its schema or its
day, or is damaged, with one clear line (through `motcua engine`); a clock set back a day
issues no ticket into a day that is over."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from edge.bus import wait_until
from edge.clock import ManualClock
from edge.engine import store

ROOT = Path(__file__).resolve().parents[1]


def run_engine(office, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "edge.cli", "engine", str(office.config_path),
                           "--data", str(office.data)], env=env, capture_output=True, text=True,
                          timeout=timeout)


def make_day(office, tickets: int = 3) -> Path:
    """An engine database holding a day with some tickets, made by the real engine."""
    eng = office.start_engine()
    c, t = office.client(), office.topics
    for _ in range(tickets):
        assert c.request(t.ticket_issue, {"service": "HT"}, timeout=5)["ok"]
    eng.stop()
    return eng.db_path


def damage_empty(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    path.write_bytes(b"")


def damage_schema(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE tickets")


def damage_day(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM meta WHERE key = 'day'")


def damage_page(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tickets'").fetchone()[0]
    with open(path, "r+b") as fh:  # scribble over the tickets table's b-tree page
        fh.seek((root - 1) * page + 8)
        fh.write(b"\xa5" * 64)


@pytest.mark.parametrize("damage,words", [(damage_empty, "is empty"), (damage_schema, "lost its schema"),
                                          (damage_day, "lost its day"), (damage_page, "")])
def test_engine_refuses_a_lost_or_damaged_database_with_one_line(office, damage, words):
    path = make_day(office)
    damage(path)
    before = path.read_bytes()
    done = run_engine(office)
    assert done.returncode != 0
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and str(path) in lines[0] and words in lines[0]
    assert "docs/operations.md" in lines[0]
    assert path.read_bytes() == before  # the evidence is left as it was


def test_a_new_data_folder_still_starts_and_a_good_database_passes_the_check(office):
    path = make_day(office, tickets=1)
    conn = store.open_checked(path)
    assert store.get_meta(conn, "day") is not None
    conn.close()
    fresh = office.data / "elsewhere" / "engine.db"
    store.open_checked(fresh).close()
    assert fresh.exists()


def test_a_clock_set_back_a_day_issues_no_ticket_into_a_closed_day(office):
    tz = office.cfg.office.tz
    clock = ManualClock(tz, datetime(2026, 11, 24, 9, 0, tzinfo=tz))
    eng = office.start_engine(clock)
    c, t = office.client(), office.topics
    status: list[dict] = []
    c.subscribe(t.device_status("engine"), lambda _t, p: status.append(json.loads(p)))
    first = c.request(t.ticket_issue, {"service": "HT"}, timeout=5)
    assert first["ok"] and first["ticket"]["day"] == "2026-11-24"
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=tz))  # someone sets the clock back a day
    refused = c.request(t.ticket_issue, {"service": "HT"}, timeout=5)
    assert refused["ok"] is False and refused["error"]["code"] == "unavailable"
    assert "đồng hồ" in refused["error"]["message"].lower()
    assert wait_until(lambda: status and status[-1].get("detail", {}).get("problem") == "clock_behind", 10), status
    n = eng.conn.execute("SELECT count(*) FROM tickets WHERE day = '2026-11-23'").fetchone()[0]
    assert n == 0
    clock.set(datetime(2026, 11, 24, 9, 5, tzinfo=tz))  # set right: served again, status ok
    again = c.request(t.ticket_issue, {"service": "HT"}, timeout=5)
    assert again["ok"] and again["ticket"]["number"] == "2002"
    assert wait_until(lambda: status[-1].get("state") == "ok", 10), status
