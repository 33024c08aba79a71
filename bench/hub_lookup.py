"""Dossier lookup latency over MQTT, answered from the hub's cache.

The hub runs as its own process (`motcua hub`, in-process upstream simulator) on a real
mosquitto; after its initial sync a client sends PROTOCOL.md dossier/lookup requests for
random cached codes, one at a time, and measures request -> reply. Target: p99 under 10 ms.
Prints one JSON object on its last line.
"""
from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from edge.bus import RequestTimeout, wait_until  # noqa: E402
from harness import TestOffice, copy_config  # noqa: E402

N = int(os.environ.get("BENCH_N", "3000"))
DOSSIERS = int(os.environ.get("BENCH_DOSSIERS", "100000"))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return round(values[k] * 1000, 3)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-lookup-"))
    cfg = copy_config(tmp, replace={"simulator_dossiers = 200": f"simulator_dossiers = {DOSSIERS}\n"
                                    "page_size = 2000\nlookup_rate_per_min = 10000000"})
    office = TestOffice(tmp / "data", cfg).start()
    env = dict(os.environ, PYTHONPATH=str(ROOT), MOTCUA_LOG="WARNING")
    hub = subprocess.Popen([sys.executable, "-m", "edge.cli", "hub", str(cfg), "--data", str(office.data),
                            "--broker", f"mqtt://hub:{office.creds['hub']}@127.0.0.1:{office.port}"], env=env)
    t = office.topics
    try:
        client = office.client("admin")

        def synced() -> bool:
            try:
                st = client.request(t.hub_admin, {"action": "status"}, timeout=2, retries=0)
            except RequestTimeout:
                return False
            return st.get("dossiers") == DOSSIERS and st.get("state") == "ok"
        t0 = time.perf_counter()
        assert wait_until(synced, 180, 0.5), "hub did not finish its initial sync"
        sync_s = time.perf_counter() - t0
        db = sqlite3.connect(f"file:{office.data / 'hub' / 'hub.sqlite'}?mode=ro", uri=True)
        codes = [r[0] for r in db.execute("SELECT code FROM dossiers")]
        db.close()
        rng = random.Random(5)
        for code in rng.sample(codes, 100):   # warm-up
            assert client.request(t.dossier_lookup, {"code": code}, timeout=5)["ok"]
        lat, stale = [], 0
        for code in rng.sample(codes, N):
            t1 = time.perf_counter()
            r = client.request(t.dossier_lookup, {"code": code}, timeout=5)
            lat.append(time.perf_counter() - t1)
            assert r["ok"], r
            stale += r["dossier"]["stale"]
        print(json.dumps({"bench": "hub_lookup", "cached_dossiers": len(codes), "lookups": N,
                          "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90), "p99_ms": pct(lat, 99),
                          "max_ms": pct(lat, 100), "stale_answers": stale,
                          "hub_initial_sync_s": round(sync_s, 1), "target_p99_ms": 10,
                          "ok": pct(lat, 99) < 10}))
    finally:
        hub.terminate()
        hub.wait(10)
        office.close()


if __name__ == "__main__":
    main()
