"""The calling path with the real engine: Next -> the board shows it and the voice says it, in order."""
from __future__ import annotations

import json
from pathlib import Path

from display.daemon import create as create_display
from display.voice import create as create_voice
from edge.bus import wait_until
from test_voice_daemon import Recorder
from test_voice_pack import make_recorded_pack


def test_next_recall_reach_board_and_voice(office, tmp_path: Path) -> None:
    office.start_engine()
    admin = office.client("admin")
    t = office.topics
    rec = Recorder(admin, t.voice_event("started"), t.voice_event("finished"), t.device_status("+"))
    voice_dev = office.cfg.device("voice-1").model_copy(update={
        "pack": str(make_recorded_pack(tmp_path / "pack", ms=20)), "repeat": 1})
    voice = create_voice(office.ctx("voice-1", "voice", device=voice_dev))
    board = create_display(office.ctx("display-1", "display",
                                      device=office.cfg.device("display-1").model_copy(update={"highlight_s": 1})))
    for d in (voice, board):
        d.start()
        office._closers.append(d.stop)
    assert wait_until(lambda: {"voice-1", "display-1"} <= {
        s["device"] for s in rec.of("/status") if s.get("state") == "ok"}, 30)

    for service in ("HT", "HT", "KD"):
        assert admin.request(t.ticket_issue, {"service": service})["ok"]
    assert admin.request(t.counter_command(1), {"action": "open", "staff": "Nguyễn Thị Lan"})["ok"]
    assert admin.request(t.counter_command(3), {"action": "open"})["ok"]
    first = admin.request(t.counter_command(1), {"action": "next"})["ticket"]
    kd = admin.request(t.counter_command(3), {"action": "next"})["ticket"]
    assert admin.request(t.counter_command(1), {"action": "recall"})["ok"]
    second = admin.request(t.counter_command(1), {"action": "next"})["ticket"]
    assert [first["number"], kd["number"], second["number"]] == ["2001", "K01", "2002"]

    expected = [("2001", 1, False), ("K01", 3, False), ("2001", 1, True), ("2002", 1, False)]
    assert wait_until(lambda: len(rec.of("/finished")) == 4, 30)
    assert [(f["number"], f["counter"], f["recall"]) for f in rec.of("/finished")] == expected
    with rec.lock:
        order = [t_.rsplit("/", 1)[1] for t_, _ in rec.items if "/event/voice/" in t_]
    assert order == ["started", "finished"] * 4  # one at a time
    k01 = json.loads(Path(rec.of("/finished")[1]["file"]).with_suffix(".json").read_text(encoding="utf-8"))
    assert [s["text"] for s in k01["sequence"] if s["kind"] in ("number", "counter")] == ["ca một", "ba"]

    def board_shows() -> bool:
        snap = board.state.snapshot()
        return (getattr(snap.latest, "number", None) == "2002" and snap.counters[0].serving == "2002"
                and snap.counters[2].serving == "K01" and [r[0] for r in snap.recent] == ["2002", "2001", "K01"]
                and {s.code: s.waiting for s in snap.services} == {"HT": 0, "DD": 0, "KD": 0})
    ok = wait_until(board_shows, 10)
    snap = board.state.snapshot()
    assert ok, (snap.latest, snap.counters, snap.recent, snap.services)
    assert wait_until(lambda: not board.state.snapshot().latest.live, 10)  # the blink ended
