"""Dossier status board: paging rules, and the daemon on a real broker fed the hub's retained snapshot.

Screenshots go to tmp (or $MOTCUA_SCREENSHOTS, e.g. docs/screenshots).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from edge import protocol as P
from edge.bus import wait_until
from edge.config.devices import DisplayDevice
from edge.ui import save_screenshot
from display.dossiers import BoardView, create_board, rows_for

PROCS = ["Đăng ký khai sinh", "Chứng thực bản sao", "Cấp giấy chứng nhận quyền sử dụng đất",
         "Đăng ký kết hôn", "Xác nhận tình trạng hôn nhân", "Đăng ký hộ kinh doanh"]
NAMES = ["Nguyễn V*** A**", "Trần T** B**", "Lê Q*** C***", "Phạm T** D***", "Hoàng M*** Đ**",
         "Vũ T** Ê**", "Đặng Đ** G**", "Bùi X*** H***"]


def line(i: int, status: int, overdue: bool = False) -> dict[str, Any]:
    return P.BoardDossier(code=f"000.17.22.H56-261121-{i:04d}", procedure=PROCS[i % len(PROCS)],
                          applicant=NAMES[i % len(NAMES)], status=status,
                          status_text="Đã xử lý xong" if status == 9 else "Yêu cầu bổ sung giấy tờ",
                          due_at="2026-11-25T16:30:00+07:00", overdue=overdue).wire()


def snapshot(n_ready: int, n_needs: int, stale: bool = False) -> dict[str, Any]:
    return P.DossierBoard(day="2026-11-21", ready=[line(i, 9) for i in range(n_ready)], ready_total=n_ready + 3,
                          needs_documents=[line(100 + i, 5, overdue=i == 1) for i in range(n_needs)],
                          needs_documents_total=n_needs,
                          today=P.BoardCounts(received=57, finished=41, returned=38, overdue=2),
                          stale=stale, ts="2026-11-21T10:42:00+07:00").wire()


def test_paging_each_list_on_its_own() -> None:
    v = BoardView(rows_per_page=7)
    assert v.set_board(snapshot(17, 4))
    b = v.board
    assert v.page(b.ready)[1:] == (1, 3) and v.page(b.needs_documents)[1:] == (1, 1)
    v.ticks = 2
    rows, i, n = v.page(b.ready)
    assert (i, n) == (3, 3) and len(rows) == 3 and rows[-1].code.endswith("0016")
    v.ticks = 3
    assert v.page(b.ready)[1] == 1  # wraps to the first page
    assert v.needs_paging()
    assert not v.set_board({"day": "x"})  # malformed: the last good snapshot stays
    assert v.board is b
    assert rows_for(1080, 1920, 1080) >= 6


def test_banners() -> None:
    v = BoardView()
    assert v.banner() is None
    v.set_board(snapshot(1, 1, stale=True))
    assert "gián đoạn" in v.banner() and "10:42" in v.banner()
    v.set_hub_status({"device": "hub", "online": False})
    assert "Mất kết nối" in v.banner()


@pytest.fixture
def board(office: Any):
    dev = DisplayDevice(id="display-1", kind="display", mode="dossiers", width=1920, height=1080, fullscreen=False)
    d = create_board(office.ctx("display-1", "display", device=dev))
    d.start()
    yield d
    d.stop()


def shot(d: Any, name: str, tmp: Path) -> Path:
    folder = Path(os.environ.get("MOTCUA_SCREENSHOTS", tmp))
    done = threading.Event()
    seq = d.screen_seq
    d.loop.call_soon(d.loop.invalidate)
    assert wait_until(lambda: d.screen_seq > seq, 5)
    out: list[Path] = []
    d.loop.call_soon(lambda: (out.append(save_screenshot(d.loop.surface, folder / f"dossiers-{name}.png")), done.set()))
    assert done.wait(5)
    return out[0]


def test_board_follows_the_hub(office: Any, board: Any, tmp_path: Path) -> None:
    shot(board, "waiting", tmp_path)
    assert board.view.board is None
    hub = office.client("admin")
    hub.publish(office.topics.device_status("hub"), {"device": "hub", "kind": "hub", "online": True,
                                                      "state": "ok"}, retain=True)
    hub.publish(office.topics.dossier_board, snapshot(17, 4), retain=True)
    assert wait_until(lambda: board.view.board is not None, 5)
    assert board.view.board.today.received == 57
    shot(board, "page-1", tmp_path)
    board.loop.call_soon(board._turn_page)
    assert wait_until(lambda: board.view.ticks == 1, 5)
    shot(board, "page-2", tmp_path)
    hub.publish(office.topics.dossier_board, snapshot(0, 0, stale=True), retain=True)
    assert wait_until(lambda: board.view.board.stale, 5)
    shot(board, "stale-empty", tmp_path)
    hub.publish(office.topics.dossier_board, b"{broken", retain=False)
    hub.publish(office.topics.device_status("hub"), {"device": "hub", "online": False}, retain=True)
    assert wait_until(lambda: not board.view.hub_online, 5)
    assert board.view.board.stale  # the broken payload did not replace the snapshot
    shot(board, "hub-offline", tmp_path)
    assert board.healthy()


def test_board_gets_the_retained_snapshot_on_start(office: Any) -> None:
    hub = office.client("admin")
    hub.publish(office.topics.dossier_board, snapshot(3, 2), retain=True).wait_for_publish(5)
    dev = DisplayDevice(id="display-1", kind="display", mode="dossiers", width=1280, height=720, fullscreen=False)
    d = create_board(office.ctx("display-1", "display", device=dev))
    d.start()
    try:
        assert wait_until(lambda: d.view.board is not None and len(d.view.board.ready) == 3, 5)
        assert not d.view.needs_paging()
    finally:
        d.stop()
