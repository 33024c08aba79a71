"""The in/out board following the engine's counter states (sign-ins, pauses with a reason,
closing) and a desk camera's presence events, over a real broker with the real engine."""
from __future__ import annotations

import os
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from harness import TestOffice, copy_config

from display.presence import PresenceBoard, PresenceView
from edge import protocol as P
from edge.bus import wait_until
from edge.ui import save_screenshot

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BOARD = ('[[devices]]\nid = "display-9"\nkind = "display"\nmode = "presence"\nfullscreen = false\n'
         'width = 1280\nheight = 720\nroster = ["Nguyễn Thị Lan", "Trần Văn Bình", "Lê Minh Châu", "Phạm Thu Hà"]\n\n[hub]')


def state(counter: int, status: str, staff: str | None = None, reason: str | None = None) -> P.CounterState:
    return P.CounterState(counter=counter, name=f"Quầy {counter}", status=status, staff=staff, reason=reason,
                          services=["HT"], serving=None, ts="2026-11-23T08:00:00+07:00")


def test_view_rules_and_the_day_rolling_over() -> None:
    today = [date(2026, 11, 23)]
    v = PresenceView([(1, "Quầy 1"), (2, "Quầy 2")], ["Nguyễn Thị Lan", "Trần Văn Bình"], lambda: today[0])
    t = datetime(2026, 11, 23, 8, 0, tzinfo=TZ)
    assert v.away() == ["Nguyễn Thị Lan", "Trần Văn Bình"]
    assert v.counter_state(state(1, "open", "Nguyễn Thị Lan"), t)
    assert v.line(v.rows[1], t)[:2] == ("Nguyễn Thị Lan", "Đang làm việc tại quầy")
    assert v.away() == ["Trần Văn Bình"]
    assert v.counter_state(state(1, "paused", "Nguyễn Thị Lan", "Họp giao ban"), t)
    assert v.line(v.rows[1], t)[1] == "Tạm nghỉ: Họp giao ban"
    assert not v.counter_state(state(1, "paused", "Nguyễn Thị Lan", "Họp giao ban"), t)  # no change, no redraw
    assert v.counter_state(state(1, "closed"), t + timedelta(hours=3))
    assert v.line(v.rows[1], t)[:2] == ("Nguyễn Thị Lan", "Đã rời quầy lúc 11:00")
    assert v.away() == ["Trần Văn Bình"]  # she came today: not away
    assert not v.counter_state(state(9, "open", "Người lạ"), t)  # not a counter of this office
    assert not v.camera(P.CameraEvent(device="camera-9", counter=1, state="occupancy", ts=P.rfc3339(t)), t)
    today[0] = date(2026, 11, 24)
    assert v.away() == ["Nguyễn Thị Lan", "Trần Văn Bình"]
    assert v.line(v.rows[1], t)[1] == "Quầy chưa mở"


def shot(board: PresenceBoard, path: Path) -> None:
    seq = board.screen_seq
    board.loop.invalidate()
    board.loop.call_soon(lambda: None)
    assert wait_until(lambda: board.screen_seq > seq, 5)
    done = threading.Event()
    board.loop.call_soon(lambda: (save_screenshot(board.loop.surface, path), done.set()))
    assert done.wait(5)


def test_board_follows_sign_ins_pauses_and_the_camera(tmp_path: Path) -> None:
    office = TestOffice(tmp_path / "data", copy_config(tmp_path, replace={"[hub]": BOARD})).start()
    board = None
    try:
        office.start_engine()
        board = PresenceBoard(office.ctx("display-9", "display"))
        board.start()
        v = board.view
        admin, t = office.client("admin"), office.topics
        assert admin.request(t.counter_command(1), {"action": "open", "staff": "Nguyễn Thị Lan"})["ok"]
        assert admin.request(t.counter_command(2), {"action": "open", "staff": "Trần Văn Bình"})["ok"]
        assert admin.request(t.counter_command(3), {"action": "open", "staff": "Lê Minh Châu"})["ok"]
        assert wait_until(lambda: all(v.rows[n].status == "open" for n in (1, 2, 3)), 5)
        assert v.away() == ["Phạm Thu Hà"]
        assert admin.request(t.counter_command(2), {"action": "pause", "reason": "Nghỉ giải lao"})["ok"]
        assert wait_until(lambda: v.rows[2].reason == "Nghỉ giải lao", 5)
        now = datetime.now(TZ)
        admin.publish(t.camera_event("presence"), P.CameraEvent(device="camera-1", counter=1, state="absent",
                                                                absent_s=360, ts=P.rfc3339(now)))
        assert wait_until(lambda: v.rows[1].absent_since is not None, 5)
        assert v.line(v.rows[1], now)[1] == "Tạm vắng tại bàn (6 phút)"
        assert admin.request(t.counter_command(3), {"action": "close"})["ok"]
        assert wait_until(lambda: v.rows[3].status == "closed", 5)
        assert v.line(v.rows[3], now)[1].startswith("Đã rời quầy lúc")
        out = Path(os.environ.get("MOTCUA_SCREENSHOTS", tmp_path))
        shot(board, out / "display-presence.png")
        admin.publish(t.camera_event("presence"), P.CameraEvent(device="camera-1", counter=1, state="present",
                                                                absent_s=400, ts=P.rfc3339(now)))
        assert admin.request(t.counter_command(2), {"action": "resume"})["ok"]
        assert wait_until(lambda: v.rows[1].absent_since is None and v.rows[2].status == "open", 5)
        assert v.line(v.rows[2], now)[1] == "Đang làm việc tại quầy"
        errors: list[bytes] = []
        admin.subscribe(t.error, lambda topic, p: errors.append(p))
        admin.publish(t.camera_event("presence"), b"not json")   # reported, not fatal
        assert wait_until(lambda: errors, 5)
        assert board.healthy()
    finally:
        if board is not None:
            board.stop()
        office.close()
