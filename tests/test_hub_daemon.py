"""The hub daemon on a real broker with its in-process upstream simulator over real HTTP.

The outage test is issue 5's "must show": upstream goes away in the middle of a sync and
comes back; the cursor resumes, no change is lost or applied twice, and lookups during the
outage answer from the cache with stale: true.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from harness import TestOffice, copy_config

from edge.bus import Bus, wait_until
from edge.protocol import rfc3339
from hub.daemon import HubDaemon
from hub.dossier import EPOCH

CONFIG = {"simulator_dossiers = 200": "simulator_dossiers = 300\npage_size = 40\nsync_interval_s = 3600\n"
          "lookup_rate_per_min = 20\nlookup_timeout_s = 1\nreturn_counter = \"Quầy 5\""}


@pytest.fixture
def hub_office(tmp_path: Path) -> Iterator[TestOffice]:
    o = TestOffice(tmp_path / "data", copy_config(tmp_path, replace=CONFIG)).start()
    yield o
    o.close()


@pytest.fixture
def hub(hub_office: TestOffice) -> Iterator[HubDaemon]:
    d = HubDaemon(hub_office.ctx("hub", "hub"), backoff_base=0.05)
    d.sync.backoff_cap = 0.5
    d.start()
    assert wait_until(lambda: d.sync.runs >= 1, 20), "initial sync did not finish"
    yield d
    d.stop()


def lookup(client: Bus, office: TestOffice, code: str, **extra: Any) -> dict[str, Any]:
    return client.request(office.topics.dossier_lookup, {"code": code, **extra}, timeout=5, retries=1)


def statuses(client: Bus, office: TestOffice) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    client.subscribe(office.topics.device_status("hub"), lambda t, p: seen.append(json.loads(p)))
    return seen


def test_lookup_answers_from_cache_masked_and_vietnamese(hub_office: TestOffice, hub: HubDaemon) -> None:
    up = hub.simulator.upstream
    assert hub.store.all_versions() == up.versions()
    code, rec = next((c, r) for c, r in up.records.items() if int(r["TrangThaiHoSo"]) == 9)
    client = hub_office.client("admin")
    fetches = up.calls.get("TraCuuHoSo", 0)
    rep = lookup(client, hub_office, f"https://dvc.example.gov.vn/tra-cuu?mhs={code.lower()}")
    assert rep["ok"] is True, rep
    d = rep["dossier"]
    assert d["code"] == code and d["status"] == 9 and d["status_text"] == "Đã xử lý xong"
    assert d["stale"] is False and d["overdue"] is False
    assert d["procedure"] == rec["TenTTHC"] and d["return_place"] == "Quầy 5"
    family, *rest = rec["ChuHoSo"].split()
    assert d["applicant"] == " ".join([family] + [w[0] + "*" * (len(w) - 1) for w in rest])
    assert rec["SoDienThoai"] not in json.dumps(rep) and rec["DiaChi"] not in json.dumps(rep, ensure_ascii=False)
    assert d["received_at"].endswith("+07:00")
    assert up.calls.get("TraCuuHoSo", 0) == fetches          # answered from the cache, upstream not asked
    short = lookup(client, hub_office, code.split("-", 1)[1])   # 261116-0017: this office's agency filled in
    assert short["ok"] and short["dossier"]["code"] == code
    # a repeated id gets the very same reply
    again = client.request(hub_office.topics.dossier_lookup, {"code": "bogus"}, req_id=rep["id"], timeout=5)
    assert again == rep


def test_lookup_errors_and_new_dossiers(hub_office: TestOffice, hub: HubDaemon) -> None:
    client = hub_office.client("admin")
    bad = lookup(client, hub_office, "2023")
    assert bad["ok"] is False and bad["error"]["code"] == "bad_request"
    assert "số thứ tự xếp hàng" in bad["error"]["message"]
    bad = lookup(client, hub_office, "000.17.22.H56-210231-0001")
    assert bad["error"]["code"] == "bad_request" and "210231" in bad["error"]["message"]
    missing = lookup(client, hub_office, "TEST.01.H99-210531-9999")
    assert missing["error"]["code"] == "not_found"
    new = hub.simulator.upstream.add(ChuHoSo="Lê Thị Hồng Nhung")   # received after the last sync
    rep = lookup(client, hub_office, new["MaHoSo"])
    assert rep["ok"] and rep["dossier"]["applicant"] == "Lê T** H*** N****" and not rep["dossier"]["stale"]
    assert hub.store.get(new["MaHoSo"]) is not None                 # now cached
    # bad payloads: reported on the error topic, the hub keeps serving
    errors: list[dict[str, Any]] = []
    client.subscribe(hub_office.topics.error, lambda t, p: errors.append(json.loads(p)))
    client.publish(hub_office.topics.dossier_lookup, b"\xff not json")
    assert wait_until(lambda: errors, 5) and errors[0]["code"] == "bad_request"
    assert lookup(client, hub_office, new["MaHoSo"])["ok"]


def test_rate_limit_per_broker_identity(hub_office: TestOffice, hub: HubDaemon) -> None:
    client = hub_office.client("kiosk-2", kind="kiosk")
    code = next(iter(hub.simulator.upstream.records))
    # the requester's own words (source, the tail of reply_to) do not buy more lookups
    codes = [lookup(client, hub_office, code, source=f"kiosk-{i}")["ok"] for i in range(22)]
    assert codes[:20] == [True] * 20 and codes[20:] == [False, False]
    limited = lookup(client, hub_office, code, source="kiosk-9")
    assert limited["error"]["code"] == "rate_limited" and "thử lại" in limited["error"]["message"]
    got: list[dict[str, Any]] = []
    client.subscribe(f"{client.reply_topic}/other", lambda _t, p: got.append(json.loads(p)))
    client.publish(hub_office.topics.dossier_lookup, {"id": "tail-1", "code": code,
                                                      "reply_to": f"{client.reply_topic}/other"})
    assert wait_until(lambda: got, 5) and got[0]["error"]["code"] == "rate_limited"
    # another identity has its own budget
    assert lookup(hub_office.client("kiosk-2", kind="kiosk"), hub_office, code)["ok"]


def test_outage_during_sync_then_recovery(hub_office: TestOffice, hub: HubDaemon) -> None:
    up, sim = hub.simulator.upstream, hub.simulator
    client = hub_office.client("admin")
    seen = statuses(client, hub_office)
    cached_before = hub.store.all_versions()
    changed: list[str] = []
    for _ in range(12):                 # 120 changes spread over 12 timestamps
        up.advance(2)
        changed += up.change_random(10)
    changed = sorted(set(changed))     # a dossier may have changed twice: one final version
    gone = threading.Event()
    asked_before = len(up.requests)

    def hook(page: int, data: dict[str, Any]) -> None:
        pages = sum(1 for s, d in up.requests[asked_before:] if s == "LayDanhSachHoSoCapNhat")
        if pages == 2:
            up.faults.down = "drop"    # answers stop right after this page...
            gone.set()
    up.page_hooks.append(hook)
    rep = client.request(hub_office.topics.hub_admin, {"action": "sync"}, timeout=5)
    assert rep["ok"] and rep["action"] == "sync"
    assert gone.wait(10)
    sim.stop()                          # ...and then the listener goes away: connection refused
    up.faults.down = ""
    assert wait_until(lambda: any(s.get("state") == "warning" for s in seen), 10), seen
    warn = next(s for s in seen if s.get("state") == "warning")
    assert warn["detail"]["upstream"] == "down" and warn["detail"]["since"] <= rfc3339(hub.ctx.clock.now())
    cursor_mid = hub.store.cursor
    resume_at = hub.syncer.start()       # the cursor, less the lag window before the newest read
    assert resume_at <= cursor_mid
    mid = hub.store.all_versions()
    applied_mid = sum(1 for c in changed if mid[c] != cached_before[c])
    assert max(cached_before.values()) <= cursor_mid < max(up.versions().values())
    assert 0 < applied_mid < len(changed)
    # lookups during the outage: from the cache, marked stale, never blocked on upstream
    not_synced = next(c for c in changed if mid[c] == cached_before[c])
    rep = lookup(client, hub_office, not_synced)
    assert rep["ok"] and rep["dossier"]["stale"] is True
    assert rep["dossier"]["updated_at"] is not None
    unknown = lookup(client, hub_office, "TEST.01.H99-210531-7777")
    assert unknown["error"]["code"] == "unavailable"
    # upstream comes back on the same port; the hub's backoff finds it and resumes at the cursor
    up.page_hooks.clear()
    runs, applied_before = hub.sync.runs, hub.sync.applied_total
    n_requests = len(up.requests)
    sim.start()
    assert wait_until(lambda: hub.sync.runs > runs, 20)
    first = next(d for s, d in up.requests[n_requests:] if s == "LayDanhSachHoSoCapNhat")
    assert first["TuNgay"] == resume_at                              # resumed, not restarted
    assert hub.store.all_versions() == up.versions()                 # nothing lost
    assert wait_until(lambda: hub.sync.applied_total - applied_before == len(changed) - applied_mid, 5), \
        (hub.sync.applied_total - applied_before, len(changed) - applied_mid)  # nothing applied twice
    assert wait_until(lambda: seen[-1].get("state") == "ok", 5), seen[-1]
    rep = lookup(client, hub_office, not_synced)
    assert rep["ok"] and rep["dossier"]["stale"] is False
    assert rep["dossier"]["status"] == int(up.records[not_synced]["TrangThaiHoSo"])


def test_admin_resync_and_status(hub_office: TestOffice, hub: HubDaemon) -> None:
    client = hub_office.client("admin")
    hub.store.conn.execute("DELETE FROM dossiers")
    rep = client.request(hub_office.topics.hub_admin, {"action": "resync"}, timeout=5)
    assert rep["ok"]
    assert wait_until(lambda: hub.store.count() == 300, 10)
    st = client.request(hub_office.topics.hub_admin, {"action": "status"}, timeout=5)
    assert st["state"] == "ok" and st["dossiers"] == 300 and st["cursor"] > EPOCH and st["behind"] == 0
    bad = client.request(hub_office.topics.hub_admin, {"action": "explode"}, timeout=5)
    assert bad["ok"] is False and bad["error"]["code"] == "bad_request"


def test_ratings_and_queue_stats_go_upstream_once(hub_office: TestOffice, hub: HubDaemon) -> None:
    up = hub.simulator.upstream
    engine = hub_office.client("engine")
    rating = {"rating_id": "R-20261121-0001", "ticket_id": "20261121-HT-0023", "number": "2023",
              "day": "2026-11-21", "counter": 3, "staff": "Nguyễn Thị Lan", "service": "HT",
              "level": "unsatisfied", "reasons": ["Chờ lâu"], "comment": "Phải đợi 2 tiếng",
              "submitted_at": "2026-11-21T09:15:02+07:00", "revision": 1, "ts": "2026-11-21T09:15:02+07:00"}
    engine.publish(hub_office.topics.rating_event, rating)
    engine.publish(hub_office.topics.rating_event, rating)                  # a repeat: harmless
    assert wait_until(lambda: "R-20261121-0001" in up.pushed.get("DongBoDanhGia", {}), 10)
    pushed = up.pushed["DongBoDanhGia"]["R-20261121-0001"]
    assert pushed == {"MaDanhGia": "R-20261121-0001", "SoThuTu": "2023", "Quay": 3, "CanBo": "Nguyễn Thị Lan",
                      "MucDo": 1, "LyDo": "Chờ lâu; Phải đợi 2 tiếng", "ThoiGian": "20261121091502"}
    engine.publish(hub_office.topics.rating_event, {**rating, "level": "satisfied", "reasons": [],
                                                    "comment": None, "revision": 2})
    assert wait_until(lambda: up.pushed["DongBoDanhGia"]["R-20261121-0001"]["MucDo"] == 2, 10)
    ratings_calls = [c for c in up.push_calls if c[0] == "DongBoDanhGia"]
    assert ratings_calls == [("DongBoDanhGia", False, 1), ("DongBoDanhGia", True, 1)]
    engine.publish(hub_office.topics.queue_stats_event, {
        "day": "2026-11-21", "ts": "2026-11-21T17:05:00+07:00",
        "rows": [{"field": "Tư pháp", "tickets": 57, "avg_wait_s": 412.4, "avg_service_s": 265.0, "no_show": 3}]})
    assert wait_until(lambda: "20261121" in up.pushed.get("DongBoSoLieuXepHang", {}), 10)
    assert up.pushed["DongBoSoLieuXepHang"]["20261121"]["DanhSach"] == [
        {"LinhVuc": "Tư pháp", "SoPhieu": 57, "ThoiGianChoTB": 412, "ThoiGianPhucVuTB": 265, "VangMat": 3}]
    assert wait_until(lambda: hub.store.outbox_counts() == {"pending": 0, "dead": 0, "sent": 2}, 5)


def test_board_summary_is_published_retained(hub_office: TestOffice, hub: HubDaemon) -> None:
    up = hub.simulator.upstream
    client = hub_office.client("admin")
    boards: list[dict[str, Any]] = []
    client.subscribe(hub_office.topics.dossier_board, lambda t, p: boards.append(json.loads(p)))
    assert wait_until(lambda: boards, 5)                       # retained: there for a late subscriber
    b = boards[-1]
    ready = [r for r in up.records.values() if int(r["TrangThaiHoSo"]) == 9]
    assert b["ready_total"] == len(ready) and len(b["ready"]) == min(100, len(ready))
    assert b["needs_documents_total"] == sum(1 for r in up.records.values() if int(r["TrangThaiHoSo"]) == 5)
    assert b["stale"] is False and b["day"] == hub.ctx.clock.now().date().isoformat()
    names = {r["ChuHoSo"] for r in up.records.values()}
    assert all(line["applicant"] not in names and "*" in line["applicant"] for line in b["ready"])
    new = up.add(TrangThaiHoSo=9, ChuHoSo="Phạm Minh Tuấn", NgayKetThucXuLy=up.records[next(iter(up.records))]["NgayCapNhat"])
    client.request(hub_office.topics.hub_admin, {"action": "sync"}, timeout=5)
    assert wait_until(lambda: boards[-1]["ready_total"] == len(ready) + 1, 10)
    assert boards[-1]["today"]["received"] >= 1
    assert any(line["code"] == new["MaHoSo"] and line["applicant"] == "Phạm M*** T***" for line in boards[-1]["ready"])
    hub.simulator.stop()
    client.request(hub_office.topics.hub_admin, {"action": "sync"}, timeout=5)
    assert wait_until(lambda: boards[-1]["stale"] is True, 10)


def test_pushes_wait_out_an_outage_and_go_when_upstream_returns(hub_office: TestOffice, hub: HubDaemon) -> None:
    up, sim = hub.simulator.upstream, hub.simulator
    engine = hub_office.client("engine")
    sim.stop()
    rating = {"rating_id": "R-9", "ticket_id": "T-9", "number": "1009", "day": "2026-11-21", "counter": 1,
              "service": "HT", "level": "very_satisfied", "submitted_at": "2026-11-21T10:00:00+07:00",
              "ts": "2026-11-21T10:00:00+07:00"}
    engine.publish(hub_office.topics.rating_event, rating)
    assert wait_until(lambda: hub.store.conn.execute("SELECT attempts FROM outbox").fetchone() == (1,), 10)
    assert hub.store.outbox_counts()["pending"] == 1 and not hub.health.up
    hub.store.conn.execute("UPDATE outbox SET next_at = next_at + 3600")   # a long backoff ahead
    sim.start()
    admin = hub_office.client("admin")
    admin.request(hub_office.topics.hub_admin, {"action": "sync"}, timeout=5)
    assert wait_until(lambda: "R-9" in up.pushed.get("DongBoDanhGia", {}), 10)
    assert wait_until(lambda: hub.store.outbox_counts() == {"pending": 0, "dead": 0, "sent": 1}, 5)


def test_old_cache_is_refreshed_from_upstream_within_the_lookup_timeout(hub_office: TestOffice,
                                                                         hub: HubDaemon) -> None:
    up = hub.simulator.upstream
    client = hub_office.client("admin")
    code = next(c for c, r in up.records.items() if int(r["TrangThaiHoSo"]) == 4)
    hub.store.conn.execute("UPDATE dossiers SET seen_at = 0")      # nothing confirmed lately...
    hub.health.last_sync_ok = 0.0                                  # ...and no recent sync
    up.advance(30)
    up.change(code, TrangThaiHoSo=9)
    rep = lookup(client, hub_office, code)
    assert rep["dossier"]["status"] == 9 and rep["dossier"]["stale"] is False   # asked upstream
    assert hub.store.get(code)[0].status == 9
    # upstream too slow for the lookup timeout (1 s): the cached answer, marked stale
    other = next(c for c in up.records if c != code)
    hub.store.conn.execute("UPDATE dossiers SET seen_at = 0")
    up.faults.latency_s = 3
    rep = lookup(client, hub_office, other)
    assert rep["ok"] and rep["dossier"]["code"] == other and rep["dossier"]["stale"] is True
    assert not hub.health.up
    arrived = up.http_requests
    rep = lookup(client, hub_office, code)         # known down now: at once from the cache
    assert rep["dossier"]["stale"] is True and rep["dossier"]["status"] == 9
    assert up.http_requests == arrived              # upstream was not asked
    up.faults.latency_s = 0


def test_simulated_office_clock_dates_the_simulator(hub_office: TestOffice) -> None:
    from datetime import datetime

    from edge.clock import ManualClock
    tz = hub_office.cfg.office.tz
    clock = ManualClock(tz, datetime(2027, 6, 1, 9, 0, tzinfo=tz))
    d = HubDaemon(hub_office.ctx("hub", "hub", clock=clock), backoff_base=0.05)
    try:
        d.start()
        assert wait_until(lambda: d.sync.runs >= 1, 20)
        days = {c.split("-")[1] for c in d.simulator.upstream.records}
        assert max(days) <= "270601" and min(days) >= "270401"
        code = max(d.simulator.upstream.records)
        rep = hub_office.client("admin").request(hub_office.topics.dossier_lookup, {"code": code}, timeout=5)
        assert rep["ok"] and rep["dossier"]["received_at"].startswith("2027-")
    finally:
        d.stop()
