"""`motcua status` against a real mosquitto and the real engine."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.bus import wait_until
from edge.config import load
from edge.tools import status as S
from harness import SMALL, TestOffice, copy_config


def url_arg(office: TestOffice) -> str:
    u = office.url("admin")
    return f"mqtt://admin:{u.password}@127.0.0.1:{office.port}"


def test_once_shows_queue_counters_devices_and_events(office: TestOffice, capsys: pytest.CaptureFixture[str]) -> None:
    office.start_engine()
    admin = office.client("admin")
    t = office.topics
    assert admin.request(t.counter_command(1), {"action": "open", "staff": "Nguyễn Thị Lan"}, timeout=5)["ok"]
    for _ in range(3):
        assert admin.request(t.ticket_issue, {"service": "HT", "source": "kiosk-1"}, timeout=5)["ok"]
    called = admin.request(t.counter_command(1), {"action": "next"}, timeout=5)
    assert called["ok"] and called["ticket"]["number"] == "2001"
    printer = office.client("printer-1", kind="printer")
    printer.set_status("warning", {"paper": "low"})
    led = office.client("led-1", kind="led")
    led.set_status("ok")
    led.stop()  # a clean stop publishes online: false
    # the retained counter state reflects the call once the engine has published it
    seen: list[bytes] = []
    admin.subscribe(t.counter_state(1), lambda _t, p: seen.append(p))
    assert wait_until(lambda: any(b'"2001"' in p for p in seen), 5)

    assert S.cli_main([str(SMALL), "--once", "--broker", url_arg(office)]) == 0
    out = capsys.readouterr().out
    assert "Bộ phận Một cửa thử nghiệm (TEST.01.H99)" in out
    ht = next(line for line in out.splitlines() if line.startswith("HT Chứng thực"))
    assert ht.split()[6:10] == ["có", "2", "2003", "2001"]  # open, 2 waiting, last issued, last called
    quay1 = next(line for line in out.splitlines() if line.strip().startswith("Quầy 1 "))
    assert "mở" in quay1 and "Nguyễn Thị Lan" in quay1 and "đang phục vụ 2001 (HT)" in quay1
    assert "Quầy 2" in out and "đóng" in out
    assert "printer-1        printer  warning      paper: low" in out
    assert "led-1            led      MẤT KẾT NỐI" in out
    assert "kiosk-1          kiosk    chưa thấy" in out
    assert "engine           engine   ok" in out
    assert "GỌI GẦN ĐÂY: 2001 → Quầy 1" in out
    assert "\x1b[" not in out  # no colours when not a terminal


def test_once_json_and_english(office: TestOffice, capsys: pytest.CaptureFixture[str]) -> None:
    admin = office.client("admin")
    t = office.topics
    admin.publish(t.device_status("scanner-1"), {"device": "scanner-1", "kind": "scanner", "online": True,
                                                  "state": "error", "detail": {"reader": "unplugged"}}, retain=True)
    admin.publish(t.queue_state, {"day": "2026-11-23", "services": [], "recent_calls": [], "ts": "x"}, retain=True)
    assert S.cli_main([str(SMALL), "--once", "--json", "--broker", url_arg(office)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["devices"]["scanner-1"]["detail"] == {"reader": "unplugged"}
    assert data["queue"]["day"] == "2026-11-23"
    assert S.cli_main([str(SMALL), "--once", "--lang", "en", "--color", "always", "--broker", url_arg(office)]) == 0
    out = capsys.readouterr().out
    assert "COUNTERS" in out and "not seen" in out
    assert "\x1b[31merror" in out  # an error state is red


def test_credentials_from_the_data_folder(office: TestOffice, capsys: pytest.CaptureFixture[str]) -> None:
    broker = f"mqtt://127.0.0.1:{office.port}"
    assert S.cli_main([str(SMALL), "--once", "--broker", broker, "--data", str(office.data)]) == 0
    assert "THIẾT BỊ" in capsys.readouterr().out
    wrong = f"mqtt://admin:wrong@127.0.0.1:{office.port}"
    assert S.cli_main([str(SMALL), "--once", "--broker", wrong, "--timeout", "2"]) == 1
    assert "refused" in capsys.readouterr().err


def test_no_credentials_and_no_broker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert S.cli_main([str(SMALL), "--once", "--data", str(tmp_path)]) == 2
    assert "no admin credential" in capsys.readouterr().err
    from edge.broker import free_port
    dead = f"mqtt://admin:x@127.0.0.1:{free_port()}"
    assert S.cli_main([str(SMALL), "--once", "--broker", dead, "--timeout", "1"]) == 1
    assert "no answer" in capsys.readouterr().err


def test_view_ignores_garbage_and_tracks_events() -> None:
    cfg = load(SMALL)
    v = S.OfficeView(cfg)
    t = v.topics
    assert not v.handle(t.queue_state, b"not json")
    assert not v.handle(t.counter_state("x"), b"{}")
    assert not v.handle("other/topic", b"{}")
    assert v.handle(t.ticket_event("called"), json.dumps({
        "ticket": {"number": "2005", "service": "HT"}, "counter": 2, "counter_name": "Quầy 2",
        "ts": "2026-11-23T08:15:02+07:00"}).encode())
    assert list(v.events) == ["08:15:02 called 2005 (HT) → Quầy 2"]
    v.handle(t.device_status("stranger-9"), b'{"device": "stranger-9", "kind": "camera", "online": true, "state": "ok"}')
    assert ("stranger-9", "camera", "ok", "") in v.device_rows()
    v.handle(t.device_status("stranger-9"), b"")  # retained message cleared
    assert all(r[0] != "stranger-9" for r in v.device_rows())


def test_reload_applies_a_changed_config_and_keeps_the_queue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_config(tmp_path)
    office = TestOffice(tmp_path / "data", path).start()
    try:
        office.start_engine()
        admin = office.client("admin")
        t = office.topics
        ticket = admin.request(t.ticket_issue, {"service": "HT"}, timeout=5)["ticket"]
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('[[counters]]\nnumber = 3',
                                     '[[counters]]\nnumber = 4\nservices = ["HT"]\n\n[[counters]]\nnumber = 3'),
                        encoding="utf-8")
        assert load(path).counter(4) is not None
        assert S.cli_main([str(path), "--reload", "--broker", url_arg(office)]) == 0
        assert "the day's queue is kept" in capsys.readouterr().out
        opened = admin.request(t.counter_command(4), {"action": "open", "staff": "Trần Văn B"}, timeout=5)
        assert opened["ok"], opened
        nxt = admin.request(t.counter_command(4), {"action": "next"}, timeout=5)
        assert nxt["ticket"]["ticket_id"] == ticket["ticket_id"]  # the ticket issued before the reload
        # a broken config is refused and the running one stays
        path.write_text(text.replace('code = "HT"', 'code = "HT"\ncolour = "red"', 1), encoding="utf-8")
        assert S.cli_main([str(path), "--reload", "--broker", url_arg(office)]) == 1
        err = capsys.readouterr().err
        assert "colour: không có thiết lập" in err and "unknown setting" in err
    finally:
        office.close()


def test_live_view_redraws_on_change_and_stops_on_ctrl_c(office: TestOffice) -> None:
    """The real `motcua status` command, live, as a technician runs it (stdout is a pipe here)."""
    import signal
    import subprocess
    import sys
    import threading
    exe = Path(sys.prefix) / "bin" / "motcua"
    proc = subprocess.Popen([str(exe), "status", str(SMALL), "--broker", url_arg(office)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks: list[bytes] = []

    def pump() -> None:
        assert proc.stdout is not None
        while data := proc.stdout.read1(65536):
            chunks.append(data)
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    text = lambda: b"".join(chunks).decode("utf-8", "replace")  # noqa: E731
    try:
        assert wait_until(lambda: "THIẾT BỊ" in text(), 10), text()
        assert "\x1b[H\x1b[2J" in text()  # each frame clears the screen first
        printer = office.client("printer-1", kind="printer")
        printer.set_status("error", {"paper": "out"})
        assert wait_until(lambda: "paper: out" in text().rsplit("\x1b[2J", 1)[-1], 10)
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(10)
        reader.join(5)
    assert rc == 0, proc.stderr.read().decode() if proc.stderr else ""
