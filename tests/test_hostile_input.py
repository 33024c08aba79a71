"""Issue 11 findings 8-10 through the real broker and the daemons: huge text in retained state
does not freeze a screen; control characters never reach people; lone surrogates and
failing events do not kill the camera's capture thread; every consumer reports bad input
on the error topic."""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import display_scene as S
import pytest
from harness import TestOffice

from display.daemon import create as create_display
from edge.bus import wait_until
from edge.clock import ManualClock
from edge.limits import clean_text
from edge.ui.fonts import MAX_SHOWN, nfc

ROOT = Path(__file__).resolve().parents[1]
WARD = ROOT / "config" / "examples" / "ward.toml"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HUGE = "Chung thuc ho tich " * 3000  # 57,000 characters, under the 64 KiB payload limit
HOSTILE = "Nguyễn\x00 Thị\u202e Lan\x1b[31m\ud800"


class Errors:
    def __init__(self, office: TestOffice) -> None:
        self.items: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        office.client("admin").subscribe(office.topics.error, self._on)

    def _on(self, _t: str, p: bytes) -> None:
        with self.lock:
            self.items.append(json.loads(p))

    def on(self, topic: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.items if e["topic"] == topic]


def test_clean_text_strips_controls_and_bounds_length() -> None:
    assert clean_text(HOSTILE, 100) == "Nguyễn Thị Lan"
    assert clean_text("a\nb\tc", 10) == "a\nb c" and clean_text("a\nb", 10, newlines=False) == "a b"
    assert len(nfc(HUGE)) == MAX_SHOWN and nfc(HUGE).endswith("…")
    assert clean_text("Cu\u0300", 10) == "Cù"  # NFC


@pytest.fixture
def ward(tmp_path: Path):
    o = TestOffice(tmp_path / "data", WARD).start()
    yield o
    o.close()


def test_huge_text_in_retained_state_does_not_freeze_the_tv_board(ward: TestOffice) -> None:
    admin = ward.client("admin")
    S.publish_scene(admin, ward.topics, notice=HUGE)
    q = S.queue_state()
    q["services"][0]["name"] = HUGE
    admin.publish(ward.topics.queue_state, q, retain=True)
    admin.publish(ward.topics.counter_state(1), S.counter_state(1, "open", HUGE, "1023", "DD"), retain=True)
    dev = ward.cfg.device("display-1").model_copy(update={"fullscreen": False})
    board = create_display(ward.ctx("display-1", "display", clock=ManualClock(TZ, datetime(2026, 11, 23, 9, 42, tzinfo=TZ)),
                                    device=dev))
    board.start()
    ward._closers.append(board.stop)
    assert board.ready.wait(20)
    assert wait_until(lambda: board.state.snapshot().has_queue_state
                      and board.state.snapshot().notice.startswith("Chung"), 20)
    done: list[dict] = []
    board.run_on_ui(lambda: (board._draw(board.loop.surface), done.append(dict(board.painter.drawn))))
    assert done, "the board did not finish one frame"
    assert all(len(t) <= MAX_SHOWN for texts in done[0].values() for t in texts), {k: max(len(t) for t in v) for k, v in done[0].items() if v}
    # and it stays responsive: the next call shows at once
    admin.publish(ward.topics.ticket_event("called"), S.called("1024", "DD", 1))
    assert wait_until(lambda: board.state.snapshot().latest is not None
                      and board.state.snapshot().latest.number == "1024", 20)
    again: list[dict] = []
    board.run_on_ui(lambda: (board._draw(board.loop.surface), again.append(dict(board.painter.drawn))))
    assert "1024" in again[0]["hero"]


def test_control_characters_are_never_stored_or_broadcast(office: TestOffice) -> None:
    office.start_engine()
    t = office.topics
    admin = office.client("admin")
    states: list[dict] = []
    admin.subscribe(t.counter_state(1), lambda _t, p: states.append(json.loads(p)))
    staff = "Nguyễn\x00 Thị\u202e Lan\x1b[31m"
    assert admin.request(t.counter_command(1), {"action": "open", "staff": staff}, timeout=5)["ok"]
    assert wait_until(lambda: states and states[-1]["staff"] == "Nguyễn Thị Lan", 10), states
    assert admin.request(t.counter_command(1), {"action": "pause", "reason": "Họp\x07\u200f giao ban\x1b]0;x"},
                         timeout=5)["ok"]
    assert wait_until(lambda: states[-1]["status"] == "paused", 10)
    assert admin.request(t.ticket_issue, {"service": "HT"}, timeout=5)["ok"]
    assert admin.request(t.counter_command(1), {"action": "resume"}, timeout=5)["ok"]
    assert admin.request(t.counter_command(1), {"action": "next"}, timeout=5)["ok"]
    assert admin.request(t.counter_command(1), {"action": "finish"}, timeout=5)["ok"]
    tablet = office.client("tablet-1", kind="tablet")
    rated = tablet.request(t.rating_submit, {"counter": 1, "ticket_id": None, "level": "unsatisfied",
                                             "reasons": ["Chậm\x00\u202e"], "comment": "Tốt\x1b[2J lắm\u200b"},
                           timeout=5)
    assert rated["ok"], rated
    with sqlite3.connect(office.data / "engine" / "engine.db") as db:
        staff_row = db.execute("SELECT staff FROM counters WHERE number = 1").fetchone()[0]
        reasons, comment = db.execute("SELECT reasons, comment FROM ratings").fetchone()
    assert staff_row == "Nguyễn Thị Lan"
    assert json.loads(reasons) == ["Chậm"] and comment == "Tốt lắm"


def test_lone_surrogates_and_deep_nesting_are_bad_payloads_reported_by_every_consumer(office: TestOffice) -> None:
    office.start_engine()
    t = office.topics
    errors = Errors(office)
    admin = office.client("admin")
    reply: list[dict] = []
    admin.subscribe(admin.reply_topic, lambda _t, p: reply.append(json.loads(p)))
    nested = b'{"id": "n-1", "reply_to": "' + admin.reply_topic.encode() + b'", "x": ' + b"[" * 20000 + b"]" * 20000 + b"}"
    assert len(nested) < 64 * 1024
    admin.publish(t.ticket_issue, nested)
    assert wait_until(lambda: any("too deeply" in e["message"] for e in errors.on(t.ticket_issue)), 10), errors.items
    surrogate = ('{"id": "s-1", "reply_to": "%s", "service": "HT", "source": "\\ud800"}' % admin.reply_topic).encode()
    admin.publish(t.ticket_issue, surrogate)
    assert wait_until(lambda: any("surrogate" in e["message"] for e in errors.on(t.ticket_issue)), 10), errors.items
    # the engine is still serving
    assert admin.request(t.ticket_issue, {"service": "HT"}, timeout=5)["ok"]


def test_lookup_kiosk_reports_bad_scans_on_the_error_topic(office: TestOffice) -> None:
    from kiosk.lookup import create_lookup
    errors = Errors(office)
    t = office.topics
    kiosk = create_lookup(office.ctx("kiosk-2", "kiosk"))
    kiosk.start()
    office._closers.append(kiosk.stop)
    assert wait_until(lambda: kiosk.bus.connected.is_set(), 20)
    scanner = office.client("scanner-1", kind="scanner")
    scanner.publish(t.scan("scanner-1"), b"not json")
    scanner.publish(t.scan("scanner-1"), {"code": 5})
    assert wait_until(lambda: len(errors.on(t.scan("scanner-1"))) >= 2, 15), errors.items


def test_dossier_board_reports_bad_snapshots_on_the_error_topic(office: TestOffice) -> None:
    from display.dossiers import create_board
    errors = Errors(office)
    t = office.topics
    dev = office.cfg.device("display-1").model_copy(update={"mode": "dossiers", "fullscreen": False})
    board = create_board(office.ctx("display-1", "display", device=dev))
    board.start()
    office._closers.append(board.stop)
    assert wait_until(lambda: board.bus.connected.is_set(), 20)
    hub = office.client("hub", kind="hub")
    hub.publish(t.dossier_board, b"{broken")
    hub.publish(t.dossier_board, {"day": 3})
    assert wait_until(lambda: len(errors.on(t.dossier_board)) >= 2, 15), errors.items


def test_camera_survives_failing_events_and_says_when_its_thread_dies(office: TestOffice, tmp_path: Path) -> None:
    from scanner.camera.daemon import CameraDaemon
    from scanner.camera.sources import VirtualSource
    clock = ManualClock(TZ, datetime(2026, 11, 23, 8, 0, tzinfo=TZ))
    dev = office.cfg.device("camera-1").model_copy(update={"fps": 20, "width": 160, "height": 90,
                                                           "clip_pre_s": 0.2, "clip_post_s": 0.2})
    source = VirtualSource(dev, seed=3)
    cam = CameraDaemon(office.ctx("camera-1", "camera", clock=clock, device=dev), source=source)
    errors = Errors(office)
    admin = office.client("admin")
    status: list[dict] = []
    snaps: list[dict] = []
    admin.subscribe(office.topics.device_status("camera-1"), lambda _t, p: status.append(json.loads(p)))
    admin.subscribe(office.topics.camera_event("snapshot"), lambda _t, p: snaps.append(json.loads(p)))
    cam.start()
    try:
        t = office.topics
        assert wait_until(lambda: status and status[-1].get("state") == "ok", 10)
        # a lone surrogate in a ticket id: refused at the door, reported, the capture goes on
        ev = json.dumps(S.called("2001", "HT", 1)).replace('"ticket_id": "', '"ticket_id": "\\ud800', 1)
        admin.publish(t.ticket_event("called"), ev.encode())
        assert wait_until(lambda: errors.on(t.ticket_event("called")), 10), errors.items
        # the media folder is gone (a file where it should be): the snapshot fails, is reported
        root = cam.media.root
        blocker = tmp_path / "blocker"
        blocker.write_text("x")
        cam.media.root = blocker
        admin.publish(t.ticket_event("called"), S.called("2002", "HT", 1))
        assert wait_until(lambda: len(errors.on(t.ticket_event("called"))) >= 2, 10), errors.items
        assert cam.healthy()
        cam.media.root = root
        admin.publish(t.ticket_event("called"), S.called("2003", "HT", 1))
        assert wait_until(lambda: snaps, 10)
        assert cam.healthy() and status[-1]["state"] == "ok"
        # a bug in the frame source ends the capture thread: unhealthy, and the status says so
        source.scene = None
        assert wait_until(lambda: not cam.healthy(), 10)
        assert wait_until(lambda: status[-1]["state"] == "error"
                          and "capture thread stopped" in status[-1]["detail"]["error"], 10), status[-1]
    finally:
        time.sleep(0.1)
        cam.stop()
