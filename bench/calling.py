"""Calling latency: Next pressed on a keypad to the LED bytes, the display state and the voice.

Every daemon runs in its own process, as in an office: the engine, the led daemon
(serial backend on a pty whose far end this script reads, answering like a Modbus
board), the keypad daemon (virtual backend: the serial line protocol on a pty, into
which this script writes `next`) and the voice daemon (wav backend). Per press:

- led_ms:       the `next` line written -> the Modbus frame with the new number read at the LED pty
- display_ms:   -> the retained counter state with the new number received by a client
- queue_ms:     -> the retained queue state whose newest recent call is the new number
- voice_ms:     -> the voice daemon's `event/voice/started` for the new number
- called_ms:    -> the engine's `event/ticket/called` received by a client (the shared first leg)
- led_after_called_event_ms: that event -> the LED bytes (the led daemon's own share; can be
                negative when the led daemon gets the event before the bench's client does)

Each press waits for the previous announcement to finish, so voice_ms is the latency of
starting one announcement, not the length of a queue. BENCH_N presses (default 200).
Prints one JSON object on its last line.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from display.led.protocols import ModbusRTU  # noqa: E402
from display.led.virtual import PtyPair, SimulatedBoards  # noqa: E402
from edge.bus import wait_until  # noqa: E402
from harness import TestOffice, copy_config  # noqa: E402

N = min(int(os.environ.get("BENCH_N", "200")), 990)
WARMUP = 5
TARGET_LED_P99_MS = 50.0

LED_1 = 'id = "led-1"\nkind = "led"\ncounter = 1\naddress = 1\n'
KEYPAD_1 = 'id = "keypad-1"\nkind = "keypad"\ncounter = 1\n'
VOICE_1 = 'id = "voice-1"\nkind = "voice"\nbackend = "wav"\n'


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return round(values[k] * 1000, 2)


def summary(values: list[float]) -> dict[str, float | int | None]:
    return {"p50": pct(values, 50), "p99": pct(values, 99), "max": pct(values, 100), "n": len(values)}


class Seen:
    """First arrival time (monotonic) of each number on one channel."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()

    def mark(self, number: str | None, t: float | None = None) -> None:
        if number is None:
            return
        with self.lock:
            self.at.setdefault(number, t if t is not None else time.monotonic())

    def get(self, number: str) -> float | None:
        with self.lock:
            return self.at.get(number)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-calling-"))
    led_line = PtyPair()
    cfg = copy_config(tmp, replace={
        LED_1: LED_1 + f'backend = "serial"\nport = "{led_line.path}"\n',
        KEYPAD_1: KEYPAD_1 + 'backend = "virtual"\nrepeat_guard_s = 0\n',
        VOICE_1: VOICE_1 + "pace = false\n",  # the start of each announcement, not its length
    })
    office = TestOffice(tmp / "data", cfg).start()
    env = dict(os.environ, PYTHONPATH=str(ROOT), MOTCUA_LOG="WARNING")
    procs: list[subprocess.Popen] = []

    def daemon(name: str, device: str | None = None) -> None:
        user = device or name
        cmd = [sys.executable, "-m", "edge.cli", name, str(cfg), "--data", str(office.data),
               "--broker", f"mqtt://{user}:{office.creds[user]}@127.0.0.1:{office.port}"]
        if device:
            cmd += ["--device", device]
        log = open(tmp / f"{user}.log", "wb")
        procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))

    led, display, queue_seen, voice, finished = Seen(), Seen(), Seen(), Seen(), Seen()
    called = Seen()
    board = SimulatedBoards(led_line.master, ModbusRTU(4), name="bench",
                            on_show=lambda shown, t: led.mark(shown.text or None, t)).start()
    t = office.topics
    try:
        for name, device in (("engine", None), ("led", "led-1"), ("keypad", "keypad-1"), ("voice", "voice-1")):
            daemon(name, device)
        admin = office.client("admin")
        statuses: dict[str, dict] = {}

        def on_status(topic: str, payload: bytes) -> None:
            statuses[topic.split("/")[-2]] = json.loads(payload)

        def on_counter(topic: str, payload: bytes) -> None:
            serving = json.loads(payload).get("serving")
            display.mark(serving and serving.get("number"))

        def on_queue(topic: str, payload: bytes) -> None:
            calls = json.loads(payload).get("recent_calls") or []
            queue_seen.mark(calls[0]["number"] if calls else None)

        subs = {t.ticket_event("called"): lambda tp, p: called.mark(json.loads(p)["ticket"]["number"]),
                t.device_status_all: on_status, t.counter_state(1): on_counter, t.queue_state: on_queue,
                t.voice_event("started"): lambda tp, p: voice.mark(json.loads(p).get("number")),
                t.voice_event("finished"): lambda tp, p: finished.mark(json.loads(p).get("number"))}
        for pattern, handler in subs.items():
            admin.subscribe(pattern, handler)
            admin.client.subscribe(pattern, 1)

        def ready() -> bool:
            return all(statuses.get(d, {}).get("state") == "ok" for d in ("led-1", "keypad-1", "voice-1")) \
                and statuses.get("led-1", {}).get("detail", {}).get("boards", {}).get("1") == "ok"
        assert wait_until(lambda: _engine_answers(admin, t), 30), "engine did not answer"
        admin.request(t.counter_command(1), {"action": "open", "staff": "Nguyễn Thị Lan"})
        assert wait_until(ready, 120), f"daemons not ready: {statuses}"
        tty = (office.data / "keypad-1" / "tty").read_text().strip()
        for _ in range(N + WARMUP):
            assert admin.request(t.ticket_issue, {"service": "HT"}, timeout=5)["ok"]
        pad = os.open(tty, os.O_WRONLY | os.O_NOCTTY)

        lat: dict[str, list[float]] = {"called": [], "led": [], "display": [], "queue": [], "voice": [],
                                       "led_after_called": []}
        missed = 0
        for i in range(N + WARMUP):
            number = str(2001 + i)  # HT numbers 2001-2999 fit a 4-digit board
            t0 = time.monotonic()
            os.write(pad, b"next\r\n")
            done = wait_until(lambda: all(s.get(number) for s in (led, display, queue_seen, voice, finished)),
                              10, interval=0.002)
            if not done:
                missed += 1
            if i >= WARMUP:
                for key, seen in (("called", called), ("led", led), ("display", display),
                                  ("queue", queue_seen), ("voice", voice)):
                    at = seen.get(number)
                    if at is not None:
                        lat[key].append(at - t0)
                if led.get(number) and called.get(number):
                    lat["led_after_called"].append(led.get(number) - called.get(number))
            time.sleep(random.uniform(0.05, 0.15))
        os.close(pad)
        result = {
            "bench": "calling", "presses": N, "missed": missed, "cpus": os.cpu_count(),
            "called_ms": summary(lat["called"]), "led_ms": summary(lat["led"]),
            "led_after_called_event_ms": summary(lat["led_after_called"]), "display_ms": summary(lat["display"]),
            "queue_ms": summary(lat["queue"]), "voice_ms": summary(lat["voice"]),
            "target_led_p99_ms": TARGET_LED_P99_MS,
            "led_p99_ok": bool(lat["led"]) and pct(lat["led"], 99) < TARGET_LED_P99_MS,
            "setup": "engine, led (serial->pty, Modbus RTU), keypad (virtual pty), voice (wav) "
                     "each a motcua process; real mosquitto",
        }
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        board.stop()
        office.close()
        led_line.close()
    print(json.dumps(result))


def _engine_answers(admin, t) -> bool:
    try:
        return bool(admin.request(t.counter_command(1), {"action": "resume"}, timeout=1, retries=0))
    except Exception:  # noqa: BLE001 - not up yet
        return False


if __name__ == "__main__":
    main()
