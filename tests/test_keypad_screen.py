"""The on-screen keypad (pygame, SDL dummy driver) against the real engine: clicks become commands."""
from __future__ import annotations

import json
from pathlib import Path

import pygame
import pytest

import kiosk.keypad as keypad
from edge.bus import wait_until
from harness import TestOffice, copy_config

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
KEYPAD_1 = '''[[devices]]
id = "keypad-1"
kind = "keypad"
counter = 1
'''


@pytest.fixture(params=["vi", "en"])
def screen_office(tmp_path: Path, request):
    cfg = copy_config(tmp_path, replace={KEYPAD_1: KEYPAD_1 + f'backend = "screen"\nlocale = "{request.param}"\n'
                                                             'repeat_guard_s = 0\n'})
    office = TestOffice(tmp_path / "data", cfg).start()
    office.start_engine()
    d = keypad.create(office.ctx("keypad-1", "keypad"))
    d.start()
    office._closers.append(d.stop)
    yield office, d, request.param
    office.close()


def click(screen, value: str) -> None:
    """A real mouse click (down and up events) on the centre of the button with `value`."""
    assert wait_until(lambda: any(b.value == value and b.enabled for b in screen.buttons), 5), \
        [(b.value, b.enabled) for b in screen.buttons]
    button = next(b for b in screen.buttons if b.value == value)
    pos = pygame.Rect(button.rect).center
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1, touch=False))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1, touch=False))


def test_screen_keypad_shows_the_counter_and_sends_commands(screen_office, tmp_path):
    office, d, locale = screen_office
    screen = d.source
    admin, t = office.client("admin"), office.topics
    called: list[dict] = []
    admin.subscribe(t.ticket_event("called"), lambda topic, p: called.append(json.loads(p)))

    assert wait_until(lambda: screen.view.status == "closed", 10)
    click(screen, "open")  # a closed counter offers only "open"
    assert wait_until(lambda: screen.view.status == "open", 10)
    for _ in range(3):
        assert admin.request(t.ticket_issue, {"service": "HT"})["ok"]
    assert wait_until(lambda: screen.view.waiting == 3, 10)
    click(screen, "next")
    assert wait_until(lambda: screen.view.serving == "2001" and not screen.view.busy, 10)
    assert wait_until(lambda: bool(called), 5) and called[0]["ticket"]["number"] == "2001"
    expected = "Đã gọi số 2001." if locale == "vi" else "Called 2001."
    assert wait_until(lambda: screen.message() == expected, 5)
    assert wait_until(lambda: screen.view.waiting == 2, 10)

    # Transfer: the buttons become the office's services; HT is the first one.
    click(screen, "transfer")
    assert wait_until(lambda: screen.choosing, 5)
    assert [b.label for b in screen.buttons][:3] == ["Chứng thực - Hộ tịch", "Đất đai", "Đăng ký kinh doanh"]
    shot_dir = SHOTS if locale == "vi" else tmp_path
    assert screen.screenshot(shot_dir / f"keypad-transfer{'' if locale == 'vi' else '-en'}.png").wait(5)
    click(screen, "2")
    assert wait_until(lambda: not screen.choosing and screen.view.last is not None
                      and screen.view.last.command.action == "transfer" and screen.view.last.ok, 10)

    click(screen, "pause")  # the office's pause reasons
    assert wait_until(lambda: screen.mode == "reasons", 5)
    assert [b.label for b in screen.buttons][:3] == ["Nghỉ trưa", "Đi họp", "Hỗ trợ công dân"]
    click(screen, "reason:1")
    assert wait_until(lambda: screen.view.status == "paused", 10)
    assert wait_until(lambda: any(b.value == "resume" for b in screen.buttons), 5)
    click(screen, "finish")  # nobody served after the transfer: the engine says so, in words
    assert wait_until(lambda: screen.view.last.command.action == "finish" and not screen.view.last.ok, 10)
    if locale == "vi":
        assert screen.message() == screen.view.last.message and screen.message()
    else:
        assert screen.message() == "Nobody is being served."

    shot = tmp_path / f"keypad-{locale}.png"
    assert screen.screenshot(shot).wait(5)
    assert pygame.image.load(str(shot)).get_size() == (480, 320)
    assert d.healthy()


def test_screen_keypad_calls_out_of_turn_transfers_to_a_counter_and_closes(screen_office):
    office, d, locale = screen_office
    screen = d.source
    admin, t = office.client("admin"), office.topics
    assert wait_until(lambda: screen.view.status == "closed", 10)
    click(screen, "open")
    for _ in range(3):
        assert admin.request(t.ticket_issue, {"service": "HT"})["ok"]
    assert admin.request(t.counter_command(2), {"action": "open"})["ok"]
    click(screen, "call")  # a number pad: type 2003, then Gọi
    assert wait_until(lambda: screen.mode == "call", 5)
    for digit in "2003":
        click(screen, f"digit:{digit}")
    assert wait_until(lambda: screen.entry == "2003", 5)
    if locale == "vi":
        assert screen.screenshot(SHOTS / "keypad-call.png").wait(5)
    click(screen, "call_ok")
    assert wait_until(lambda: screen.view.serving == "2003" and not screen.view.busy, 10)
    click(screen, "transfer")
    assert wait_until(lambda: screen.choosing, 5)
    click(screen, "to_counter")
    assert wait_until(lambda: screen.mode == "to_counter", 5)
    click(screen, "counter:2")
    assert wait_until(lambda: screen.view.last is not None and screen.view.last.command.action == "transfer"
                      and screen.view.last.ok, 10)
    waiting = {x["number"]: x for x in admin.request(t.queue_waiting, {})["tickets"]}
    assert (waiting["2003"]["status"], waiting["2003"]["counter"]) == ("waiting", 2)  # reserved for counter 2
    click(screen, "close")
    assert wait_until(lambda: screen.view.status == "closed", 10)
