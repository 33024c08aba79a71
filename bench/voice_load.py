"""Voice under load: does a speaker keep up, with the real length of every clip?

Builds the espeak-ng pack (real WAV clips), then plays calls through the same phrasing
decision the voice daemon makes (display/voice/backlog.py `plan`, with VoiceDevice's
defaults) and the same composer, on a simulated timeline: each announcement lasts exactly
the length of its joined samples.

1. `sustained_calls_per_min`: the highest steady call rate (Poisson, one office hour) one
   speaker says with every call started within 60 s and none dropped; beside it the rate
   of the old fixed phrasing (chime + sentence twice).
2. The province morning (BENCH_CONFIG, default config/examples/province.toml; 500 arrivals
   an hour from 07:00, every counter calling at 07:30 sharp (as the simulated clerks do: the
   worst burst), 4.4 min mean service, 8 % no-shows
   recalled twice): three speakers, one per floor's zones; the longest wait from a call to
   its announcement ("backlog"), calls dropped, calls shortened. For comparison, one
   speaker for the whole centre with the old phrasing (the issue's case).
3. `daemons`: the busiest part of that morning (07:25-08:05: the counters open and call at
   once) played through the real voice daemons — three of them, paced WAV backend, espeak
   pack — on a real mosquitto under a simulated clock (BENCH_SPEED, default x30; set
   BENCH_DAEMONS=0 to skip): the late_s of their `started` events and their `dropped`.
4. `engine`: the same three daemons fed by the real engine and the simulated citizens and
   clerks (edge/simulate.py: 500 arrivals an hour, 8 % no-shows, 4.4 min service, every
   counter opening at 07:30), 07:10 onwards for BENCH_ENGINE_S real seconds (default 75) at
   BENCH_SPEED; BENCH_ENGINE=0 skips it.
Prints one JSON object on its last line.
"""
from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from display.voice.announce import Call, counter_label, render, script  # noqa: E402
from display.voice.backlog import plan  # noqa: E402
from display.voice.pack import VoicePack, build_pack  # noqa: E402
from edge.config import load  # noqa: E402
from edge.config.devices import VoiceDevice  # noqa: E402
from edge.bus import wait_until  # noqa: E402
from edge.clock import SimClock  # noqa: E402

CONFIG = Path(os.environ.get("BENCH_CONFIG", ROOT / "config" / "examples" / "province.toml"))
ARRIVALS_H = float(os.environ.get("BENCH_ARRIVALS", "500"))
SERVICE_MIN = 4.4
NO_SHOW = 0.08
RECALL_S = 45.0
LIMIT_S = 60.0
SPEED = float(os.environ.get("BENCH_SPEED", "30"))
WINDOW = (1500.0, 3900.0)  # 07:25-08:05, office seconds since 07:00


@dataclass(order=True)
class Ev:
    at: float  # office seconds since 07:00
    number: str = field(compare=False)
    counter: int = field(compare=False)
    name: str = field(compare=False)
    times: int = field(default=1, compare=False)  # 1 call, 2 first recall, ...


class Speaker:
    """One voice device on a timeline: says its calls in order, one at a time."""

    def __init__(self, pack: VoicePack, dev: VoiceDevice, adaptive: bool = True) -> None:
        self.pack, self.dev, self.adaptive = pack, dev, adaptive
        self._cache: dict[tuple[Any, ...], float] = {}

    def length(self, ev: Ev, repeat: int, chime: str, terse: bool = False, continued: bool = False) -> float:
        key = (ev.number, ev.counter, ev.times, repeat, chime, terse, continued)
        if key not in self._cache:
            call = Call(ev.number, ev.counter, counter_name=ev.name, recall=ev.times > 1,
                        counter_label=counter_label(ev.name, ev.counter), times=ev.times)
            segs = script(call, self.dev.dialect, self.dev.digit_by_digit, self.dev.four_word, terse, continued)
            self._cache[key] = render(self.pack, segs, repeat, call, chime).duration_s
        return self._cache[key]

    def run(self, events: list[Ev]) -> dict[str, Any]:
        events = sorted(events)
        free, last_end, i = 0.0, float("-inf"), 0
        waits: list[float] = []
        dropped = shortened = 0
        speech = 0.0
        queue: list[Ev] = []
        while i < len(events) or queue:
            if not queue:
                queue.append(events[i])
                i += 1
            start = max(free, queue[0].at)
            while i < len(events) and events[i].at <= start:  # arrived while the speaker talked
                queue.append(events[i])
                i += 1
            ev = queue.pop(0)
            late = start - ev.at
            if late > self.dev.max_delay_s:
                dropped += 1
                continue
            full = self.length(ev, self.dev.repeat, self.dev.chime)
            if self.adaptive:
                how = plan(self.dev, len(queue) * full, late, start - last_end)
                took = self.length(ev, how.repeat, how.chime, how.terse, how.continued)
                shortened += how.shortened
            else:
                took = full
            waits.append(late)
            speech += took
            free = last_end = start + took
        span = max((e.at for e in events), default=0.0) - min((e.at for e in events), default=0.0)
        waits.sort()
        return {"calls": len(events), "said": len(waits), "dropped": dropped, "shortened": shortened,
                "max_wait_s": round(max(waits, default=0.0), 1),
                "p95_wait_s": round(waits[int(0.95 * (len(waits) - 1))] if waits else 0.0, 1),
                "mean_wait_s": round(statistics.fmean(waits) if waits else 0.0, 1),
                "speech_s_per_min": round(60 * speech / span, 1) if span else 0.0}


def steady(cfg: Any, rate_min: float, seed: int = 3) -> list[Ev]:
    """One office hour of calls at `rate_min` a minute, on random counters and numbers."""
    rnd, at, out = random.Random(seed), 0.0, []
    while True:
        at += rnd.expovariate(rate_min / 60.0)
        if at > 3600:
            return out
        c = rnd.choice(cfg.counters)
        number = cfg.service(c.services[0]).number_format.format(n=rnd.randint(1, 400))
        out.append(Ev(at, number, c.number, c.label))


def sustained(cfg: Any, speaker: Speaker) -> float:
    """Highest calls/minute with every call said within LIMIT_S and none dropped (bisection)."""
    lo, hi = 0.5, 40.0
    for _ in range(10):
        mid = (lo + hi) / 2
        r = speaker.run(steady(cfg, mid))
        if r["dropped"] == 0 and r["max_wait_s"] < LIMIT_S:
            lo = mid
        else:
            hi = mid
    return round(lo, 2)


def morning(cfg: Any, seed: int = 11) -> list[Ev]:
    """The calls of a province morning 07:00-11:30 as the counters make them."""
    rnd = random.Random(seed)
    services = [s.code for s in cfg.services]
    weight = {s: sum(s in c.services for c in cfg.counters) for s in services}
    arrivals: dict[str, list[float]] = defaultdict(list)
    at = 0.0
    while True:
        at += rnd.expovariate(ARRIVALS_H / 3600.0)
        if at > 4.25 * 3600:  # tickets until 11:15
            break
        arrivals[rnd.choices(services, [weight[s] for s in services])[0]].append(at)
    issued = {s: 0 for s in services}
    free = {c.number: 1800.0 for c in cfg.counters}  # all open at 07:30 and call at once
    calls: list[Ev] = []
    pending = {s: list(a) for s, a in arrivals.items()}
    while True:
        counter = min(free, key=free.__getitem__)
        now = free[counter]
        c = cfg.counter(counter)
        ready = [s for s in c.services if pending.get(s) and pending[s][0] <= now]
        if not ready:
            nxt = min((pending[s][0] for s in c.services if pending.get(s)), default=None)
            if nxt is None:
                del free[counter]
                if not free:
                    return calls
                continue
            free[counter] = nxt
            continue
        svc = ready[0]
        pending[svc].pop(0)
        issued[svc] += 1
        number = cfg.service(svc).number_format.format(n=issued[svc])
        calls.append(Ev(now, number, counter, c.label))
        if rnd.random() < NO_SHOW:  # nobody comes: recalled twice, then the next
            calls.append(Ev(now + RECALL_S, number, counter, c.label, 2))
            calls.append(Ev(now + 2 * RECALL_S, number, counter, c.label, 3))
            free[counter] = now + 3 * RECALL_S
        else:
            free[counter] = now + rnd.gammavariate(4.0, SERVICE_MIN * 60 / 4.0)


def through_daemons(cfg: Any, pack_dir: Path, groups: dict[str, set[int]], calls: list[Ev]) -> dict[str, Any]:
    """The calls of WINDOW through real voice daemons on a real broker, at SPEED."""
    from display.voice import create
    from harness import TestOffice

    voices = sorted(d.id for d in cfg.devices if d.kind == "voice")[: len(groups)]
    if len(voices) < len(groups):
        return {"skipped": f"{CONFIG.name} has {len(voices)} voice devices for {len(groups)} groups"}
    window = sorted(e for e in calls if WINDOW[0] <= e.at < WINDOW[1])
    with tempfile.TemporaryDirectory(prefix="motcua-bench-voiced-") as tmp:
        office = TestOffice(Path(tmp) / "data", CONFIG).start()
        tz = cfg.office.tz
        t0 = time.time() + 3.0  # time for the daemons to connect and load the pack
        clock = SimClock(tz, datetime(2026, 11, 23, 7, 0, tzinfo=tz) + timedelta(seconds=WINDOW[0]),
                         speed=SPEED, anchor=t0)
        started: list[dict[str, Any]] = []
        dropped: list[dict[str, Any]] = []
        lock = threading.Lock()
        daemons = []
        try:
            admin = office.client("admin")
            t = office.topics
            admin.subscribe(t.voice_event("started"), lambda tp, p: (lock.acquire(), started.append(json.loads(p)),
                                                                     lock.release()))
            admin.subscribe(t.voice_event("dropped"), lambda tp, p: (lock.acquire(), dropped.append(json.loads(p)),
                                                                     lock.release()))
            owner: dict[int, str] = {}
            for vid, (group, counters) in zip(voices, sorted(groups.items())):
                dev = cfg.device(vid).model_copy(update={
                    "backend": "wav", "pace": True, "pack": str(pack_dir), "counters": sorted(counters),
                    "zones": None, "floors": None, "output_dir": str(Path(tmp) / vid), "max_files": 20})
                d = create(office.ctx(vid, "voice", clock=clock, device=dev))
                d.start()
                daemons.append(d)
                owner.update({c: vid for c in counters})
            assert wait_until(lambda: all(d.pack is not None for d in daemons), 60), "voice daemons not ready"
            for ev in window:
                time.sleep(max(0.0, t0 + (ev.at - WINDOW[0]) / SPEED - time.time()))
                c = cfg.counter(ev.counter)
                svc = cfg.service(c.services[0])
                ticket = {"ticket_id": f"20261123-{svc.code}-{ev.number}", "number": ev.number, "seq": 1,
                          "service": svc.code, "service_name": svc.name, "priority": "none", "day": "2026-11-23",
                          "issued_at": "2026-11-23T07:00:00+07:00", "status": "called", "counter": ev.counter}
                when = clock.now().isoformat(timespec="milliseconds")
                admin.publish(t.ticket_event("recalled" if ev.times > 1 else "called"),
                              {"ticket": ticket, "counter": ev.counter, "counter_name": c.label, "ts": when})
            assert wait_until(lambda: len(started) + len(dropped) >= len(window), 600, interval=0.2)
        finally:
            for d in daemons:
                d.stop()
            office.close()
    late = sorted(s["late_s"] for s in started)
    return {"window": "07:25-08:05", "speed": SPEED, "calls": len(window), "said": len(started),
            "dropped": len(dropped), "shortened": sum(bool(s.get("shortened")) for s in started),
            "max_wait_s": round(late[-1], 1) if late else 0.0,
            "p95_wait_s": round(late[int(0.95 * (len(late) - 1))], 1) if late else 0.0}


def through_engine(cfg: Any, pack_dir: Path, groups: dict[str, set[int]]) -> dict[str, Any]:
    """Engine + simulated citizens and clerks + the voice daemons, on a real broker."""
    from display.voice import create
    from edge.config.model import Simulation
    from edge.simulate import Simulator
    from harness import TestOffice

    voices = sorted(d.id for d in cfg.devices if d.kind == "voice")[: len(groups)]
    if len(voices) < len(groups):
        return {"skipped": f"{CONFIG.name} has {len(voices)} voice devices for {len(groups)} groups"}
    run_s = float(os.environ.get("BENCH_ENGINE_S", "75"))
    with tempfile.TemporaryDirectory(prefix="motcua-bench-voicee-") as tmp:
        office = TestOffice(Path(tmp) / "data", CONFIG).start()
        office.cfg = office.cfg.model_copy(update={"simulation": Simulation(
            arrivals_per_hour=ARRIVALS_H, no_show_share=NO_SHOW, service_time_s=SERVICE_MIN * 60)})
        tz = cfg.office.tz
        clock = SimClock(tz, datetime(2026, 11, 23, 7, 10, tzinfo=tz), speed=SPEED)
        started: list[dict[str, Any]] = []
        dropped: list[dict[str, Any]] = []
        calls: list[int] = []
        daemons: list[Any] = []
        sim = None
        try:
            admin = office.client("admin")
            t = office.topics
            admin.subscribe(t.voice_event("started"), lambda tp, p: started.append(json.loads(p)))
            admin.subscribe(t.voice_event("dropped"), lambda tp, p: dropped.append(json.loads(p)))
            admin.subscribe(t.ticket_event("called"), lambda tp, p: calls.append(1))
            office.start_engine(clock)
            for vid, (_group, counters) in zip(voices, sorted(groups.items())):
                dev = office.cfg.device(vid).model_copy(update={
                    "backend": "wav", "pace": True, "pack": str(pack_dir), "counters": sorted(counters),
                    "zones": None, "floors": None, "output_dir": str(Path(tmp) / vid), "max_files": 20})
                d = create(office.ctx(vid, "voice", clock=clock, device=dev))
                d.start()
                daemons.append(d)
            sim = Simulator(office.ctx("simulator", "simulator", clock=clock), seed=5)
            sim.start()
            time.sleep(run_s)
            issued, until = sim.issued, clock.now()
        finally:
            if sim is not None:
                sim.stop()
            pending = sum(d.pending() for d in daemons)
            for d in daemons:
                d.stop()  # what still waits is reported as dropped: not counted against the speakers
            office.close()
    late = sorted(s["late_s"] for s in started)
    stopped = sum("stopped" in d.get("reason", "") for d in dropped)
    return {"from": "07:10", "until": f"{until:%H:%M}", "speed": SPEED, "issued": issued, "calls": len(calls),
            "said": len(started), "dropped": len(dropped) - stopped, "waiting_at_end": pending,
            "shortened": sum(bool(s.get("shortened")) for s in started),
            "terse": sum(bool(s.get("terse")) for s in started),
            "max_wait_s": round(late[-1], 1) if late else 0.0,
            "p95_wait_s": round(late[int(0.95 * (len(late) - 1))], 1) if late else 0.0}


def main() -> int:
    cfg = load(CONFIG)
    dev = VoiceDevice(id="voice-bench", kind="voice")
    tmp = tempfile.TemporaryDirectory(prefix="motcua-bench-voice-")
    pack_dir = Path(tmp.name) / "pack"
    build_pack(pack_dir, dialect=dev.dialect)
    pack = VoicePack.load(pack_dir)
    adaptive, fixed = Speaker(pack, dev), Speaker(pack, dev, adaptive=False)
    sample = steady(cfg, 10)[:300]
    full = [adaptive.length(e, dev.repeat, dev.chime) for e in sample]
    short = [adaptive.length(e, 1, "none") for e in sample]
    terse = [adaptive.length(e, 1, "none", True, True) for e in sample]

    calls = morning(cfg)
    floors: dict[Any, set[str]] = defaultdict(set)
    for c in cfg.counters:
        floors[c.floor].add(c.zone)
    voices: dict[str, Any] = {}
    groups: dict[str, set[int]] = {}
    for floor, zones in sorted(floors.items(), key=lambda kv: str(kv[0])):
        mine = {c.number for c in cfg.counters if c.zone in zones}
        name = f"floor {floor}: zones {','.join(sorted(z or '-' for z in zones))}"
        voices[name], groups[name] = adaptive.run([e for e in calls if e.counter in mine]), mine
    window = {name: adaptive.run([e for e in calls if e.counter in mine and WINDOW[0] <= e.at < WINDOW[1]])
              for name, mine in groups.items()}
    one_old = fixed.run(calls)
    one_new = adaptive.run(calls)
    worst = max(v["max_wait_s"] for v in voices.values())
    dropped = sum(v["dropped"] for v in voices.values())
    result = {
        "config": CONFIG.name, "counters": len(cfg.counters), "arrivals_per_hour": ARRIVALS_H,
        "calls": len(calls), "voices": len(voices),
        "full_call_s": round(statistics.fmean(full), 2), "short_call_s": round(statistics.fmean(short), 2),
        "terse_call_s": round(statistics.fmean(terse), 2),
        "sustained_calls_per_min": sustained(cfg, adaptive),
        "sustained_calls_per_min_fixed_phrasing": sustained(cfg, fixed),
        "province_max_backlog_s": worst, "province_dropped": dropped,
        "province_shortened": sum(v["shortened"] for v in voices.values()),
        "province_ok": worst < LIMIT_S and dropped == 0,
        "per_voice": voices,
        "one_voice_fixed_phrasing": {k: one_old[k] for k in ("max_wait_s", "dropped", "speech_s_per_min")},
        "one_voice_adaptive": {k: one_new[k] for k in ("max_wait_s", "dropped", "shortened")},
        "window_simulated_max_wait_s": max(v["max_wait_s"] for v in window.values()),
    }
    if os.environ.get("BENCH_DAEMONS", "1") != "0":
        result["daemons"] = through_daemons(cfg, pack_dir, groups, calls)
        result["province_ok"] = result["province_ok"] and result["daemons"].get("dropped", 0) == 0 \
            and result["daemons"].get("max_wait_s", 0.0) < LIMIT_S
    if os.environ.get("BENCH_ENGINE", "1") != "0":
        result["engine"] = through_engine(cfg, pack_dir, groups)
        result["province_ok"] = result["province_ok"] and result["engine"].get("dropped", 0) == 0 \
            and result["engine"].get("max_wait_s", 0.0) < LIMIT_S
    tmp.cleanup()
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
