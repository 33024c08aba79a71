"""The voice daemon on a real mosquitto: calls said in order, once, never overlapping; recovery."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from display.voice import create
from edge import protocol as P
from edge.bus import wait_until
from test_voice_pack import make_recorded_pack

N = 0


def ticket_event(number: str, counter: int | None, ts: str | None = None) -> dict[str, Any]:
    global N
    N += 1
    ts = ts or f"2026-11-23T08:15:{N % 60:02d}+07:00"
    ticket = {"ticket_id": f"20261123-HT-{N:04d}", "number": number, "seq": N, "service": "HT",
              "service_name": "Chứng thực - Hộ tịch", "priority": "none", "day": "2026-11-23",
              "issued_at": "2026-11-23T08:00:00+07:00", "status": "called", "counter": counter}
    return {"ticket": ticket, "counter": counter, "counter_name": f"Quầy {counter}", "ts": ts}


class Recorder:
    """Collects messages on some topics from the admin client."""

    def __init__(self, bus, *patterns: str) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        for p in patterns:
            bus.subscribe(p, self._on)
        wait_until(lambda: bus.connected.is_set(), 5)

    def _on(self, topic: str, payload: bytes) -> None:
        with self.lock:
            self.items.append((topic, json.loads(payload)))

    def of(self, suffix: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for t, p in self.items if t.endswith(suffix)]


def start_voice(office, admin, **settings: Any):
    """Start the daemon and wait for its first status (sent after it has subscribed)."""
    seen = threading.Event()
    office.client("admin").subscribe(office.topics.device_status("voice-1"),
                    lambda t, p: json.loads(p).get("online") and seen.set())
    dev = office.cfg.device("voice-1").model_copy(update=settings)
    daemon = create(office.ctx("voice-1", "voice", device=dev))
    daemon.start()
    office._closers.append(daemon.stop)
    assert seen.wait(30), "the voice daemon never reported its status"
    return daemon


def test_1023_at_counter_3_is_one_wav_repeated_as_configured(office) -> None:
    admin = office.client("admin")
    rec = Recorder(admin, office.topics.voice_event("started"), office.topics.voice_event("finished"),
                   office.topics.device_status("voice-1"))
    daemon = start_voice(office, admin, repeat=3)  # default pack: built with espeak-ng on first start
    ev = ticket_event("1023", 3)
    admin.publish(office.topics.ticket_event("called"), ev)
    assert wait_until(lambda: rec.of("/finished"), 30)
    started = rec.of("/started")[0]
    assert started["number"] == "1023" and started["counter"] == 3 and started["recall"] is False
    assert started["event_ts"] == ev["ts"] and started["duration_s"] > 5
    wav = Path(rec.of("/finished")[0]["file"])
    assert wav.parent == office.data / "voice-1" / "announcements" and wav.is_file()
    record = json.loads(wav.with_suffix(".json").read_text(encoding="utf-8"))
    one = [("chime", ""), ("phrase", "xin mời công dân có số thứ tự"),
           ("number", "một nghìn không trăm hai mươi ba"), ("phrase", "đến quầy số"), ("counter", "ba")]
    assert [(s["kind"], s["text"]) for s in record["sequence"]] == one * 3
    assert [s["repeat"] for s in record["sequence"]] == [1] * 5 + [2] * 5 + [3] * 5
    assert (office.data / "voice" / "manifest.json").is_file()
    status = [s for s in rec.of("/status") if s.get("online")]
    assert status[-1]["state"] == "ok" and status[-1]["kind"] == "voice"
    assert daemon.healthy()


def test_order_recall_duplicates_and_bad_input(office, tmp_path: Path) -> None:
    pack = make_recorded_pack(tmp_path / "pack")
    admin = office.client("admin")
    rec = Recorder(admin, office.topics.voice_event("finished"), office.topics.error)
    start_voice(office, admin, pack=str(pack), repeat=1, output_dir=str(tmp_path / "out"))
    t = office.topics
    first, second = ticket_event("2001", 1), ticket_event("K05", 3)
    admin.publish(t.ticket_event("called"), first)
    admin.publish(t.ticket_event("called"), second)
    admin.publish(t.ticket_event("called"), second)  # a redelivery: said once
    admin.publish(t.ticket_event("called"), b"\xff not json")
    admin.publish(t.ticket_event("called"), {"ticket": {"number": "1"}})
    admin.publish(t.ticket_event("called"), ticket_event("2002", None))
    recall = dict(first, ts="2026-11-23T08:20:00+07:00")
    admin.publish(t.ticket_event("recalled"), recall)
    admin.publish(t.ticket_event("called"), ticket_event("A012", 2))
    assert wait_until(lambda: len(rec.of("/finished")) >= 4, 20)
    assert wait_until(lambda: len(rec.of("/error")) >= 3, 5)
    done = rec.of("/finished")
    assert [(d["number"], d["counter"], d["recall"]) for d in done] == [
        ("2001", 1, False), ("K05", 3, False), ("2001", 1, True), ("A012", 2, False)]
    files = sorted((tmp_path / "out").glob("*.wav"))
    assert [f.name for f in files] == ["000001-2001-q1.wav", "000002-K05-q3.wav",
                                       "000003-2001-q1.wav", "000004-A012-q2.wav"]
    k05 = json.loads(files[1].with_suffix(".json").read_text(encoding="utf-8"))
    assert [s["text"] for s in k05["sequence"] if s["kind"] == "number"] == ["ca năm"]
    # The recall says it is one: "xin mời lần thứ hai ..." (the clip keyed "recall").
    again = json.loads(files[2].with_suffix(".json").read_text(encoding="utf-8"))
    assert [s["clips"] for s in again["sequence"] if s["kind"] == "phrase"][0] == ["recall"]
    errors = rec.of("/error")
    assert {e["code"] for e in errors} == {"bad_request"}
    assert any("not UTF-8" in e["message"] for e in errors)
    assert any("no counter" in e["message"] for e in errors)
    assert len(rec.of("/finished")) == 4  # nothing more came after the wait


def test_digit_by_digit_and_south(office, tmp_path: Path) -> None:
    pack = make_recorded_pack(tmp_path / "pack")
    admin = office.client("admin")
    rec = Recorder(admin, office.topics.voice_event("finished"))
    start_voice(office, admin, pack=str(pack), repeat=1, dialect="south", digit_by_digit=True,
                four_word="bốn", output_dir=str(tmp_path / "out"))
    admin.publish(office.topics.ticket_event("called"), ticket_event("1023", 105))
    admin.publish(office.topics.ticket_event("called"), ticket_event("K24", 24))
    assert wait_until(lambda: len(rec.of("/finished")) == 2, 20)
    records = [json.loads(Path(f["file"]).with_suffix(".json").read_text(encoding="utf-8"))
               for f in rec.of("/finished")]
    assert records[0]["sequence"][2]["text"] == "một không hai ba"
    assert records[0]["sequence"][4]["text"] == "một trăm lẻ năm"
    second = [s for s in records[1]["sequence"] if s["kind"] != "chime"]  # back to back: no chime
    assert second[1]["text"] == "ca hai bốn"
    assert second[3]["text"] == "hai mươi bốn"


def test_pygame_backend_plays_one_at_a_time(office, tmp_path: Path) -> None:
    pack = make_recorded_pack(tmp_path / "pack", ms=20)
    admin = office.client("admin")
    rec = Recorder(admin, office.topics.voice_event("started"), office.topics.voice_event("finished"))
    start_voice(office, admin, backend="pygame", pack=str(pack), repeat=2)
    numbers = ["2001", "2002", "1001"]
    for n in numbers:
        admin.publish(office.topics.ticket_event("called"), ticket_event(n, 1))
    assert wait_until(lambda: len(rec.of("/finished")) == 3, 30)
    with rec.lock:
        order = [(t.rsplit("/", 1)[1], p["number"]) for t, p in rec.items]
    expected = [x for n in numbers for x in (("started", n), ("finished", n))]
    assert order == expected


def test_missing_pack_is_reported_stale_calls_dropped_then_recovers(office, tmp_path: Path) -> None:
    pack = tmp_path / "recorded"
    admin = office.client("admin")
    rec = Recorder(admin, office.topics.voice_event("dropped"), office.topics.voice_event("finished"),
                   office.topics.device_status("voice-1"))
    start_voice(office, admin, pack=str(pack), repeat=1, max_delay_s=5, output_dir=str(tmp_path / "out"))
    admin.publish(office.topics.ticket_event("called"), ticket_event("2001", 1))
    assert wait_until(lambda: any(s.get("state") == "error" for s in rec.of("/status")), 10)
    error = [s for s in rec.of("/status") if s.get("state") == "error"][0]
    assert "no manifest.json" in error["detail"]["error"]
    assert wait_until(lambda: rec.of("/dropped"), 15)
    assert rec.of("/dropped")[0]["number"] == "2001"
    make_recorded_pack(pack)  # the technician copies the pack in
    assert wait_until(lambda: rec.of("/status")[-1].get("state") == "ok", 15)  # recovers before any call
    admin.publish(office.topics.ticket_event("called"), ticket_event("2002", 2))
    assert wait_until(lambda: rec.of("/finished"), 20)
    assert [d["number"] for d in rec.of("/finished")] == ["2002"]
    assert wait_until(lambda: rec.of("/status")[-1].get("state") == "ok", 5)


def test_voice_topics_are_project_topics(office) -> None:
    assert office.topics.voice_event("started").endswith("/event/voice/started")
    with pytest.raises(ValueError):
        office.topics.voice_event("shouted")
    assert P.ROOT in office.topics.voice_event("dropped")


def test_motcua_voice_process_announces_and_stops_cleanly(office, tmp_path: Path) -> None:
    """The real command, as systemd runs it: announces a call, then SIGTERM -> offline, exit 0."""
    import os
    import signal
    import subprocess
    import sys

    admin = office.client("admin")
    rec = Recorder(admin, office.topics.voice_event("finished"), office.topics.device_status("voice-1"))
    env = dict(os.environ, MOTCUA_LOG="INFO")
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "voice", str(office.config_path),
                             "--device", "voice-1", "--broker", f"mqtt://127.0.0.1:{office.port}",
                             "--data", str(office.data)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(lambda: any(s.get("state") == "ok" for s in rec.of("/status")), 30)
        admin.publish(office.topics.ticket_event("called"), ticket_event("K05", 3))
        assert wait_until(lambda: rec.of("/finished"), 30)
        wav = Path(rec.of("/finished")[0]["file"])
        assert wav.is_file() and wav.parent == office.data / "voice-1" / "announcements"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert wait_until(lambda: rec.of("/status")[-1].get("online") is False, 10)


def test_counter_named_like_the_signage_is_read_so(tmp_path: Path) -> None:
    from harness import TestOffice, copy_config
    cfg = copy_config(tmp_path, replace={'name = "Quầy 3 - Kinh doanh"': 'name = "Quầy K3"'})
    office = TestOffice(tmp_path / "data", cfg).start()
    try:
        admin = office.client("admin")
        rec = Recorder(admin, office.topics.voice_event("finished"))
        start_voice(office, admin, pack=str(make_recorded_pack(tmp_path / "pack")), repeat=1)
        admin.publish(office.topics.ticket_event("called"), ticket_event("K05", 3))
        assert wait_until(lambda: rec.of("/finished"), 20)
        record = json.loads(Path(rec.of("/finished")[0]["file"]).with_suffix(".json").read_text(encoding="utf-8"))
        assert record["counter_name"] == "Quầy K3"
        assert [(s["kind"], s["text"]) for s in record["sequence"]][2:] == [
            ("number", "ca năm"), ("phrase", "to_counter"), ("counter", "ca ba")]  # this pack's texts are its keys
    finally:
        office.close()
