"""Sync against the real upstream simulator over HTTP, into a real SQLite file.

Covers the fragile-paging cases UPSTREAM.md lists: an outage in the middle of a sync,
records changing between pages, a block of records sharing one NgayCapNhat bigger than a
page, duplicates, older versions after newer, expired sessions, a renamed dialect, and a
lagging gateway that serves older copies until the end (with lookups checked against it).
"""
from __future__ import annotations

import random
import threading
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest

from edge.clock import Clock
from hub.dossier import EPOCH, iso
from hub.lookup import HubLookupRequest, LookupService
from hub.simulator import SimulatorServer, Upstream
from hub.store import Store
from hub.sync import Health, Syncer
from hub.upstream import RestAdapter, UpstreamDown, UpstreamInvalid

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    s = SimulatorServer(Upstream(300, seed=7, agency="000.17.22.H56")).start()
    yield s
    s.stop()


def adapter_for(server: SimulatorServer, **kw: Any) -> RestAdapter:
    up = server.upstream
    return RestAdapter(server.url, username=up.username, password=up.password, madonvi="000.17.22.H56",
                       dstcode="H56", timeout=2, **kw)


def make(server: SimulatorServer, tmp_path: Path, page: int = 50, **kw: Any) -> tuple[Store, Syncer]:
    store = Store(tmp_path / "hub.sqlite")
    return store, Syncer(store, adapter_for(server, **kw), TZ, page_size=page, timeout=2)


def test_initial_sync_copies_everything_without_personal_data(sim: SimulatorServer, tmp_path: Path) -> None:
    store, syncer = make(sim, tmp_path)
    res = syncer.run()
    assert store.all_versions() == sim.upstream.versions()
    assert res.applied == 300
    assert store.cursor == max(sim.upstream.versions().values())
    # a second run re-reads only the last timestamp and writes nothing
    again = syncer.run()
    assert again.applied == 0 and again.pages == 1
    code, rec = next(iter(sim.upstream.records.items()))
    cached, _ = store.get(code)
    assert cached.applicant != rec["ChuHoSo"] and cached.applicant.split()[0] == rec["ChuHoSo"].split()[0]
    dump = b"".join(Path(p).read_bytes() for p in tmp_path.glob("hub.sqlite*"))
    for r in sim.upstream.records.values():
        assert r["SoDienThoai"].encode() not in dump
        assert r["DiaChi"].encode() not in dump
    assert all(req[1].get("SoLuong") == 50 for req in sim.upstream.requests)


def test_outage_mid_sync_resumes_from_durable_cursor(sim: SimulatorServer, tmp_path: Path) -> None:
    up = sim.upstream
    store, syncer = make(sim, tmp_path)
    ordered = [c for _, c in up._keys]
    seen_early, unseen = ordered[:20], ordered[-20:]

    def hook(page: int, data: dict[str, Any]) -> None:
        if len(up.requests) == 3:   # after the third page is cut: changes, then the outage
            up.advance(60)
            for c in seen_early[:5] + unseen[:5]:
                up.change(c, TrangThaiHoSo=9)
            up.faults.down = "drop"
    up.page_hooks.append(hook)
    with pytest.raises(UpstreamDown):
        syncer.run()
    cursor = store.cursor
    assert EPOCH < cursor < max(up.versions().values())
    cached_mid = store.all_versions()
    assert 100 <= len(cached_mid) < 300
    # a fresh process (new Store on the same file) after upstream comes back
    up.page_hooks.clear()
    up.faults.down = ""
    store2 = Store(tmp_path / "hub.sqlite")
    syncer2 = Syncer(store2, adapter_for(sim), TZ, page_size=50, timeout=2)
    first_request = len(up.requests)
    start = syncer2.start()
    res = syncer2.run()
    # resumed, not restarted: from the cursor, less the lag window a lagging gateway may hide
    window = datetime.strptime(cursor, "%Y%m%d%H%M%S") - timedelta(seconds=syncer2.lag_window_s)
    assert up.requests[first_request][1]["TuNgay"] == start == window.strftime("%Y%m%d%H%M%S")
    assert store2.all_versions() == up.versions()                # nothing lost
    # each record written once, each change once: 300 inserts + 5 updates of records already
    # cached (the 5 changed before they were first read arrive in their new version)
    assert all(c in cached_mid for c in seen_early[:5]) and not any(c in cached_mid for c in unseen[:5])
    assert len(cached_mid) + res.applied == 300 + 5
    for c in seen_early[:5] + unseen[:5]:
        assert store2.get(c)[0].status == 9


def test_block_sharing_one_timestamp_with_changes_between_pages(tmp_path: Path) -> None:
    up = Upstream(400, seed=3, shared_ts_block=260)
    server = SimulatorServer(up).start()
    try:
        store, syncer = make(server, tmp_path, page=50)
        bulk_ts, n = Counter(r["NgayCapNhat"] for r in up.records.values()).most_common(1)[0]
        block = sorted(c for c, r in up.records.items() if r["NgayCapNhat"] == bulk_ts)
        assert n == len(block) == 260

        def hook(page: int, data: dict[str, Any]) -> None:
            if data["TuNgay"] == bulk_ts and data["SoLuong"] == 50 and page == 2 and not up.previous:
                up.advance(5)
                for c in block[:3]:      # already read on page 1: they leave the block
                    up.change(c, TrangThaiHoSo=10)
        up.page_hooks.append(hook)
        res = syncer.run()
        assert res.block_restarts >= 1
        assert store.all_versions() == up.versions()
    finally:
        server.stop()


def test_duplicates_and_older_versions_never_win(sim: SimulatorServer, tmp_path: Path) -> None:
    up = sim.upstream
    store, syncer = make(sim, tmp_path)
    syncer.run()
    up.advance(30)
    changed = up.change_random(40)
    up.faults.duplicate_rate, up.faults.stale_rate = 0.3, 0.5
    store.set_state(cursor=EPOCH)     # re-read everything through the faulty gateway
    behind_seen = 0
    for _ in range(3):
        behind_seen += syncer.run().behind_seen
        cached = store.all_versions()
        assert all(cached[c] <= v for c, v in up.versions().items())   # never newer than upstream
    assert behind_seen > 0            # the gateway did serve copies older than it listed
    # with the faults still on, the older copies are caught (fetched on their own, or the
    # window asked again): the cache converges to upstream's newest
    assert up.faults.stale_rate == 0.5 and up.faults.duplicate_rate == 0.3
    assert store.all_versions() == up.versions()
    assert all(store.get(c)[0].status == int(up.records[c]["TrangThaiHoSo"]) for c in changed)


class Lookups:
    """LookupService answering real requests against the same store and gateway as the sync."""

    def __init__(self, store: Store, server: SimulatorServer) -> None:
        self.health = Health(Clock(TZ))
        self.replies: dict[str, dict[str, Any]] = {}
        self.done = threading.Condition()
        self.svc = LookupService(store, adapter_for(server), self.health, Clock(TZ), TZ, publish=self._publish,
                                 rate_per_min=100_000, timeout=2, fresh_s=3600, lag_window_s=300)
        self.n = 0

    def _publish(self, topic: str, reply: dict[str, Any]) -> None:
        with self.done:
            self.replies[reply["id"]] = reply
            self.done.notify_all()

    def ask(self, code: str) -> dict[str, Any]:
        self.n += 1
        req = HubLookupRequest(id=f"q{self.n}", code=code, reply_to="motcua/test/reply/t")
        reply = self.svc.handle(req, "t")
        if reply is None:
            with self.done:
                assert self.done.wait_for(lambda: req.id in self.replies, 10)
                reply = self.replies[req.id]
        return reply


@contextmanager
def synced_gateway(tmp_path: Path, dossiers: int, seed: int) -> Iterator[tuple[Upstream, Store, Syncer, Lookups]]:
    """A simulator over HTTP, a store synced once from it, and lookups on the same store."""
    up = Upstream(dossiers, seed=seed, agency="000.17.22.H56")
    server = SimulatorServer(up).start()
    try:
        store, syncer = make(server, tmp_path, page=50)
        looks = Lookups(store, server)
        syncer.run()
        yield up, store, syncer, looks
    finally:
        server.stop()


def test_lagging_gateway_never_shows_an_old_status_as_fresh(tmp_path: Path) -> None:
    """Older copies served throughout, with outages and 700+ changes: nothing stays behind."""
    with synced_gateway(tmp_path, 600, 11) as (up, store, syncer, looks):
        looks.health.ok(synced=True)
        up.faults.stale_rate, up.faults.duplicate_rate = 0.5, 0.2
        rng = random.Random(5)
        changes, fresh_answers, stale_answers, behind_seen = 0, 0, 0, 0
        codes = sorted(up.records)

        def check_lookups(sample: list[str]) -> None:
            nonlocal fresh_answers, stale_answers
            for code in sample:
                rep = looks.ask(code)
                assert rep["ok"], rep
                d, newest = rep["dossier"], up.records[code]
                if d["stale"]:
                    stale_answers += 1
                    continue
                fresh_answers += 1   # answered as current: must be upstream's newest
                assert d["status"] == int(newest["TrangThaiHoSo"]), (code, d["updated_at"], d["status"], newest["NgayCapNhat"], up.previous.get(code, {}).get("NgayCapNhat"), store.newest, store.check(code), store.cursor, rnd)
                assert d["updated_at"] == iso(newest["NgayCapNhat"], TZ), (code, d, newest)

        for rnd in range(30):
            up.advance(20)
            touched = up.change_random(20)
            for code in touched[:5]:       # changed twice between syncs: the older copy looks plausible
                up.advance(1)
                up.change(code, TrangThaiHoSo=9, NgayKetThucXuLy=up.records[code]["NgayCapNhat"])
            changes += len(touched) + 5
            if rnd % 6 == 3:               # an outage in the middle of the run
                asked = len(up.requests)

                def hook(page: int, data: dict[str, Any], asked: int = asked) -> None:
                    if sum(1 for s, _ in up.requests[asked:] if s == "LayDanhSachHoSoCapNhat") == 1:
                        up.faults.down = "drop"
                up.page_hooks.append(hook)
                with pytest.raises(UpstreamDown) as exc:
                    syncer.run()
                looks.health.down(exc.value)
                check_lookups(touched[:10])          # from the cache, all marked stale
                up.page_hooks.clear()
                up.faults.down = ""
            behind_seen += syncer.run().behind_seen
            looks.health.ok(synced=True)
            check_lookups(touched[:10] + rng.sample(codes, 10))
        assert changes >= 730 and behind_seen > 0
        # after the last change the regular syncs go on, the gateway still lagging
        for runs in range(1, 31):
            syncer.run()
            if store.all_versions() == up.versions():
                break
        assert up.faults.stale_rate == 0.5          # the fault was on until the end
        assert store.all_versions() == up.versions(), runs
        assert store.behind() == {}
        check_lookups(codes)
        assert fresh_answers > 600 and stale_answers > 0


def test_expired_sessions_reauthenticate(sim: SimulatorServer, tmp_path: Path) -> None:
    sim.upstream.faults.session_ttl_calls = 2
    store, syncer = make(sim, tmp_path)
    syncer.run()
    assert store.all_versions() == sim.upstream.versions()
    assert len(sim.upstream.sessions) <= 1


def test_errors_are_classified(sim: SimulatorServer, tmp_path: Path) -> None:
    up = sim.upstream
    store, syncer = make(sim, tmp_path)
    up.faults.invalid_services = ("LayDanhSachHoSoCapNhat",)
    with pytest.raises(UpstreamInvalid):
        syncer.run()
    up.faults.invalid_services = ()
    up.faults.error_rate = 1.0
    with pytest.raises(UpstreamDown, match="503"):
        syncer.run()
    up.faults.error_rate, up.faults.throttle_rate = 0.0, 1.0
    with pytest.raises(UpstreamDown, match="429") as exc:
        syncer.run()
    assert exc.value.retry_after == 1
    up.faults.throttle_rate = 0.0
    up.faults.latency_s = 0.5
    slow = Syncer(store, adapter_for(sim), TZ, page_size=50, timeout=0.1)
    with pytest.raises(UpstreamDown):
        slow.run()
    up.faults.latency_s = 0.0
    sim.stop()
    with pytest.raises(UpstreamDown):
        syncer.run()
    sim.start()
    syncer.run()
    assert store.all_versions() == up.versions()
    bad = RestAdapter(sim.url, username="hub", password="wrong", madonvi="X", timeout=2)
    with pytest.raises(UpstreamInvalid, match="refused the login"):
        bad.fetch("000.17.22.H56-210531-0001")


def test_renamed_fields_and_services(sim: SimulatorServer, tmp_path: Path) -> None:
    up = sim.upstream
    up.field_names = {"MaHoSo": "SoHoSo", "TrangThaiHoSo": "TrangThai", "NgayCapNhat": "ThoiGianCapNhat",
                      "DanhSach": "Data", "TuNgay": "FromDate"}
    up.service_names = {"LayDanhSachHoSoCapNhat": "GetChangedDossiers", "TraCuuHoSo": "LookupDossier"}
    plain = Syncer(Store(tmp_path / "plain.sqlite"), adapter_for(sim), TZ, page_size=50)
    with pytest.raises(UpstreamInvalid):
        plain.run()
    store, syncer = make(sim, tmp_path, field_map=up.field_names, service_names=up.service_names)
    syncer.run()
    assert store.all_versions() == up.versions()
    code = next(iter(up.records))
    assert syncer.adapter.fetch(code)["MaHoSo"] == code


def test_full_resync_restores_a_damaged_cache(sim: SimulatorServer, tmp_path: Path) -> None:
    store, syncer = make(sim, tmp_path)
    syncer.run()
    store.conn.execute("DELETE FROM dossiers WHERE rowid % 3 = 0")
    assert store.count() == 200
    syncer.run()
    assert store.count() <= 201               # incremental re-reads only the newest timestamp
    missing = 300 - store.count()
    res = syncer.run(full=True)
    assert res.applied == missing and store.all_versions() == sim.upstream.versions()


def test_a_record_never_served_right_holds_the_cursor_a_day_then_stays_behind(tmp_path: Path) -> None:
    """TraCuuHoSo refused and the listing always stale for one dossier: never fresh, never stuck."""
    with synced_gateway(tmp_path, 120, 5) as (up, store, syncer, looks):
        code, other = [c for c in sorted(up.records) if int(up.records[c]["TrangThaiHoSo"]) == 4][:2]
        up.advance(3600)
        up.change(code, TrangThaiHoSo=9)
        up.advance(5)
        later = up.change(other, TrangThaiHoSo=10)                  # in the same page, after it
        del up.previous[later["MaHoSo"]]                              # only the first one is served old
        up.faults.stale_rate, up.faults.invalid_services = 1.0, ("TraCuuHoSo",)
        res = syncer.run()
        assert res.behind_seen >= 1 and res.still_behind == 1
        floor = store.floor(code)
        assert floor is not None and store.cursor <= floor < later["NgayCapNhat"]   # held, not past it
        assert store.get(code)[0].updated < up.records[code]["NgayCapNhat"]
        looks.health.ok(synced=True)
        rep = looks.ask(code)
        assert rep["ok"] and rep["dossier"]["stale"] is True and rep["dossier"]["status"] != 9
        # a day later (upstream time) the floor stops holding the cursor; the dossier stays behind
        up.advance(2 * 86400)
        newer = up.add()
        syncer.run()
        assert store.cursor >= newer["NgayCapNhat"] and store.behind() == {code: floor}
        assert looks.ask(code)["dossier"]["stale"] is True
        # the gateway mends: the newest copy arrives and the dossier is current again
        up.faults.stale_rate, up.faults.invalid_services = 0.0, ()
        assert looks.ask(code)["dossier"] == {**looks.ask(code)["dossier"], "status": 9, "stale": False}
        assert store.behind() == {}
