"""`motcua report CONFIG --data DIR (--day D | --week D | --month YYYY-MM | --half YYYY-H1 | --year YYYY | --from D --to D | --range D D) [--out DIR]`."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date
from pathlib import Path

from edge.config import ConfigError, load
from edge.reports.dossiers import add_dossiers, write_charts as dossier_charts
from edge.reports.presence import presence_table
from edge.reports.stats import Period, Report, build, open_readonly
from edge.reports.write import write_all

log = logging.getLogger(__name__)


def parse_period(args: argparse.Namespace) -> Period:
    if args.day:
        return Period.day(date.fromisoformat(args.day))
    if args.week:
        return Period.week(date.fromisoformat(args.week))
    if getattr(args, "half", None):
        year, half = args.half.upper().split("-H")
        return Period.half(int(year), int(half))
    if getattr(args, "year", None):
        return Period.year(int(args.year))
    if getattr(args, "start", None):
        if not args.end:
            raise ValueError("--from needs --to")
        return Period.span(date.fromisoformat(args.start), date.fromisoformat(args.end))
    if args.range:
        return Period.range(date.fromisoformat(args.range[0]), date.fromisoformat(args.range[1]))
    year, month = (int(x) for x in args.month.split("-"))
    return Period.month(year, month)


def make_report(cfg, data: Path, period: Period, out: Path) -> list[Path]:
    """Build and write one period's report; returns the files written.

    With the hub's file (DATA/hub/hub.sqlite) the dossier figures per field are added; an
    office with a hub but no engine data yet gets a report of the dossiers alone.
    """
    hub_db = data / "hub" / "hub.sqlite"
    engine_db = data / "engine" / "engine.db"
    if engine_db.exists() or not hub_db.exists():
        conn = open_readonly(engine_db)
        try:
            report = build(conn, period, cfg.office.name, {s.code: s.name for s in cfg.services},
                           {c.number: c.label for c in cfg.counters}, cfg.office.wait_limit_min)
        finally:
            conn.close()
    else:
        report = Report(cfg.office.name, period, [], {})
    absences = presence_table(cfg, data, period)  # counter cameras' desk absences
    if absences is not None:
        report.tables.append(absences)
    add_dossiers(report, hub_db)
    files = write_all(report, out)
    return files + dossier_charts(report, out)


def cli_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="motcua report", description="Statistics of a day, week or month")
    ap.add_argument("config", help="office TOML file")
    ap.add_argument("--data", default="var/office", help="the office's data folder (holds engine/engine.db)")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--auto", action="store_true",
                   help="keep running: write each day's report after closing time (for a systemd unit)")
    g.add_argument("--day", help="YYYY-MM-DD")
    g.add_argument("--week", help="any YYYY-MM-DD of the ISO week (Monday to Sunday)")
    g.add_argument("--month", help="YYYY-MM")
    g.add_argument("--half", help="YYYY-H1 (January-June) or YYYY-H2 (July-December)")
    g.add_argument("--year", help="YYYY")
    g.add_argument("--from", dest="start", help="YYYY-MM-DD: any period, with --to")
    ap.add_argument("--to", dest="end", help="YYYY-MM-DD, the last day of a --from period")
    g.add_argument("--range", nargs=2, metavar=("START", "END"), help="YYYY-MM-DD YYYY-MM-DD, both included")
    ap.add_argument("--out", default=None, help="output folder (default DATA/reports)")
    ap.add_argument("--clock", default=None, help="--auto: simulated office clock START[xSPEED]")
    args = ap.parse_args(argv)
    try:
        cfg = load(args.config)
        if args.auto:
            return _auto(cfg, Path(args.data), args.clock)
        period = parse_period(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"motcua report: bad date: {exc}", file=sys.stderr)
        return 2
    data = Path(args.data)
    try:
        files = make_report(cfg, data, period, Path(args.out) if args.out else data / "reports")
    except FileNotFoundError as exc:
        print(f"motcua report: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"period": period.label, "files": [str(f) for f in files]}, ensure_ascii=False))
    return 0


def _auto(cfg, data: Path, clock_spec: str | None) -> int:
    """Run the daily reporter until SIGTERM/SIGINT."""
    from edge.clock import parse_clock
    from edge.daemon import run_daemon
    from edge.reports.auto import DailyReporter

    reporter = DailyReporter(cfg, data, parse_clock(clock_spec, cfg.office.tz))
    return run_daemon(reporter, "daily-report")
