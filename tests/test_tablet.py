"""The satisfaction tablet: real broker, real engine, pygame under the dummy video driver,
taps as real mouse events through the UI loop."""
from __future__ import annotations

import sqlite3
import unicodedata
from pathlib import Path

import pygame
import pytest

from edge.bus import wait_until
from edge.ui import save_screenshot
from kiosk.tablet.app import TabletDaemon
from kiosk.tablet.screens import Screen, TabletScreens


def tap(tablet: TabletDaemon, value: str) -> None:
    """Press and release the left mouse button on the button whose value is `value`."""
    screens = tablet.screens
    assert wait_until(lambda: any(b.value == value for b in screens.buttons), 5), value
    rect = next(b.rect for b in screens.buttons if b.value == value)
    tap_at(tablet, rect.center)


def tap_at(tablet: TabletDaemon, pos: tuple[int, int]) -> None:
    loop = tablet.loop
    loop.call_soon(pygame.event.post, pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1, touch=False))
    loop.call_soon(pygame.event.post, pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1, touch=False))


def shot(tablet: TabletDaemon, path: Path) -> Path:
    done: list[Path] = []
    tablet.loop.call_soon(lambda: done.append(save_screenshot(tablet.loop.surface, path)))
    assert wait_until(lambda: bool(done), 5)
    return done[0]


def rows(office) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"file:{office.data / 'engine' / 'engine.db'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM ratings ORDER BY submitted_at").fetchall()
    finally:
        conn.close()


@pytest.fixture
def setup(office):
    office.start_engine()
    admin = office.client("admin")
    tablet = TabletDaemon(office.ctx("tablet-1", "tablet"))
    tablet.start()
    yield office, admin, tablet
    tablet.stop()


def serve_one(office, admin) -> str:
    t = office.topics
    admin.request(t.counter_command(1), {"action": "open", "staff": "Nguyễn Thị Lan"})
    admin.request(t.ticket_issue, {"service": "HT"})
    ticket = admin.request(t.counter_command(1), {"action": "next"})["ticket"]
    return ticket


def test_rest_screen_follows_counter_then_rating_flow(setup, tmp_path: Path) -> None:
    office, admin, tablet = setup
    s = tablet.screens
    ticket = serve_one(office, admin)
    assert wait_until(lambda: s.view.serving == ticket["number"] and s.view.staff == "Nguyễn Thị Lan", 10)
    shot(tablet, tmp_path / "rest.png")
    assert s.screen == Screen.REST
    admin.request(office.topics.counter_command(1), {"action": "finish"})
    assert wait_until(lambda: s.screen == Screen.RATE, 10)
    assert s.draft.ticket_id == ticket["ticket_id"]
    tap(tablet, "level:very_satisfied")
    assert wait_until(lambda: s.screen == Screen.THANKS, 5)
    assert wait_until(lambda: len(rows(office)) == 1, 10)
    r = rows(office)[0]
    assert (r["ticket_id"], r["level"], r["staff"], r["counter"]) == \
        (ticket["ticket_id"], "very_satisfied", "Nguyễn Thị Lan", 1)


def test_unsatisfied_with_reasons_and_vietnamese_comment(setup, tmp_path: Path) -> None:
    office, admin, tablet = setup
    s = tablet.screens
    ticket = serve_one(office, admin)
    admin.request(office.topics.counter_command(1), {"action": "finish"})
    assert wait_until(lambda: s.screen == Screen.RATE, 10)
    tap(tablet, "level:unsatisfied")
    assert wait_until(lambda: s.screen == Screen.REASONS, 5)
    send = next(b for b in s.buttons if b.value == "send")
    assert not send.enabled  # at least one reason first
    tap(tablet, "reason:0")  # Chậm
    assert wait_until(lambda: s.draft is not None and s.draft.reasons == ["Chậm"], 5)
    tap(tablet, "reason:2")  # Thái độ
    assert wait_until(lambda: len(s.draft.reasons) == 2, 5)
    tap(tablet, "comment")
    assert wait_until(lambda: s.screen == Screen.COMMENT and s.keyboard is not None, 5)
    kb = s.keyboard
    for action in ("char:c", "char:h", "char:o", "shape:ơ", "tone:huyen", "space",
                   "char:l", "char:a", "shape:â", "char:u"):
        tap_at(tablet, kb.key_at(action).center)
    assert wait_until(lambda: kb.text == "chờ lâu", 5), kb.text
    shot(tablet, tmp_path / "comment.png")
    tap_at(tablet, kb.key_at("enter").center)
    assert wait_until(lambda: s.screen == Screen.REASONS, 5)
    tap(tablet, "send")
    assert wait_until(lambda: len(rows(office)) == 1, 10)
    r = rows(office)[0]
    assert r["level"] == "unsatisfied" and r["ticket_id"] == ticket["ticket_id"]
    assert r["reasons"] == '["Chậm", "Thái độ"]'
    assert r["comment"] == "chờ lâu" == unicodedata.normalize("NFC", r["comment"])


def test_idle_timeout_goes_back_to_rest_without_rating() -> None:
    timers: list = []

    class Handle:
        def __init__(self, fn):
            self.fn, self.cancelled = fn, False

        def cancel(self):
            self.cancelled = True

    def schedule(delay, fn):
        h = Handle(fn)
        timers.append((delay, h))
        return h

    sent: list = []
    pygame.font.init()
    s = TabletScreens((1024, 600), 1, "Quầy 1", ["Chậm", "Khác"], 20, sent.append, schedule)
    s.on_done("20261123-HT-0001", "2001")
    assert s.screen == Screen.RATE and timers[-1][0] == 20
    s.tap(next(b.rect.center for b in s.buttons if b.value == "level:unsatisfied"))
    assert s.screen == Screen.REASONS and timers[-2][1].cancelled  # a touch re-arms the timeout
    timers[-1][1].fn()  # nobody touches the screen for idle_timeout_s
    assert s.screen == Screen.REST and s.draft is None and sent == []
    # a satisfied rating: thanks, then rest after the thank-you delay
    s.on_done("20261123-HT-0002", "2002")
    s.tap(next(b.rect.center for b in s.buttons if b.value == "level:satisfied"))
    assert s.screen == Screen.THANKS and sent == [{"counter": 1, "ticket_id": "20261123-HT-0002",
                                                   "level": "satisfied", "reasons": []}]
    timers[-1][1].fn()
    assert s.screen == Screen.REST


def test_english_locale_toggle_and_back_to_vietnamese() -> None:
    pygame.font.init()
    s = TabletScreens((1024, 600), 1, "Quầy 1", ["Chậm"], 20, lambda f: None, lambda d, fn: None)
    s.on_done("x", "2001")
    s.tap(next(b.rect.center for b in s.buttons if b.value == "lang"))
    assert s.locale == "en" and any(b.label == "Not satisfied" for b in s.buttons)
    s._rest()
    assert s.locale == "vi"


def test_done_at_other_counter_and_bad_payloads_are_ignored(setup) -> None:
    office, admin, tablet = setup
    t = office.topics
    admin.publish(t.ticket_event("done"), b"{not json")
    admin.publish(t.counter_state(1), b"[]")
    admin.request(t.counter_command(2), {"action": "open", "staff": "Trần Văn Minh"})
    admin.request(t.ticket_issue, {"service": "HT"})
    admin.request(t.counter_command(2), {"action": "next"})
    admin.request(t.counter_command(2), {"action": "finish"})
    ticket = serve_one(office, admin)
    admin.request(t.counter_command(1), {"action": "finish"})
    assert wait_until(lambda: tablet.screens.screen == Screen.RATE, 10)
    assert tablet.screens.draft.ticket_id == ticket["ticket_id"]


def test_motcua_tablet_command_runs_and_stops(office) -> None:
    """The real `motcua tablet` process (dummy video driver): status ok, clean stop on SIGTERM."""
    import json
    import os
    import signal
    import subprocess
    import sys

    admin = office.client("admin")
    states: list[dict] = []
    admin.subscribe(office.topics.device_status("tablet-1"), lambda t, p: states.append(json.loads(p)))
    motcua = Path(sys.executable).parent / "motcua"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    proc = subprocess.Popen([str(motcua), "tablet", str(office.config_path), "--device", "tablet-1",
                             "--broker", f"mqtt://127.0.0.1:{office.port}", "--data", str(office.data)],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert wait_until(lambda: any(s.get("state") == "ok" for s in states), 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=20)[1]
    assert proc.returncode == 0, err
    assert (office.data / "tablet-1" / "outbox.db").exists()
