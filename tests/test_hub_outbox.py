"""The outbox on a real SQLite file against the real simulator: durable, idempotent, retried."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import pytest

from edge.clock import ManualClock
from edge.protocol import RatingEvent
from hub.outbox import Outbox
from hub.simulator import SimulatorServer, Upstream
from hub.store import Store
from hub.sync import Health
from hub.upstream import RestAdapter

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    s = SimulatorServer(Upstream(10)).start()
    yield s
    s.stop()


def outbox(sim: SimulatorServer, path: Path) -> tuple[Outbox, Health]:
    clock = ManualClock(TZ, datetime(2026, 11, 21, 9, 0, tzinfo=TZ))
    up = sim.upstream
    adapter = RestAdapter(sim.url, username=up.username, password=up.password, madonvi="H56", timeout=2)
    health = Health(clock)
    return Outbox(Store(path), adapter, health, clock, timeout=2), health


def rating(i: int, level: str = "satisfied", revision: int = 1) -> RatingEvent:
    return RatingEvent(rating_id=f"R-{i}", ticket_id=f"T-{i}", number=str(2000 + i), day="2026-11-21",
                       counter=1 + i % 3, staff="Trần Văn Bình", service="HT", level=level,
                       reasons=["Chờ lâu"] if level == "unsatisfied" else [],
                       submitted_at="2026-11-21T09:00:00+07:00", revision=revision, ts="2026-11-21T09:00:01+07:00")


def test_survives_restart_and_outage_then_pushes_once(sim: SimulatorServer, tmp_path: Path) -> None:
    up = sim.upstream
    box, health = outbox(sim, tmp_path / "hub.sqlite")
    sim.stop()
    for i in range(120):
        assert box.enqueue_rating(rating(i))
    assert not box.enqueue_rating(rating(5))          # the same rating again: nothing new
    assert box.drain() == 0 and not health.up
    assert box.store.outbox_counts() == {"pending": 120, "dead": 0, "sent": 0}
    # the hub restarts (new store on the same file) and upstream is back
    sim.start()
    box2, health2 = outbox(sim, tmp_path / "hub.sqlite")
    box2.store.conn.execute("UPDATE outbox SET next_at = 0")   # skip the backoff wait
    assert box2.drain() == 120
    assert len(up.pushed["DongBoDanhGia"]) == 120
    assert sum(n for _, _, n in up.push_calls) == 120          # in batches, each rating once
    assert max(n for _, _, n in up.push_calls) == 50
    assert box2.drain() == 0
    assert box2.store.outbox_counts() == {"pending": 0, "dead": 0, "sent": 120}


def test_already_exists_becomes_update_and_revisions_update(sim: SimulatorServer, tmp_path: Path) -> None:
    up = sim.upstream
    box, _ = outbox(sim, tmp_path / "hub.sqlite")
    up.pushed["DongBoDanhGia"] = {"R-1": {"MaDanhGia": "R-1", "MucDo": 3}}   # pushed before a crash
    box.enqueue_rating(rating(1, "unsatisfied"))
    assert box.drain() == 1
    assert up.pushed["DongBoDanhGia"]["R-1"]["MucDo"] == 1
    assert up.push_calls == [("DongBoDanhGia", True, 1)]
    box.enqueue_rating(rating(1, "very_satisfied", revision=2))
    assert box.drain() == 1
    assert up.pushed["DongBoDanhGia"]["R-1"]["MucDo"] == 3 and up.push_calls[-1] == ("DongBoDanhGia", True, 1)


def test_invalid_push_is_set_aside_and_shown(sim: SimulatorServer, tmp_path: Path) -> None:
    box, health = outbox(sim, tmp_path / "hub.sqlite")
    sim.upstream.faults.invalid_services = ("DongBoSoLieuXepHang",)
    box.enqueue_stats("2026-11-21", [{"LinhVuc": "Tư pháp", "SoPhieu": 3}])
    box.enqueue_rating(rating(2))
    assert box.drain() == 1
    assert box.store.outbox_counts() == {"pending": 0, "dead": 1, "sent": 1}
    state, detail = health.status()
    assert state == "error" and "DongBoSoLieuXepHang" in detail["error"]
    with pytest.raises(ValueError):
        box.enqueue_stats("21/11/2026", [])
    with pytest.raises(ValueError):
        box.enqueue("XoaHoSo", "x", {})
