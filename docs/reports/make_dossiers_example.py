"""Regenerate the six-monthly dossier report: January-June 2026 at the ward example office.

Plays six months of dossiers through the upstream simulator over HTTP (hub/simperiod.py),
synced each working evening by the real hub syncer into DATA/hub/hub.sqlite, then runs
`motcua report --half 2026-H1` into docs/reports/example-6-thang/, and checks the report's
figures against upstream's own records. Usage: `.venv/bin/python docs/reports/make_dossiers_example.py`.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from edge.config import load  # noqa: E402
from edge.reports.cli import make_report  # noqa: E402
from edge.reports.stats import Period  # noqa: E402
from hub.simperiod import PeriodSim, expected_figures  # noqa: E402
from hub.simulator import TZ, SimulatorServer, Upstream  # noqa: E402
from hub.store import Store  # noqa: E402
from hub.sync import Syncer  # noqa: E402
from hub.upstream import RestAdapter  # noqa: E402

CONFIG = ROOT / "config" / "examples" / "ward.toml"
#: Tết Nguyên đán Bính Ngọ: civil servants off 14-22 February 2026 (the office's config lists only 1 January).
TET_2026 = {date(2026, 2, d) for d in range(14, 23)}
OUT = ROOT / "docs" / "reports" / "example-6-thang"


def main() -> int:
    cfg = load(CONFIG)
    period = Period.half(2026, 1)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        (data / "hub").mkdir()
        up = Upstream(0, agency="000.17.22.H56", now=datetime(2026, 1, 1, 7, 0, tzinfo=TZ))
        server = SimulatorServer(up).start()
        try:
            store = Store(data / "hub" / "hub.sqlite")
            adapter = RestAdapter(server.url, username=up.username, password=up.password, madonvi=up.agency,
                                  timeout=30)
            syncer = Syncer(store, adapter, TZ, page_size=500, timeout=30)
            counts = PeriodSim(up, syncer.run, seed=2026, holidays=set(cfg.office.holidays) | TET_2026).run(period.start, period.end)
            got = store.figures(f"{period.start:%Y%m%d}", f"{period.end:%Y%m%d}")
            store.close()
        finally:
            server.stop()
        want = expected_figures(up, period.start, period.end)
        same = want == {f: {k: v for k, v in g.items() if v} for f, g in got.items()}
        if OUT.exists():
            shutil.rmtree(OUT)
        files = make_report(cfg, data, period, OUT)
    print(json.dumps({"simulated": counts, "figures_equal_upstream": same,
                      "seconds": round(time.perf_counter() - t0, 1),
                      "files": [str(f.relative_to(ROOT)) for f in files]}, ensure_ascii=False))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
