"""Initial sync of 100,000 dossiers from the upstream simulator (its own process, real HTTP).

Target: under 60 s. The hub side runs here (REST adapter -> Syncer -> SQLite with WAL and
synchronous=FULL, one transaction per page). Prints one JSON object on its last line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.broker import free_port  # noqa: E402
from hub.store import Store  # noqa: E402
from hub.sync import Syncer  # noqa: E402
from hub.upstream import RestAdapter  # noqa: E402

N = int(os.environ.get("BENCH_DOSSIERS", "100000"))
PAGE = int(os.environ.get("BENCH_PAGE", "500"))


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-hub-"))
    port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "edge.cli", "upstream-sim", "--port", str(port),
                            "--dossiers", str(N), "--password", "bench"],
                           stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT),
                                                                       MOTCUA_LOG="WARNING"))
    try:
        line = sim.stdout.readline()   # printed once the dossiers are generated and it listens
        assert "upstream simulator" in line, line
        adapter = RestAdapter(f"http://127.0.0.1:{port}", username="hub", password="bench",
                              madonvi="000.17.22.H56", timeout=30)
        store = Store(tmp / "hub.sqlite")
        syncer = Syncer(store, adapter, ZoneInfo("Asia/Ho_Chi_Minh"), page_size=PAGE, timeout=30)
        t0 = time.perf_counter()
        res = syncer.run()
        elapsed = time.perf_counter() - t0
        assert store.count() == N, store.count()
        t1 = time.perf_counter()
        again = syncer.run()
        incr = time.perf_counter() - t1
        print(json.dumps({"bench": "hub_sync", "dossiers": N, "page_size": PAGE, "pages": res.pages,
                          "initial_sync_s": round(elapsed, 2), "dossiers_per_s": round(N / elapsed),
                          "incremental_noop_sync_ms": round(incr * 1000, 1), "noop_pages": again.pages,
                          "target_s": 60, "ok": elapsed < 60}))
    finally:
        sim.terminate()
        sim.wait(10)


if __name__ == "__main__":
    main()
