"""Regenerate the example report: a simulated day on the ward example office.

Runs a real mosquitto and the real engine on a ManualClock, plays a working day through
PROTOCOL.md requests (edge/reports/simday.py), then writes the day's report into
docs/reports/example/. Usage: `.venv/bin/python docs/reports/make_example.py`.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from harness import TestOffice  # noqa: E402

from edge.clock import ManualClock  # noqa: E402
from edge.reports.cli import make_report  # noqa: E402
from edge.reports.simday import default_plan, simulate_day  # noqa: E402
from edge.reports.stats import Period  # noqa: E402

CONFIG = ROOT / "config" / "examples" / "ward.toml"
OUT = ROOT / "docs" / "reports" / "example"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        office = TestOffice(Path(tmp) / "data", CONFIG).start()
        try:
            day = datetime(2026, 11, 23, 7, 0, tzinfo=office.cfg.office.tz)  # a Monday
            clock = ManualClock(office.cfg.office.tz, day)
            office.start_engine(clock)
            admin = office.client("admin", clock=clock)
            counts = simulate_day(admin, clock, office.cfg, default_plan(office.cfg, day))
        finally:
            office.close()
        if OUT.exists():
            shutil.rmtree(OUT)
        files = make_report(office.cfg, office.data, Period.day(day.date()), OUT)
    print(json.dumps({"simulated": counts, "files": [str(f.relative_to(ROOT)) for f in files]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
