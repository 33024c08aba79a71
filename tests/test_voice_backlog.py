"""A speaker under a burst of calls, on a real broker with a simulated clock: it keeps up.

The province example (read from its config): the speaker of one zone says only that zone's
calls; when they pile up it says them once and without the chime, never drops one, shows its
backlog on its status, and takes as long as the speech (paced WAV backend).
"""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from display.voice import create
from display.voice.backlog import plan
from edge.bus import wait_until
from edge.clock import SimClock
from harness import TestOffice
from test_voice_pack import make_recorded_pack

ROOT = Path(__file__).resolve().parent.parent
PROVINCE = ROOT / "config" / "examples" / "province.toml"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SPEED = 10.0


def test_plan_shortens_with_the_backlog_and_drops_the_chime_back_to_back() -> None:
    dev = SimpleNamespace(repeat=2, chime="each", shorten_after_s=20, chime_gap_s=4, terse_after_s=45)
    assert plan(dev, 0, 0, 60) == plan(dev, 19, 19, 4)  # in full, with the chime
    assert (plan(dev, 0, 0, 60).repeat, plan(dev, 0, 0, 60).chime) == (2, "each")
    assert plan(dev, 21, 0, 60).repeat == 1 and plan(dev, 21, 0, 60).shortened
    assert plan(dev, 0, 21, 60).repeat == 1  # already late
    assert plan(dev, 0, 0, 1).chime == "none" and plan(dev, 0, 0, 1).repeat == 2
    assert not plan(dev, 44, 44, 60).terse
    assert plan(dev, 46, 0, 60).terse and plan(dev, 0, 46, 60).terse and plan(dev, 46, 0, 60).repeat == 1
    once = SimpleNamespace(repeat=1, chime="once", shorten_after_s=20, chime_gap_s=4, terse_after_s=45)
    assert not plan(once, 30, 30, 60).shortened  # nothing to shorten
    assert plan(once, 99, 0, 60).terse and plan(once, 99, 0, 60).shortened  # but still the terse form


@pytest.fixture
def province(tmp_path: Path):
    o = TestOffice(tmp_path / "data", PROVINCE).start()
    yield o
    o.close()


def event(office: TestOffice, counter: Any, n: int, ts: str) -> dict[str, Any]:
    svc = office.cfg.service(counter.services[0])
    number = svc.number_format.format(n=n)
    ticket = {"ticket_id": f"20261123-{svc.code}-{number}", "number": number, "seq": n, "service": svc.code,
              "service_name": svc.name, "priority": "none", "day": "2026-11-23",
              "issued_at": "2026-11-23T07:00:00+07:00", "status": "called", "counter": counter.number}
    return {"ticket": ticket, "counter": counter.number, "counter_name": counter.label, "ts": ts}


def test_a_zone_speaker_keeps_up_with_a_burst(province: TestOffice, tmp_path: Path) -> None:
    cfg, t = province.cfg, province.topics
    voice_id = next(d.id for d in cfg.devices if d.kind == "voice")
    zone = cfg.counters[0].zone
    mine = [c for c in cfg.counters if c.zone == zone]
    others = [c for c in cfg.counters if c.zone != zone]
    assert len(mine) >= 4 and others
    admin = province.client("admin")
    items: list[tuple[float, str, dict[str, Any]]] = []
    lock = threading.Lock()

    def on(topic: str, payload: bytes) -> None:
        with lock:
            items.append((time.monotonic(), topic.rsplit("/", 1)[1], json.loads(payload)))
    for action in ("started", "finished", "dropped"):
        admin.subscribe(t.voice_event(action), on)
    admin.subscribe(t.device_status(voice_id), on)

    pack = make_recorded_pack(tmp_path / "pack", ms=250)
    clock = SimClock(TZ, datetime(2026, 11, 23, 7, 30, tzinfo=TZ), speed=SPEED)
    dev = cfg.device(voice_id).model_copy(update={
        "pack": str(pack), "output_dir": str(tmp_path / "out"), "zones": [zone], "counters": None,
        "floors": None, "repeat": 2, "chime": "each", "backend": "wav", "pace": True,
        "shorten_after_s": 8, "terse_after_s": 20})  # the test pack's words are short (250 ms)
    daemon = create(province.ctx(voice_id, "voice", clock=clock, device=dev))
    daemon.start()
    province._closers.append(daemon.stop)
    assert wait_until(lambda: any(k == "status" and p.get("state") == "ok" for _, k, p in items), 30)

    # 07:30: every counter opens and calls at once; then two recalls of the first number.
    calls = [event(province, c, 10 + i, f"2026-11-23T07:30:{i:02d}+07:00") for i, c in enumerate(mine + others)]
    for ev in calls:
        admin.publish(t.ticket_event("called"), ev)

    def of(kind: str) -> list[tuple[float, dict[str, Any]]]:
        with lock:
            return [(at, p) for at, k, p in items if k == kind]
    assert wait_until(lambda: len(of("finished")) == len(mine), 120)
    first = calls[0]  # once the burst is over, the first citizen has not come: recalled twice
    for i, ts in enumerate(("2026-11-23T07:31:00+07:00", "2026-11-23T07:32:00+07:00")):
        admin.publish(t.ticket_event("recalled"), dict(first, ts=ts))
        assert wait_until(lambda: len(of("finished")) == len(mine) + i + 1, 60)
    expected = [ev["ticket"]["number"] for ev in calls[:len(mine)]] + [first["ticket"]["number"]] * 2
    time.sleep(1.0)  # nothing else comes: the other zones' calls are another speaker's
    started, finished = of("started"), of("finished")
    assert [p["number"] for _, p in finished] == expected
    assert of("dropped") == []
    assert [p["recall"] for _, p in started] == [False] * len(mine) + [True, True]

    # Shortened while the burst waited, full again once it was gone.
    assert any(p["shortened"] and p["repeat"] == 1 for _, p in started)
    records = [json.loads(Path(p["file"]).with_suffix(".json").read_text(encoding="utf-8")) for _, p in finished]
    chimes = [sum(s["kind"] == "chime" for s in r["sequence"]) for r in records]
    assert chimes[0] >= 1 and all(c == 0 for c in chimes[1:len(mine)])  # back to back: no chime after the first
    phrases = [[s["clips"][0] for s in r["sequence"] if s["kind"] == "phrase" and s["repeat"] == 1]
               for r in records]
    # Far behind: "xin mời số … đến quầy …", "số … đến quầy …" right after another call;
    # otherwise the whole sentence.
    assert {tuple(p) for p in phrases[:len(mine)]} <= {
        ("call", "to_counter"), ("call_short", "to_counter_short"), ("number_short", "to_counter_short")}
    assert ["number_short", "to_counter_short"] in phrases and all(
        r["terse"] == (p[-1] == "to_counter_short") for r, p in zip(records, phrases))
    phrases = [p[0] for p in phrases]
    assert phrases[len(mine):] == ["recall", "recall_3"]  # "xin mời lần thứ hai ...", "... lần thứ ba ..."

    # Paced: each announcement took its speech's length (office seconds / clock speed).
    for (t0, s), (t1, f) in zip(started, finished):
        assert s["number"] == f["number"]
        assert t1 - t0 >= 0.8 * s["duration_s"] / SPEED, (s, t1 - t0)

    # The status showed the backlog while it lasted, and ends with nothing waiting or skipped.
    assert wait_until(lambda: [p for _, p in of("status") if p.get("online")][-1]["detail"].get("announced")
                      == len(expected), 10)
    statuses = [p["detail"] for _, p in of("status") if p.get("online")]
    assert max(d.get("backlog", 0) for d in statuses) >= 2
    assert max(d.get("backlog_s", 0) for d in statuses) > 0
    last = statuses[-1]
    assert last["backlog"] == 0 and last["skipped"] == 0 and last["announced"] == len(expected)
    assert last["shortened"] == sum(p["shortened"] for _, p in started) >= 1


def test_a_speaker_for_no_counter_says_so(province: TestOffice, tmp_path: Path) -> None:
    voice_id = next(d.id for d in province.cfg.devices if d.kind == "voice")
    statuses: list[dict[str, Any]] = []
    province.client("admin").subscribe(province.topics.device_status(voice_id),
                                       lambda t, p: statuses.append(json.loads(p)))
    dev = province.cfg.device(voice_id).model_copy(update={
        "pack": str(make_recorded_pack(tmp_path / "pack")), "output_dir": str(tmp_path / "out"),
        "floors": [99], "zones": None, "counters": None})
    daemon = create(province.ctx(voice_id, "voice", device=dev))
    daemon.start()
    province._closers.append(daemon.stop)
    assert wait_until(lambda: any(s.get("state") == "warning" for s in statuses), 20)
    assert "counters/zones/floors" in [s for s in statuses if s.get("state") == "warning"][-1]["detail"]["error"]


def test_calls_still_waiting_at_stop_are_reported(province: TestOffice, tmp_path: Path) -> None:
    cfg, t = province.cfg, province.topics
    voice_id = next(d.id for d in cfg.devices if d.kind == "voice")
    admin = province.client("admin")
    dropped: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    finished: list[dict[str, Any]] = []
    started = threading.Event()
    admin.subscribe(t.voice_event("dropped"), lambda tp, p: dropped.append(json.loads(p)))
    admin.subscribe(t.voice_event("started"), lambda tp, p: started.set())
    admin.subscribe(t.voice_event("finished"), lambda tp, p: finished.append(json.loads(p)))
    admin.subscribe(t.device_status(voice_id), lambda tp, p: statuses.append(json.loads(p)))
    dev = cfg.device(voice_id).model_copy(update={
        "pack": str(make_recorded_pack(tmp_path / "pack", ms=400)), "output_dir": str(tmp_path / "out"),
        "floors": None, "zones": None, "counters": None, "backend": "wav", "pace": True})
    daemon = create(province.ctx(voice_id, "voice", device=dev))  # real time: each call takes seconds
    daemon.start()
    assert wait_until(lambda: any(s.get("state") == "ok" for s in statuses), 20)
    calls = [event(province, c, 70 + i, f"2026-11-23T08:00:{i:02d}+07:00") for i, c in enumerate(cfg.counters[:4])]
    for ev in calls:
        admin.publish(t.ticket_event("called"), ev)
    assert started.wait(10) and wait_until(lambda: daemon.pending() == 3, 10)  # the first is playing
    daemon.stop()
    assert wait_until(lambda: len(dropped) == 3 and finished, 10)
    assert finished[0]["number"] == calls[0]["ticket"]["number"] and finished[0]["interrupted"] is True
    assert [d["number"] for d in dropped] == [ev["ticket"]["number"] for ev in calls[1:]]
    assert all("stopped" in d["reason"] for d in dropped)
    assert wait_until(lambda: [s for s in statuses if s.get("online")][-1]["detail"]["skipped"] == 3, 10)


def test_the_terse_forms_still_say_a_recall() -> None:
    from display.voice.announce import Call, script
    call, recall = Call("A012", 1), Call("A012", 1, recall=True, times=2)
    keys = lambda segs: [s.key for s in segs if s.kind == "phrase"]  # noqa: E731
    assert keys(script(call)) == ["call", "to_counter"]
    assert keys(script(call, terse=True)) == ["call_short", "to_counter_short"]
    assert keys(script(call, terse=True, continued=True)) == ["number_short", "to_counter_short"]
    assert keys(script(recall)) == ["recall", "to_counter"]
    assert keys(script(recall, terse=True, continued=True)) == ["recall_short", "to_counter_short"]
    assert keys(script(Call("A012", 1, recall=True, times=4))) == ["recall_again", "to_counter"]


def test_an_older_pack_without_the_new_phrases_falls_back_and_says_so(tmp_path: Path) -> None:
    from display.voice.announce import Call, render, script
    from display.voice.pack import VoicePack
    pack = VoicePack.load(make_recorded_pack(tmp_path / "pack"))
    for key in ("recall", "recall_3", "recall_again", "call_short", "number_short", "recall_short",
                "to_counter_short"):
        del pack.clips[key]
    recall = Call("A012", 1, recall=True, times=2)
    ann = render(pack, script(recall, terse=True, continued=True), 1, recall, "none")
    assert [s["clips"] for s in ann.sequence if s["kind"] == "phrase"] == [["call"], ["to_counter"]]
    assert ann.missing == ["recall_short", "to_counter_short"]
    assert "recall" in pack.missing() and "call_short" in pack.missing()
