"""The hall LED board: frames (ASCII transliteration, UTF-8 Vietnamese), what it says, and the
daemon's real bytes on a pty while the engine calls tickets and the notice changes."""
from __future__ import annotations

import os
import select
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from harness import TestOffice, copy_config

from display.led import LedDaemon
from display.led.hall import HallFeed, HallText, Scroller
from display.led.virtual import PtyPair, render_png
from edge import protocol as P
from edge.bus import wait_until
from edge.config.devices import LedDevice

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)


def test_frames_ascii_and_utf8() -> None:
    ascii_board = HallText(160, "\x02{address:02d}{text}\x03", "ascii")
    assert ascii_board.frame(9, "Mời số 2005 đến quầy 3") == b"\x0209Moi so 2005 den quay 3\x03"
    assert ascii_board.frame(9, "ĐẤT ĐAI - Xây dựng") == b"\x0209DAT DAI - Xay dung\x03"
    utf8 = HallText(160, "\x02{address:02d}{text}{xor}\x03", "utf-8")
    f = utf8.frame(1, "Mời số 2005 đến quầy 3")
    assert f.startswith(b"\x0201" + "Mời số 2005 đến quầy 3".encode("utf-8"))
    x = 0
    for b in f[:-3]:
        x ^= b
    assert f[-3:-1] == f"{x:02X}".encode()
    dec = utf8.decoder()
    assert [s.text for s, _ in dec.feed(b"noise" + f + utf8.frame(1, "Thông báo: nghỉ trưa"))] == \
        ["Mời số 2005 đến quầy 3", "Thông báo: nghỉ trưa"]
    long = ascii_board.check_text("Mời số 2005 đến quầy 3   |   " * 10)
    assert len(long) <= 160 and long.endswith("...")
    with pytest.raises(ValueError, match="end marker"):
        HallText(160, "\x02{text}", "ascii")
    with pytest.raises(ValueError, match="hall board takes text frames"):
        LedDevice(id="led-hall", kind="led", board="hall")
    with pytest.raises(ValueError, match="needs the `counter`"):
        LedDevice(id="led-9", kind="led")


def test_feed_latest_calls_and_a_notice_that_ends() -> None:
    now = [T0]
    shown: list[str] = []
    bad: list[str] = []

    def parse(topic: str, payload: bytes, model: Any) -> Any:  # what Bus.parse_payload does, reporting here
        try:
            return model.model_validate(P.decode_json(payload))
        except (P.BadPayload, ValueError) as exc:
            bad.append(str(exc))
            return None
    feed = HallFeed(2, shown.append, lambda: now[0], parse)

    def state(*calls: tuple[str, int]) -> bytes:
        return P.dumps(P.QueueState(day="2026-11-23", services=[], ts=P.rfc3339(T0), recent_calls=[
            P.RecentCall(number=n, counter=c, counter_name=f"Quầy {c}", ts=P.rfc3339(T0)) for n, c in calls]))

    feed.on_queue_state("t", state(("2005", 3)))
    assert shown == ["Mời số 2005 đến quầy 3"]
    feed.on_queue_state("t", state(("1002", 1), ("2005", 3), ("2004", 2)))
    assert shown[-1] == "Mời số 1002 đến quầy 1   |   Mời số 2005 đến quầy 3"
    feed.on_queue_state("t", state(("1002", 1), ("2005", 3), ("2004", 2)))
    assert len(shown) == 2  # nothing changed: nothing sent
    until = T0 + timedelta(seconds=1)
    feed.on_notice("n", P.dumps(P.Notice(text="Chiều nay nghỉ từ 16 giờ", until=P.rfc3339(until))))
    assert shown[-1].endswith("   |   Thông báo: Chiều nay nghỉ từ 16 giờ")
    now[0] = T0 + timedelta(seconds=2)  # the notice's time is over: the timer drops it
    assert wait_until(lambda: "Thông báo" not in shown[-1], 3), shown
    feed.on_notice("n", b"not json")
    assert bad and "Thông báo" not in shown[-1]
    feed.on_notice("n", P.dumps(P.Notice(text="Nghỉ trưa")))
    assert shown[-1].endswith("Thông báo: Nghỉ trưa")
    feed.on_notice("n", b"")  # a cleared retained notice
    assert "Thông báo" not in shown[-1]
    feed.stop()


def read_frames(fd: int, proto: HallText, want: str, timeout: float = 10) -> list[str]:
    dec = proto.decoder()
    seen: list[str] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            seen += [s.text for s, _ in dec.feed(os.read(fd, 4096))]
            if seen and want in seen[-1]:
                return seen
    raise AssertionError(f"{want!r} never reached the board; it got {seen}")


def test_hall_board_bytes_on_a_pty_follow_calls_and_notice(tmp_path: Path) -> None:
    pty = PtyPair()
    block = (f'[[devices]]\nid = "led-hall"\nkind = "led"\nboard = "hall"\nbackend = "serial"\nport = "{pty.path}"\n'
             'protocol = "ascii"\naddress = 9\ncalls_shown = 2\n\n[hub]')
    office = TestOffice(tmp_path / "data", copy_config(tmp_path, replace={"[hub]": block})).start()
    d = None
    try:
        office.start_engine()
        d = LedDaemon(office.ctx("led-hall", "led"))
        d.start()
        proto = HallText(160, office.cfg.device("led-hall").template, "ascii")
        admin, t = office.client("admin"), office.topics
        assert admin.request(t.counter_command(1), {"action": "open", "staff": "Nguyễn Thị Lan"})["ok"]
        assert admin.request(t.counter_command(2), {"action": "open"})["ok"]
        for _ in range(2):
            assert admin.request(t.ticket_issue, {"service": "HT"})["ok"]
        n1 = admin.request(t.counter_command(1), {"action": "next"})["ticket"]["number"]
        read_frames(pty.master, proto, f"Moi so {n1} den quay 1")
        n2 = admin.request(t.counter_command(2), {"action": "next"})["ticket"]["number"]
        seen = read_frames(pty.master, proto, f"Moi so {n2} den quay 2   |   Moi so {n1} den quay 1")
        assert all(s.isascii() for s in seen)
        admin.publish(t.display_notice, P.Notice(text="Hệ thống đăng ký đất đai tạm dừng đến 14 giờ"), retain=True)
        seen = read_frames(pty.master, proto, "Thong bao: He thong dang ky dat dai tam dung den 14 gio")
        render_png(seen[-1][:40], tmp_path / "hall.png", 40)  # what the glass shows first
        out = os.environ.get("MOTCUA_SCREENSHOTS")
        if out:
            render_png(seen[-1][:40], Path(out) / "led-hall-board.png", 40)
        assert wait_until(lambda: d.line.board_states() == {"9": "ok"}, 5)
    finally:
        if d is not None:
            d.stop()
        office.close()
        pty.close()


def test_virtual_hall_board_in_vietnamese(tmp_path: Path) -> None:
    block = ('[[devices]]\nid = "led-hall"\nkind = "led"\nboard = "hall"\nprotocol = "ascii"\ncharset = "utf-8"\n'
             'address = 9\n\n[hub]')
    office = TestOffice(tmp_path / "data", copy_config(tmp_path, replace={"[hub]": block})).start()
    try:
        office.start_engine()
        d = LedDaemon(office.ctx("led-hall", "led"))
        d.start()
        admin, t = office.client("admin"), office.topics
        assert admin.request(t.counter_command(3), {"action": "open"})["ok"]
        assert admin.request(t.ticket_issue, {"service": "KD"})["ok"]
        n = admin.request(t.counter_command(3), {"action": "next"})["ticket"]["number"]
        assert wait_until(lambda: d.sim.shown(9) is not None and d.sim.shown(9).text == f"Mời số {n} đến quầy 3", 10), \
            d.sim.shown(9)
        d.stop()
    finally:
        office.close()


def test_device_test_shows_a_message_on_the_virtual_hall_board(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from edge.cli import main
    block = '[[devices]]\nid = "led-hall"\nkind = "led"\nboard = "hall"\nprotocol = "ascii"\naddress = 9\n\n[hub]'
    cfg = copy_config(tmp_path, replace={"[hub]": block})
    assert main(["test", "led", str(cfg), "--device", "led-hall", "--data", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert "virtual board shows 'Moi so 2005 den quay 3'" in out


def test_software_scroll_moves_a_window_along_the_text() -> None:
    shown: list[str] = []
    sc = Scroller(shown.append, 8, 20)
    try:
        sc.set("Mời số 7")            # fits: stands still, no thread traffic
        time.sleep(0.2)
        assert shown == ["Mời số 7"]
        sc.set("Mời số 2005 đến quầy 3")
        assert wait_until(lambda: len(shown) >= 6, 3)
        assert shown[1:6] == ["Mời số 2", "ời số 20", "i số 200", " số 2005", "số 2005 "]
        assert all(len(w) == 8 for w in shown[1:])
    finally:
        sc.stop()


def test_daemon_scrolls_a_board_that_cannot(tmp_path: Path) -> None:
    block = ('[[devices]]\nid = "led-hall"\nkind = "led"\nboard = "hall"\nprotocol = "ascii"\naddress = 9\n'
             'scroll_cps = 10\nwindow = 12\n\n[hub]')
    office = TestOffice(tmp_path / "data", copy_config(tmp_path, replace={"[hub]": block})).start()
    try:
        office.start_engine()
        d = LedDaemon(office.ctx("led-hall", "led"))
        d.start()
        seen: list[str] = []
        d.sim.on_show = lambda s, t: seen.append(s.text)
        admin, t = office.client("admin"), office.topics
        assert admin.request(t.counter_command(1), {"action": "open"})["ok"]
        assert admin.request(t.ticket_issue, {"service": "HT"})["ok"]
        n = admin.request(t.counter_command(1), {"action": "next"})["ticket"]["number"]
        assert wait_until(lambda: len(set(seen)) >= 5, 10), seen
        assert all(len(w) == 12 and w.isascii() for w in seen[1:])   # whole windows, transliterated
        assert any(w.startswith("Moi so") for w in seen) and any(n in w for w in seen)
        d.stop()
    finally:
        office.close()
