"""Dossier figures per day and field, and each dossier's history, through the real simulator over HTTP."""
from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
from zoneinfo import ZoneInfo

from edge.clock import Clock
from hub.lookup import HubLookupRequest, LookupService
from hub.simulator import SimulatorServer, Upstream
from hub.store import Store
from hub.sync import Health, Syncer
from hub.upstream import RestAdapter

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def adapter(server: SimulatorServer) -> RestAdapter:
    up = server.upstream
    return RestAdapter(server.url, username=up.username, password=up.password, madonvi=up.agency, timeout=5)


def lookup(store: Store, server: SimulatorServer, code: str) -> dict[str, Any]:
    health = Health(Clock(TZ))
    health.ok(synced=True)
    got: dict[str, Any] = {}
    done = threading.Event()

    def publish(topic: str, reply: dict[str, Any]) -> None:
        got.update(reply)
        done.set()
    svc = LookupService(store, adapter(server), health, Clock(TZ), TZ, publish=publish, rate_per_min=1000,
                        timeout=5, fresh_s=3600, lag_window_s=300)
    try:
        reply = svc.handle(HubLookupRequest(id="q1", code=code, reply_to="r/t"), "t")
        if reply is None:
            assert done.wait(10)
            reply = got
        return reply
    finally:
        svc.close()


@pytest.fixture
def synced(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Upstream, SimulatorServer, Store, Syncer]]:
    """A simulator of ``request.param`` = (dossiers, seed) and a store synced once from it."""
    n, seed = request.param
    up = Upstream(n, seed=seed)
    server = SimulatorServer(up).start()
    store = Store(tmp_path / "hub.sqlite")
    syncer = Syncer(store, adapter(server), TZ, page_size=100, timeout=5)
    syncer.run()
    yield up, server, store, syncer
    server.stop()


@pytest.mark.parametrize("synced", [(200, 4)], indirect=True)
def test_history_as_seen_and_upstream_steps_in_the_lookup(synced: Any, tmp_path: Path) -> None:
    up, server, store, syncer = synced
    code = next(c for c, r in sorted(up.records.items()) if int(r["TrangThaiHoSo"]) == 4)
    for status in (5, 4, 9):
        up.advance(3600)
        up.change(code, TrangThaiHoSo=status, DonViXuLy="Phòng Tư pháp")
        syncer.run()
    up.advance(60)
    up.change(code, DonViXuLy="Bộ phận một cửa")     # same status: not a new history entry
    syncer.run()
    assert [s for _, s, _ in store.history(code)] == [4, 5, 4, 9]
    # changed within the lag window: the lookup asks upstream, and reads its steps too
    rep = lookup(store, server, code)
    assert rep["ok"] and rep["dossier"]["status"] == 9 and not rep["dossier"]["stale"]
    steps = rep["dossier"]["history"]
    assert [s["status"] for s in steps] == [x["TrangThai"] for x in up.steps[code]][-20:]
    assert steps[0]["text"] == "Tiếp nhận hồ sơ" and steps[-1]["status_text"] == "Đã xử lý xong"
    assert steps[-1]["at"].startswith(up.records[code]["NgayCapNhat"][:4])
    # a province without LayQuaTrinhXuLy: the statuses the hub saw
    up.faults.invalid_services = ("LayQuaTrinhXuLy",)
    other = Store(tmp_path / "other.sqlite")
    Syncer(other, adapter(server), TZ, page_size=100, timeout=5).run()
    rep = lookup(other, server, code)
    assert rep["ok"] and [h["status"] for h in rep["dossier"]["history"]] == [9]
    assert rep["dossier"]["history"][0]["status_text"] == "Đã xử lý xong"


@pytest.mark.parametrize("synced", [(800, 2)], indirect=True)
def test_day_figures_per_field_equal_upstreams_records(synced: Any) -> None:
    up, server, store, syncer = synced

    def expected(day: str) -> dict[str, Counter]:
        out: dict[str, Counter] = {}
        for r in up.records.values():
            c = out.setdefault(r["TenLinhVuc"], Counter())
            if r["NgayTiepNhan"][:8] == day:
                c["received"] += 1
                c[{1: "counter", 2: "online", 3: "post"}[r["HinhThucNop"]]] += 1
            if r["NgayKetThucXuLy"][:8] == day:
                c["finished"] += 1
                c["on_time" if r["NgayKetThucXuLy"] <= r["NgayHenTra"] else "late"] += 1
            if r["NgayTra"][:8] == day:
                c["returned"] += 1
            if int(r["TrangThaiHoSo"]) == 5 and r["NgayCapNhat"][:8] == day:
                c["asked_documents"] += 1
        return {f: c for f, c in out.items() if c}

    days = sorted({r["NgayTiepNhan"][:8] for r in up.records.values()})
    checked = 0
    for day in days[::5]:
        got = {f: Counter({k: v for k, v in fig.items() if v}) for f, fig in store.figures(day, day).items()}
        assert got == expected(day), day
        checked += sum(sum(c.values()) for c in got.values())
    assert checked > 100
    total = store.figures(days[0], days[-1])
    assert sum(f["received"] for f in total.values()) == 800
    assert sum(f["online"] + f["counter"] + f["post"] for f in total.values()) == 800
    assert all(f["finished"] == f["on_time"] + f["late"] for f in total.values())
    # a dossier finished on another day: both days are counted again
    code, rec = next((c, r) for c, r in sorted(up.records.items()) if r["NgayKetThucXuLy"])
    old_day, new_day = rec["NgayKetThucXuLy"][:8], days[-1]
    field = rec["TenLinhVuc"]
    before_old = store.figures(old_day, old_day)[field]["finished"]
    before_new = store.figures(new_day, new_day).get(field, {}).get("finished", 0)
    up.advance(10)
    up.change(code, NgayKetThucXuLy=new_day + "100000")
    syncer.run()
    assert store.figures(old_day, old_day).get(field, {}).get("finished", 0) == before_old - (old_day != new_day)
    assert store.figures(new_day, new_day)[field]["finished"] == before_new + (old_day != new_day)
