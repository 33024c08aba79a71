"""A receipt scanned at the ticket kiosk, all real: scanner daemon (file feed) -> MQTT -> ticket
kiosk -> hub (its upstream simulator over HTTP, its SQLite cache) -> the ticket the dossier
calls for -> engine -> printer; the call shows the dossier code on the counter's state."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator

import pytest
from harness import TestOffice, copy_config
from kiosk_reader import kiosk_with_reader, scan
from test_ticket_kiosk import Rig

from edge.bus import wait_until
from hub.daemon import HubDaemon
from kiosk.ticket.controller import Screen

CONFIG = {
    "simulator_dossiers = 200": "simulator_dossiers = 120\nsync_interval_s = 3600\nlookup_timeout_s = 1",
    'mode = "ticket"\nprinter = "printer-1"\n': 'mode = "ticket"\nprinter = "printer-1"\nscanner = "scanner-1"\n'
    'return_service = "DD"\nsupplement_service = "HT"\nask_priority = false\n',
}


@pytest.fixture
def receipt_office(tmp_path: Path) -> Iterator[tuple[TestOffice, HubDaemon, Rig]]:
    o = TestOffice(tmp_path / "data", copy_config(tmp_path, replace=CONFIG)).start()
    hub = HubDaemon(o.ctx("hub", "hub"), backoff_base=0.05)
    hub.start()
    try:
        assert wait_until(lambda: hub.sync.runs >= 1, 20), "initial sync did not finish"
        with kiosk_with_reader(o) as rig:
            yield o, hub, rig
    finally:
        hub.stop()
        o.close()


def code_with(hub: HubDaemon, status: int) -> str:
    return next(c for c, r in sorted(hub.simulator.upstream.records.items()) if int(r["TrangThaiHoSo"]) == status)


def test_ready_receipt_gives_a_return_ticket_that_carries_the_dossier(receipt_office: Any) -> None:
    office, hub, rig = receipt_office
    states: list[dict] = []
    rig.admin.subscribe(office.topics.counter_state(1), lambda t, p: states.append(json.loads(p)))
    code = code_with(hub, 9)
    scan(office, f"https://dichvucong.example.gov.vn/tra-cuu?MHS={code}")
    rig.wait_screen(Screen.RECEIPT, 10)
    v = rig.view
    assert v.dossier["code"] == code and v.offer == "DD" and v.offer_kind == "return"
    rig.tap(("receipt",))
    assert wait_until(lambda: rig.view.screen == Screen.TICKET and rig.view.printed, 10), rig.view
    t = rig.view.ticket
    assert t["service"] == "DD" and t["dossier"] == code
    assert wait_until(lambda: len(rig.issued) == 1, 5)
    assert rig.issued[0]["ticket"]["dossier"] == code
    # the engine keeps it with the visit
    db = sqlite3.connect(rig.engine.db_path)
    assert db.execute("SELECT dossier FROM tickets WHERE ticket_id = ?", (t["ticket_id"],)).fetchone()[0] == code
    db.close()
    # the clerk calls it: the counter's state shows the dossier code
    c = rig.admin
    assert c.request(office.topics.counter_command(1), {"action": "open"})["ok"]
    call = c.request(office.topics.counter_command(1), {"action": "next"})
    assert call["ok"] and call["ticket"]["dossier"] == code
    assert wait_until(lambda: any((s.get("serving") or {}).get("dossier") == code for s in states), 5), states
    # the visit's rating is tied to the dossier upstream (DongBoDanhGia's MaHoSo)
    assert c.request(office.topics.counter_command(1), {"action": "finish"})["ok"]
    r = c.request(office.topics.rating_submit, {"counter": 1, "ticket_id": t["ticket_id"], "level": "satisfied"})
    assert r["ok"], r
    pushed = lambda: hub.simulator.upstream.pushed.get("DongBoDanhGia", {})  # noqa: E731
    assert wait_until(lambda: r["rating_id"] in pushed(), 15), pushed()
    assert pushed()[r["rating_id"]]["MaHoSo"] == code and pushed()[r["rating_id"]]["SoThuTu"] == t["number"]


def test_missing_documents_in_process_and_unknown(receipt_office: Any) -> None:
    office, hub, rig = receipt_office
    waiting = code_with(hub, 5)
    scan(office, waiting)
    rig.wait_screen(Screen.RECEIPT, 10)
    assert rig.view.offer == "HT" and rig.view.offer_kind == "supplement"
    rig.tap(("receipt",))
    assert wait_until(lambda: rig.view.screen == Screen.TICKET, 10), rig.view
    assert rig.view.ticket["service"] == "HT" and rig.view.ticket["dossier"] == waiting
    rig.tap(("home",))
    rig.wait_screen(Screen.HOME)
    # still in process: the status, and a ticket only when asked
    busy = code_with(hub, 4)
    scan(office, busy)
    rig.wait_screen(Screen.RECEIPT, 10)
    assert rig.view.offer_kind == "ask" and rig.view.dossier["status"] == 4
    assert len(rig.issued) == 1, "a dossier in process issued a ticket by itself"
    rig.tap(("home",))
    rig.wait_screen(Screen.HOME)
    scan(office, "000.99.99.H99-210101-0007")
    rig.wait_screen(Screen.NOTICE, 10)
    assert rig.view.notice == "receipt_not_found"
    scan(office, "not a code at all")
    assert wait_until(lambda: rig.view.notice == "bad_scan", 10), rig.view
    assert len(rig.issued) == 1
