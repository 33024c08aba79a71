"""Counter keypads: key maps, the serial line protocol and the virtual pty keypad against the real engine."""
from __future__ import annotations

import json
import os
import select
import time
from pathlib import Path

import pytest

import kiosk.keypad as keypad
from display.led.virtual import PtyPair
from edge.bus import wait_until
from edge.config import load
from harness import TestOffice, copy_config
from kiosk.keypad.keys import Command, Ignored, KeyInterpreter, Prompt, default_keymap, key_name

KEYPAD_1 = '''[[devices]]
id = "keypad-1"
kind = "keypad"
counter = 1
'''


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def interpreter(backend="serial", status="open", guard=1.0, keymap=None):
    clock = FakeClock()
    km = keymap or default_keymap(backend, ["HT", "DD", "KD"])
    return KeyInterpreter(km, evdev_names=backend == "evdev", repeat_guard_s=guard, transfer_timeout_s=5,
                          counter_status=lambda: status, clock=clock), clock


# ------------------------------------------------------------------ keys


def test_default_evdev_map_and_key_names():
    ki, clock = interpreter("evdev")
    assert key_name("kpenter") == "KEY_KPENTER" == key_name("KEY_KPENTER")
    assert ki.press("KEY_KPENTER") == Command("next")
    clock.t += 2
    assert ki.press("KEY_KPPLUS") == Command("recall")
    assert ki.press("KEY_A") == Ignored("unmapped")


def test_transfer_takes_a_service_key_within_the_timeout():
    ki, clock = interpreter()
    assert ki.press("transfer") == Prompt("transfer", ("HT", "DD", "KD"))
    clock.t += 1
    assert ki.press("2") == Command("transfer", {"service": "DD"})
    assert ki.press("3") == Ignored("no_transfer")  # a service key alone does nothing
    clock.t += 2
    ki.press("transfer")
    clock.t += 6  # too late
    assert ki.press("1") == Ignored("no_transfer")
    clock.t += 2
    ki.press("transfer")
    assert ki.press("next") == Command("next")  # another key cancels the transfer
    assert ki.press("1") == Ignored("no_transfer")


def test_one_key_transfer_and_pause_toggles_with_the_counter_status():
    ki, _ = interpreter(keymap={"F1": "transfer:KD", "F2": "pause"})
    assert ki.press("f1") == Command("transfer", {"service": "KD"})
    assert ki.press("F2") == Command("pause")
    paused, _ = interpreter(status="paused", keymap={"F2": "pause"})
    assert paused.press("F2") == Command("resume")


def test_a_bouncing_key_never_sends_twice():
    ki, clock = interpreter(guard=1.0)
    assert ki.press("next") == Command("next")
    clock.t += 0.3
    assert ki.press("next") == Ignored("repeat")
    assert ki.press("recall") == Command("recall")  # a different key is fine
    clock.t += 1.5
    assert ki.press("next") == Command("next")


def test_bad_keymaps_are_config_errors(tmp_path: Path):
    bad = copy_config(tmp_path, replace={KEYPAD_1: KEYPAD_1 + 'keymap = { F1 = "explode" }\n'})
    with pytest.raises(Exception, match="unknown action 'explode'"):
        load(bad)
    no_port = copy_config(tmp_path, replace={KEYPAD_1: KEYPAD_1 + 'backend = "serial"\n'})
    with pytest.raises(Exception, match="needs `port`"):
        load(no_port)


# ------------------------------------------------------------------ line protocol against the engine


class KeypadEnd:
    """The keypad's end of a serial line: writes key lines, reads feedback lines."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""
        self.lines: list[str] = []

    def key(self, text: str | bytes) -> None:
        os.write(self.fd, text if isinstance(text, bytes) else text.encode() + b"\r\n")

    def pump(self) -> list[str]:
        while select.select([self.fd], [], [], 0)[0]:
            try:
                self.buf += os.read(self.fd, 4096)
            except OSError:
                break
        *done, self.buf = self.buf.split(b"\r\n")
        self.lines += [d.decode() for d in done]
        return self.lines

    def wait_for(self, prefix: str, timeout: float = 10) -> str:
        found: list[str] = []

        def check() -> bool:
            found[:] = [ln for ln in self.pump() if ln.startswith(prefix)]
            return bool(found)
        assert wait_until(check, timeout), (prefix, self.lines)
        self.lines.remove(found[0])
        return found[0]


@pytest.fixture
def serial_office(tmp_path: Path):
    pair = PtyPair()
    link = tmp_path / "ttyKEYPAD"
    link.symlink_to(pair.path)
    cfg = copy_config(tmp_path, replace={KEYPAD_1: KEYPAD_1 + f'backend = "serial"\nport = "{link}"\n'
                                                             'repeat_guard_s = 0.5\n'})
    office = TestOffice(tmp_path / "data", cfg).start()
    office.start_engine()
    yield office, pair, link
    office.close()
    pair.close()


def start_keypad(office: TestOffice, device_id: str = "keypad-1"):
    d = keypad.create(office.ctx(device_id, "keypad"))
    d.start()
    office._closers.append(d.stop)
    return d


def test_serial_keypad_calls_transfers_and_reports(serial_office):
    office, pair, _ = serial_office
    d = start_keypad(office)
    pad = KeypadEnd(pair.master)
    admin, t = office.client("admin"), office.topics
    events: list[dict] = []
    admin.subscribe(t.ticket_event_all, lambda topic, p: events.append({"action": topic.rsplit("/", 1)[-1], **json.loads(p)}))
    assert wait_until(lambda: d.source.state.value == "ready", 10)

    pad.key("next")
    assert pad.wait_for("ERR ") == "ERR counter_closed"
    pad.key("open")
    assert pad.wait_for("OK open")
    for _ in range(2):
        assert admin.request(t.ticket_issue, {"service": "HT"})["ok"]
    assert pad.wait_for("SHOW - 2 open")  # the clerk's display: nobody served, 2 waiting
    pad.key("next")
    assert pad.wait_for("OK next") == "OK next 2001"
    pad.key("next")  # a bounce within repeat_guard_s: ignored, the second citizen is not called
    time.sleep(0.6)
    pad.key("transfer")
    assert pad.wait_for("ASK service") == "ASK service HT DD KD"
    pad.key("2")
    assert pad.wait_for("OK transfer") == "OK transfer 2001"
    pad.key("next")
    assert pad.wait_for("OK next") == "OK next 2002"
    # The reply reaches the keypad before the event reaches another subscriber: wait for it.
    def called() -> list[str]:
        return [e["ticket"]["number"] for e in events if e["action"] == "called"]
    assert wait_until(lambda: len(called()) >= 2, 5), called()
    assert called() == ["2001", "2002"]
    assert [e["ticket"]["number"] for e in events if e["action"] == "transferred"] == ["2001"]
    pad.key("pause")
    assert pad.wait_for("OK pause")
    assert wait_until(lambda: d.link.status() == "paused", 5)
    time.sleep(0.6)  # past the repeat guard
    pad.key("pause")  # toggles back
    assert pad.wait_for("OK resume")
    pad.key("transfer DD")  # one-line transfer
    assert pad.wait_for("OK transfer") == "OK transfer 2002"
    # Bad input: unknown keys, non-ASCII, an over-long line; the keypad keeps working.
    pad.key("explode")
    assert pad.wait_for("ERR unknown_key") == "ERR unknown_key explode"
    pad.key(b"\xff\xfe\r\n")
    pad.key(b"x" * 200 + b"\r\n")
    assert pad.wait_for("ERR bad_request") and pad.wait_for("ERR bad_request")
    pad.key("finish")
    assert pad.wait_for("ERR ") == "ERR not_serving"
    assert d.healthy()


def test_serial_keypad_recovers_after_unplug(serial_office, tmp_path):
    office, pair, link = serial_office
    d = start_keypad(office)
    admin, t = office.client("admin"), office.topics
    statuses: list[dict] = []
    admin.subscribe(t.device_status("keypad-1"), lambda topic, p: statuses.append(json.loads(p)))
    assert wait_until(lambda: statuses and statuses[-1].get("state") == "ok", 10), statuses
    link.unlink()
    pair.close()
    assert wait_until(lambda: statuses[-1].get("state") == "error", 10), statuses
    assert "error" in statuses[-1]["detail"]
    pair2 = PtyPair()
    try:
        link.symlink_to(pair2.path)
        assert wait_until(lambda: statuses[-1].get("state") == "ok", 10), statuses
        pad = KeypadEnd(pair2.master)
        pad.key("open")
        assert pad.wait_for("OK open")
    finally:
        pair2.close()


def test_virtual_keypad_is_the_line_protocol_on_a_pty(office: TestOffice):
    office.start_engine()
    d = start_keypad(office)
    tty = office.data / "keypad-1" / "tty"
    assert wait_until(tty.exists, 5)
    path = tty.read_text().strip()
    assert wait_until(lambda: d.source.state.value == "ready", 10)
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        pad = KeypadEnd(fd)
        pad.key("open")
        assert pad.wait_for("OK open")
        assert wait_until(lambda: d.link.view.status == "open", 5)
    finally:
        os.close(fd)


def test_no_engine_means_a_clear_error_not_a_hang(office: TestOffice):
    d = keypad.create(office.ctx("keypad-1", "keypad"))
    d.link.timeout, d.link.retries = 0.2, 1
    d.start()
    office._closers.append(d.stop)
    outcomes = []
    d.link.send(Command("next"), outcomes.append)
    assert wait_until(lambda: outcomes, 5)
    assert outcomes[0].code == "unavailable" and "thử lại" in outcomes[0].message
