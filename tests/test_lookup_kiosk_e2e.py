"""The whole lookup path, all real: scanner daemon (file feed) -> MQTT -> lookup kiosk -> hub
(its upstream simulator over HTTP, its SQLite cache) -> result screen; and the hub's board
snapshot on the dossier status board."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from harness import TestOffice, copy_config

from display.dossiers import create_board
from edge.bus import wait_until
from edge.config.devices import DisplayDevice
from hub.daemon import HubDaemon
from kiosk.lookup import create_lookup
from scanner.daemon import create as create_scanner

CONFIG = {"simulator_dossiers = 200": "simulator_dossiers = 120\nsync_interval_s = 3600\n"
          "lookup_timeout_s = 1\nreturn_counter = \"Quầy 5\""}


@pytest.fixture
def e2e(tmp_path: Path) -> Iterator[tuple[TestOffice, HubDaemon]]:
    o = TestOffice(tmp_path / "data", copy_config(tmp_path, replace=CONFIG)).start()
    hub = HubDaemon(o.ctx("hub", "hub"), backoff_base=0.05)
    hub.start()
    try:
        assert wait_until(lambda: hub.sync.runs >= 1, 20), "initial sync did not finish"
        yield o, hub
    finally:
        hub.stop()
        o.close()


def test_scan_reaches_the_screen_through_the_real_hub(e2e: Any) -> None:
    office, hub = e2e
    up = hub.simulator.upstream
    code = next(c for c, r in up.records.items() if int(r["TrangThaiHoSo"]) == 9)
    scanner = create_scanner(office.ctx("scanner-1", "scanner"))
    kiosk = create_lookup(office.ctx("kiosk-2", "kiosk"))
    scanner.start()
    kiosk.start()
    try:
        feed = office.data / "scanner-1" / "codes.txt"
        assert wait_until(lambda: scanner.reader.state.value == "ready", 10)
        with feed.open("a") as f:
            f.write(f"https://dichvucong.example.gov.vn/tra-cuu?MHS={code}\n")
        c = kiosk.ctrl
        assert wait_until(lambda: c.screen == "result", 10), (c.screen, c.error_text)
        assert c.dossier["code"] == code and c.dossier["status"] == 9
        assert "*" in (c.dossier["applicant"] or "*")
        meaning, step = c.status_lines()
        assert "Quầy 5" in step
        with feed.open("a") as f:
            f.write("000.99.99.H99-210101-0007\n")
        assert wait_until(lambda: c.screen == "error", 10)
        assert c.error_code == "not_found"
    finally:
        kiosk.stop()
        scanner.stop()


def test_board_shows_the_hubs_snapshot(e2e: Any) -> None:
    office, hub = e2e
    dev = DisplayDevice(id="display-1", kind="display", mode="dossiers", width=1280, height=720, fullscreen=False)
    board = create_board(office.ctx("display-1", "display", device=dev))
    board.start()
    try:
        assert wait_until(lambda: board.view.board is not None, 15)
        ready = sum(1 for r in hub.simulator.upstream.records.values() if int(r["TrangThaiHoSo"]) == 9)
        assert board.view.board.ready_total == ready
        assert all(d.status == 9 for d in board.view.board.ready)
        assert all(d.status == 5 for d in board.view.board.needs_documents)
    finally:
        board.stop()
