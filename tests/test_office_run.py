"""`motcua run --simulate`: every daemon up, simulated citizens served, a killed child restarted."""
from __future__ import annotations

import sqlite3

from harness import SMALL
from office_run import RunningOffice, wait_for


def test_simulated_office_runs_every_daemon_and_restarts_a_killed_one(tmp_path):
    office = RunningOffice(SMALL, tmp_path / "data", "2026-11-23T08:00x30")
    try:
        expected = office.expected_devices()
        assert office.wait_online(expected, 90), (
            f"offline: {sorted(expected - office.online())}\n{office.log_text()[-3000:]}")
        assert wait_for(lambda: any(a == "called" for a, _ in office.events), 60), office.log_text()[-3000:]
        old = office.kill9("engine")
        assert wait_for(lambda: office.children().get("engine") not in (None, old), 30)
        assert office.wait_online({"engine"}, 30)
        n = len(office.events)
        assert wait_for(lambda: len(office.events) > n, 60), "nothing happened after the engine restart"
    finally:
        code = office.stop()
    assert code == 0
    db = sqlite3.connect(tmp_path / "data" / "engine" / "engine.db")
    numbers = [r[0] for r in db.execute("SELECT number FROM tickets")]
    assert numbers and len(numbers) == len(set(numbers))
