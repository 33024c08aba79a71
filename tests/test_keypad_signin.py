"""A USB keypad signs its clerk in with code + PIN (a recorded evdev stream), opens the counter,
calls out of turn and closes it, with MO / LOI / DONG on the counter's LED board; and a day
driven only through the keypad and the web console gives per-clerk report rows with the
signed-in names."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import httpx
import pytest
from evdev import InputEvent, ecodes

import display.led as led
import kiosk.keypad as keypad
from display.led.protocols import _SHAPES, SEGMENTS, Shown
from edge.bus import wait_until
from edge.reports.stats import Period, build
from harness import DATA, TestOffice, copy_config
from test_keypad_evdev import KEYPAD_1, StandInDevice, press
from web_office import add_staff, start_web

RECORDED = DATA / "keypad-signin.evdev"


def recorded(path: Path) -> list[InputEvent]:
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            sec, usec, typ, code, value = (int(x) for x in line.split())
            events.append(InputEvent(sec, usec, typ, code, value))
    return events


def keys(*names: str) -> list[InputEvent]:
    return [ev for n in names for ev in press(ecodes.ecodes[n])]


@pytest.fixture
def counter_desk(tmp_path: Path, monkeypatch):
    node = tmp_path / "usb-Stand-in_Keypad-event-kbd"
    node.write_text("")
    cfg = copy_config(tmp_path, replace={KEYPAD_1: KEYPAD_1 + f'backend = "evdev"\npath = "{node}"\n'
                                         'feedback_s = 1.0\nrepeat_guard_s = 0.3\n'})
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n[web]\nenabled = true\nport = 0\n", encoding="utf-8")
    office = TestOffice(tmp_path / "data", cfg).start()
    add_staff(office.data)
    eng = office.start_engine()
    import kiosk.keypad.evdev_keys as ek
    monkeypatch.setattr(ek.evdev, "InputDevice", StandInDevice)  # no kernel input device on this machine
    board = led.create(office.ctx("led-1", "led"))
    board.start()
    office._closers.append(board.stop)
    kp = keypad.create(office.ctx("keypad-1", "keypad"))
    kp.start()
    office._closers.append(kp.stop)
    assert wait_until(lambda: kp.source.device is not None, 10)
    seen: list[Shown] = []
    assert board.sim is not None
    board.sim.on_show = lambda s, t: seen.append(s)
    yield office, eng, kp, board, seen
    office.close()


def glass(text: str) -> str:
    """What a 7-segment board decodes back: LOI and L01 light the same segments."""
    return "".join(_SHAPES[SEGMENTS[c]] for c in text)


def texts(seen: list[Shown]) -> list[str]:
    out: list[str] = []
    for s in list(seen):
        if not out or out[-1] != s.text:
            out.append(s.text)
    return out


def test_keypad_signs_in_with_code_and_pin_and_the_board_answers(counter_desk):
    office, eng, kp, board, seen = counter_desk
    admin, t = office.client(), office.topics
    for _ in range(3):
        assert admin.request(t.ticket_issue, {"service": "HT"})["ok"]
    # a wrong PIN: refused, LOI on the board, the counter stays closed
    kp.source.device.feed(keys("KEY_KP1", "KEY_KP0", "KEY_KP1", "KEY_KPDOT", "KEY_KP9", "KEY_KP9", "KEY_KP9",
                               "KEY_KP9", "KEY_KPENTER"))
    assert wait_until(lambda: glass("LOI") in texts(seen), 10), texts(seen)
    assert eng.rconn.execute("SELECT status FROM counters WHERE number = 1").fetchone()[0] == "closed"
    seen.clear()
    # the recorded stream: 101 . 1234 Enter
    kp.source.device.feed(recorded(RECORDED))
    assert wait_until(lambda: eng.rconn.execute("SELECT status FROM counters WHERE number = 1").fetchone()[0] == "open", 10)
    row = eng.rconn.execute("SELECT staff, staff_login FROM counters WHERE number = 1").fetchone()
    assert tuple(row) == ("Nguyễn Thị Lan", "lan")
    assert wait_until(lambda: glass("MO") in texts(seen), 10), texts(seen)
    assert wait_until(lambda: kp.link.view.staff == "Nguyễn Thị Lan", 5)
    # Next, no-show, then call the absent number again by typing it
    kp.source.device.feed(keys("KEY_KPENTER"))
    assert wait_until(lambda: board.sim.shown(1) is not None and board.sim.shown(1).text == "2001", 10)
    kp.source.device.feed(keys("KEY_KPMINUS"))
    assert wait_until(lambda: eng.rconn.execute("SELECT status FROM tickets WHERE number = '2001'").fetchone()[0] == "no_show", 10)
    kp.source.device.feed(keys("KEY_KPENTER"))
    assert wait_until(lambda: board.sim.shown(1).text == "2002", 10)
    kp.source.device.feed(keys("KEY_KP2", "KEY_KP0", "KEY_KP0", "KEY_KP1", "KEY_KPENTER"))
    assert wait_until(lambda: eng.rconn.execute("SELECT status, staff_login FROM tickets WHERE number = '2001'").fetchone()[0] == "called", 10)
    assert wait_until(lambda: board.sim.shown(1).text == "2001", 10)
    # NumLock closes the counter: DONG, then the board goes blank
    seen.clear()
    kp.source.device.feed(keys("KEY_NUMLOCK"))
    assert wait_until(lambda: glass("DONG") in texts(seen), 10), texts(seen)
    assert wait_until(lambda: board.sim.shown(1).text == "", 10)
    assert eng.rconn.execute("SELECT status FROM counters WHERE number = 1").fetchone()[0] == "closed"
    rows = {r["number"]: r for r in eng.rconn.execute("SELECT * FROM tickets")}
    assert rows["2001"]["staff_login"] == "lan" and rows["2001"]["ended_by"] == "lan"  # closed: done by Lan


def test_a_day_through_keypad_and_console_reports_per_clerk(counter_desk):
    office, eng, kp, board, seen = counter_desk
    web = start_web(office)
    admin, t = office.client(), office.topics
    for service in ("HT",) * 4 + ("DD",) * 2:
        assert admin.request(t.ticket_issue, {"service": service})["ok"]
    # Lan at counter 1 with the keypad
    kp.source.device.feed(recorded(RECORDED))
    assert wait_until(lambda: kp.link.view.status == "open", 10)
    kp.source.device.feed(keys("KEY_KPENTER"))
    assert wait_until(lambda: kp.link.view.serving == "2001", 10)
    # Minh at counter 2 in the console
    with httpx.Client(base_url=web.url, timeout=10) as c:
        csrf = re.search(r'data-csrf="([^"]+)"', c.get("/login").text).group(1)
        assert c.post("/login", json={"login": "minh", "password": "matkhau-minh"},
                      headers={"X-CSRF-Token": csrf}).json()["ok"]
        csrf = re.search(r'name="csrf" content="([^"]+)"', c.get("/console").text).group(1)
        step = iter(range(100))

        def act(action: str, n: int) -> dict:
            r = c.post(f"/api/counter/{n}", json={"action": action, "rid": f"step{next(step):04d}"},
                       headers={"X-CSRF-Token": csrf})
            return r.json()
        assert act("open", 2)["message"] == "Đã mở Quầy 2."
        assert act("next", 2)["message"] == "Đã gọi số 2002 đến Quầy 2."
        assert act("next", 2)["message"] == "Đã gọi số 2003 đến Quầy 2."
        assert act("skip", 2)["message"] == "Đã ghi số 2003 vắng mặt."
        assert act("next", 2)["message"] == "Đã gọi số 2004 đến Quầy 2."
        assert act("finish", 2)["message"] == "Đã xong số 2004."
        assert act("close", 2)["message"] == "Đã đóng Quầy 2."
    kp.source.device.feed(keys("KEY_KPENTER"))  # 2001 done; no HT left waiting: DD 1001
    assert wait_until(lambda: kp.link.view.serving == "1001", 10)
    kp.source.device.feed(keys("KEY_NUMLOCK"))
    assert wait_until(lambda: kp.link.view.status == "closed", 10)
    day = eng.rconn.execute("SELECT day FROM tickets LIMIT 1").fetchone()[0]
    rep = build(eng.rconn, Period.day(date.fromisoformat(day)),
                counter_names={c.number: c.label for c in office.cfg.counters})
    work = {r[0]: r for r in rep.table("work_by_staff").rows}
    assert set(work) == {"Nguyễn Thị Lan", "Trần Văn Minh"}
    lan, minh = work["Nguyễn Thị Lan"], work["Trần Văn Minh"]
    assert (lan[1], lan[2], lan[3], lan[5], lan[6], lan[7]) == ("lan", "Quầy 1", 1, 2, 2, 0)
    assert lan[4] is not None and minh[4] is not None  # minutes at the counter, from the sign-in sessions
    assert (minh[1], minh[2], minh[3], minh[5], minh[6], minh[7]) == ("minh", "Quầy 2", 1, 3, 2, 1)
    timing = {r[0] for r in rep.table("times_by_staff").rows}
    assert timing == {"Nguyễn Thị Lan", "Trần Văn Minh"}
