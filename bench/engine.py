"""Engine latency and throughput through the real broker, the engine in its own process.

- issue latency: ticket/issue request to reply, one kiosk, sequential
- call latency: `next` sent to event/ticket/called seen by another client
- throughput: tickets per second sustained by 8 concurrent kiosks

Prints one JSON object on its last line.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from edge.bus import wait_until  # noqa: E402
from harness import TestOffice, copy_config  # noqa: E402

N_LATENCY = int(os.environ.get("BENCH_N", "2000"))
THROUGHPUT_S = float(os.environ.get("BENCH_SECONDS", "10"))
KIOSKS = 8


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return round(values[k] * 1000, 3)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-"))
    cfg = copy_config(tmp, replace={"number_start = 2001\nnumber_end = 2999": "number_start = 20001\nnumber_end = 99999",
                                    "number_start = 1001\nnumber_end = 1999": "number_start = 100001\nnumber_end = 999999"})
    office = TestOffice(tmp / "data", cfg).start()
    env = dict(os.environ, PYTHONPATH=str(ROOT), MOTCUA_LOG="WARNING")
    engine = subprocess.Popen([sys.executable, "-m", "edge.cli", "engine", str(cfg), "--data", str(office.data),
                               "--broker", f"mqtt://engine:{office.creds['engine']}@127.0.0.1:{office.port}"],
                              env=env)
    t = office.topics
    try:
        kiosk = office.client("admin")
        assert wait_until(lambda: _alive(kiosk, t), 20), "engine did not answer"
        # warm-up
        for _ in range(50):
            kiosk.request(t.ticket_issue, {"service": "HT"})

        issue_lat = []
        for _ in range(N_LATENCY):
            t0 = time.perf_counter()
            r = kiosk.request(t.ticket_issue, {"service": "HT"}, timeout=5)
            issue_lat.append(time.perf_counter() - t0)
            assert r["ok"], r

        seen: dict[str, float] = {}
        cond = threading.Condition()
        watcher = office.client("admin")

        def on_called(topic: str, payload: bytes) -> None:
            tid = json.loads(payload)["ticket"]["ticket_id"]
            with cond:
                seen[tid] = time.perf_counter()
                cond.notify_all()

        watcher.subscribe(t.ticket_event("called"), on_called)
        time.sleep(0.3)
        clerk = office.client("admin")
        assert clerk.request(t.counter_command(2), {"action": "open"})["ok"]
        call_lat = []
        for _ in range(N_LATENCY):
            t0 = time.perf_counter()
            r = clerk.request(t.counter_command(2), {"action": "next"}, timeout=5)
            tid = r["ticket"]["ticket_id"]
            with cond:
                cond.wait_for(lambda: tid in seen, timeout=5)
            call_lat.append(seen[tid] - t0)

        counts = [0] * KIOSKS
        stop = threading.Event()
        buses = [office.client("admin") for _ in range(KIOSKS)]

        def run_kiosk(i: int) -> None:
            service = ("HT", "DD")[i % 2]
            while not stop.is_set():
                r = buses[i].request(t.ticket_issue, {"service": service}, timeout=10)
                if r["ok"]:
                    counts[i] += 1

        threads = [threading.Thread(target=run_kiosk, args=(i,), name=f"kiosk-{i}") for i in range(KIOSKS)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        time.sleep(THROUGHPUT_S)
        stop.set()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t0
        result = {
            "bench": "engine",
            "requests": N_LATENCY,
            "issue_latency_ms": {"p50": pct(issue_lat, 50), "p99": pct(issue_lat, 99),
                                 "mean": round(statistics.mean(issue_lat) * 1000, 3)},
            "call_latency_ms": {"p50": pct(call_lat, 50), "p99": pct(call_lat, 99),
                                "mean": round(statistics.mean(call_lat) * 1000, 3)},
            "throughput": {"kiosks": KIOSKS, "seconds": round(elapsed, 2), "tickets": sum(counts),
                           "tickets_per_s": round(sum(counts) / elapsed, 1)},
            "cores": os.cpu_count(),
        }
    finally:
        engine.terminate()
        engine.wait(10)
        office.close()
    print(json.dumps(result))


def _alive(bus, t) -> bool:
    try:
        return bus.request(t.counter_command(1), {"action": "pause"}, timeout=0.5, retries=0) is not None
    except Exception:
        return False


if __name__ == "__main__":
    main()
