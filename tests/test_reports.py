"""Reports: statistics checked against hand-computed values, the files, the CLI, the daily job,
and a simulated day driven through the real engine."""
from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from edge.clock import ManualClock
from edge.config import load
from edge.engine import ratings, store
from edge.reports.auto import DailyReporter
from edge.reports.cli import cli_main
from edge.reports.simday import default_plan, simulate_day
from edge.reports.stats import Period, build, open_readonly, p90
from harness import SMALL

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def ts(day: str, hm: str) -> str:
    return f"{day}T{hm}:00+07:00"


def make_db(data: Path) -> None:
    conn = store.connect(data / "engine" / "engine.db")
    store.create_schema(conn)
    ratings.ensure_schema(conn)
    rows = [  # ticket, day, service, status, counter, staff, issued, called, finished
        ("20261123-HT-0001", "2026-11-23", "HT", "done", 1, "Lan", "08:00", "08:10", "08:20"),
        ("20261123-HT-0002", "2026-11-23", "HT", "done", 2, "Minh", "08:05", "08:25", "08:31"),
        ("20261123-HT-0003", "2026-11-23", "HT", "no_show", 1, "Lan", "09:10", "09:40", "09:42"),
        ("20261123-DD-0001", "2026-11-23", "DD", "done", 1, "Lan", "09:00", "09:05", "09:45"),
        ("20261123-DD-0002", "2026-11-23", "DD", "waiting", None, None, "16:50", None, None),
        ("20261124-HT-0001", "2026-11-24", "HT", "done", 2, "Minh", "08:00", "08:02", "08:12"),
        ("20261201-HT-0001", "2026-12-01", "HT", "done", 2, "Minh", "08:00", "08:02", "08:12"),
    ]
    for tid, day, svc, status, counter, staff, iss, cal, fin in rows:
        conn.execute(
            "INSERT INTO tickets(ticket_id, day, service, seq, number, status, counter, staff, issued_at, "
            "called_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (tid, day, svc, int(tid[-4:]), tid[-4:] + svc, status, counter, staff, ts(day, iss),
             ts(day, cal) if cal else None, ts(day, fin) if fin else None))
    for tid, counter, level, reasons, comment in [
        ("20261123-HT-0001", 1, "very_satisfied", [], None),
        ("20261123-HT-0002", 2, "unsatisfied", ["Chậm", "Thái độ"], "Chờ lâu"),
        ("20261123-DD-0001", 1, "unsatisfied", ["Chậm"], None),
        ("20261124-HT-0001", 2, "satisfied", [], None),
    ]:
        from edge.protocol import RatingRequest
        with store.immediate(conn):
            ratings.submit(conn, RatingRequest(id=f"r-{tid}", reply_to="x/reply/y", counter=counter,
                                               ticket_id=tid, level=level, reasons=reasons, comment=comment),
                           datetime(2026, 11, 23, 18, 0, tzinfo=TZ))
    conn.close()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    make_db(d)
    return d


def test_p90_nearest_rank() -> None:
    assert p90([]) is None
    assert p90([5]) == 5
    assert p90(list(range(1, 11))) == 9
    assert p90(list(range(1, 21))) == 18


def test_day_statistics_match_hand_computed(data: Path) -> None:
    conn = open_readonly(data / "engine" / "engine.db")
    rep = build(conn, Period.day(date(2026, 11, 23)), "X", {"HT": "Hộ tịch"}, {1: "Quầy 1"})
    s = rep.summary
    assert (s["tickets"], s["done"], s["no_show"], s["waiting"]) == (5, 3, 1, 1)
    # waits 10, 20, 30, 5 min -> mean 16.25 (16.2 after rounding), p90 = 30
    assert s["wait_mean_min"] == round(16.25, 1) and s["wait_p90_min"] == 30.0
    # service 10, 6, 40 -> mean 18.7, p90 40
    assert s["service_mean_min"] == 18.7 and s["service_p90_min"] == 40.0
    svc = {r[0]: r for r in rep.table("times_by_service").rows}
    assert svc["HT - Hộ tịch"][1:] == [3, 20.0, 30.0, 2, 8.0, 10.0, 1]
    assert svc["DD"][1:4] == [1, 5.0, 5.0]
    staff = {r[0]: r for r in rep.table("times_by_staff").rows}
    assert staff["Lan"][1] == 3 and staff["Lan"][7] == 1 and staff["Minh"][1] == 1
    hours = rep.table("tickets_by_hour")
    assert hours.columns == ["Dịch vụ", "08h", "09h", "16h", "Tổng"]
    assert hours.rows[-1] == ["Tổng", 2, 2, 1, 5]
    sat = {r[0]: r for r in rep.table("satisfaction_by_counter").rows}
    assert sat["Quầy 1"][1:6] == [1, 0, 1, 2, 50.0] and sat["Quầy 1"][6] == "Chậm (1)"
    assert sat["Quầy 2"][6] == "Chậm (1); Thái độ (1)" or sat["Quầy 2"][6] == "Thái độ (1); Chậm (1)"
    assert rep.table("reasons").rows[0] == ["Chậm", 2]
    assert sorted((r[4], r[7] or "") for r in rep.table("comments").rows) == [("0001DD", ""), ("0002HT", "Chờ lâu")]


def test_priority_turned_away_and_long_waits(data: Path) -> None:
    conn = store.connect(data / "engine" / "engine.db")
    store.create_schema(conn)  # an older database gains the refusals table
    conn.execute("UPDATE tickets SET priority = 'elderly' WHERE ticket_id IN ('20261123-HT-0001', '20261123-HT-0003')")
    with store.immediate(conn):
        for code in ("quota_reached", "quota_reached", "service_closed"):
            store.note_refusal(conn, "2026-11-23", "HT", code, ts("2026-11-23", "16:55"))
        store.note_refusal(conn, "2026-11-24", "HT", "quota_reached", ts("2026-11-24", "08:00"))
    conn.close()
    conn = open_readonly(data / "engine" / "engine.db")
    s = build(conn, Period.day(date(2026, 11, 23)), wait_limit_min=15).summary
    assert s["priority_done"] == 1  # HT-0001 served; HT-0003 was a no-show
    assert (s["refused_quota"], s["refused_hours"]) == (2, 1)
    assert s["wait_limit_min"] == 15 and s["wait_over_limit_pct"] == 50.0  # 20 and 30 of 10, 20, 30, 5 min


def test_engine_notes_each_refusal_once(tmp_path: Path) -> None:
    from harness import TestOffice, copy_config
    office = TestOffice(tmp_path / "data", copy_config(tmp_path)).start()
    try:
        eng = office.start_engine()
        admin, t = office.client(), office.topics
        for _ in range(5):
            assert admin.request(t.ticket_issue, {"service": "KD"})["ok"]
        for rid in ("full-1", "full-1", "full-2"):  # a retry with the same id is one refusal
            r = admin.request(t.ticket_issue, {"service": "KD"}, req_id=rid)
            assert r["error"]["code"] == "quota_reached"
        rows = eng.rconn.execute("SELECT service, code FROM refusals").fetchall()
        assert [tuple(r) for r in rows] == [("KD", "quota_reached")] * 2
    finally:
        office.close()


def test_week_and_month_periods(data: Path) -> None:
    conn = open_readonly(data / "engine" / "engine.db")
    week = build(conn, Period.week(date(2026, 11, 25)))
    assert week.period.label == "2026-W48" and week.summary["tickets"] == 6
    assert [r[0] for r in week.table("by_day").rows] == ["23/11/2026", "24/11/2026"]  # dd/mm/yyyy
    month = build(conn, Period.month(2026, 12))
    assert month.summary["tickets"] == 1 and month.summary["ratings"] == 0


def test_cli_writes_xlsx_csv_png(data: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert cli_main([str(SMALL), "--data", str(data), "--day", "2026-11-23", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    files = [Path(f) for f in printed["files"]]
    assert all(f.exists() and f.stat().st_size > 0 for f in files)
    wb = load_workbook(out / "bao-cao-2026-11-23.xlsx")
    assert wb.sheetnames == ["Tổng hợp", "Phiếu theo giờ", "Thời gian theo dịch vụ", "Thời gian theo quầy",
                             "Thời gian theo cán bộ", "Công việc cán bộ", "Theo ngày", "Hài lòng theo quầy",
                             "Hài lòng theo cán bộ", "Hài lòng theo dịch vụ", "Lý do chưa hài lòng", "Ý kiến công dân"]
    words = [str(c.value) for sh in wb for row in sh.iter_rows() for c in row if c.value is not None]
    assert not [w for w in words if "P90" in w or "TB (" in w]  # plain words for an office head
    assert "90% công dân chờ không quá (phút)" in words
    assert wb["Tổng hợp"]["A1"].value == "Báo cáo Ngày 23/11/2026"
    with (out / "bao-cao-2026-11-23-csv" / "reasons.csv").open(encoding="utf-8-sig") as fh:
        assert list(csv.reader(fh))[1] == ["Chậm", "2"]
    pngs = [f for f in files if f.suffix == ".png"]
    assert len(pngs) >= 5 and all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in pngs)


@pytest.mark.parametrize("argv,code", [
    (["--day", "2026-13-45"], 2),
    (["--month", "2026"], 2),
    (["--day", "2026-11-23", "--data", "/nonexistent/motcua"], 1),
])
def test_cli_bad_input_gets_clear_error(argv, code, capsys) -> None:
    assert cli_main([str(SMALL), *argv]) == code
    assert "motcua report" in capsys.readouterr().err


def test_daily_report_after_closing_once(data: Path) -> None:
    cfg = load(Path(__file__).parent.parent / "config" / "examples" / "ward.toml")
    clock = ManualClock(TZ, datetime(2026, 11, 23, 16, 0))
    rep = DailyReporter(cfg, data, clock, delay_s=600)
    assert rep.run_once() == []  # still open
    clock.set(datetime(2026, 11, 23, 17, 11))
    written = rep.run_once()
    assert (data / "reports" / "bao-cao-2026-11-23.xlsx") in written
    assert rep.run_once() == []  # never twice
    clock.set(datetime(2026, 11, 29, 12, 0))  # Sunday: catches up the missed weekdays, not Sunday
    days = {p.name for p in rep.run_once() if p.suffix == ".xlsx"}
    assert "bao-cao-2026-11-24.xlsx" in days and "bao-cao-2026-11-29.xlsx" not in days


def test_simulated_day_through_the_engine(office, tmp_path: Path) -> None:
    day = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
    clock = ManualClock(TZ, day)
    office.start_engine(clock)
    admin = office.client("admin", clock=clock)
    counts = simulate_day(admin, clock, office.cfg, default_plan(office.cfg, day, seed=4, scale=0.4))
    assert counts["issued"] > 10 and counts["done"] > 5 and counts["ratings"] > 3
    conn = open_readonly(office.data / "engine" / "engine.db")
    rep = build(conn, Period.day(day.date()))
    assert rep.summary["tickets"] == counts["issued"]
    assert rep.summary["done"] == counts["done"] and rep.summary["no_show"] == counts["no_show"]
    assert rep.summary["ratings"] == counts["ratings"]
    assert rep.summary["wait_p90_min"] >= rep.summary["wait_mean_min"] >= 0


def test_auto_mode_writes_missed_day_and_stops_on_sigterm(data: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    ward = Path(__file__).parent.parent / "config" / "examples" / "ward.toml"
    motcua = Path(sys.executable).parent / "motcua"
    proc = subprocess.Popen([str(motcua), "report", str(ward), "--data", str(data), "--auto",
                             "--clock", "2026-11-23T18:00"], stderr=subprocess.PIPE, text=True)
    try:
        target = data / "reports" / "bao-cao-2026-11-23.xlsx"
        end = time.monotonic() + 60
        while not target.exists() and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.1)
        assert target.exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=20)[1]
    assert proc.returncode == 0, err


def test_charts_stay_readable_with_40_counters(tmp_path: Path) -> None:
    """Per-counter charts are horizontal bars that grow with the rows; count axes are whole numbers."""
    from PIL import Image
    from edge.reports.stats import Report, Table
    from edge.reports.write import write_charts
    rows = [[f"Quầy {n}", 10, 3.5, 9.0, 10, 6.0, 11.0, 0] for n in range(1, 41)]
    sat = [[f"Quầy {n}", 2, 1, n % 2, 3 + n % 2, 80.0, ""] for n in range(1, 41)]
    empty = Table("x", "x", [])
    rep = Report("Văn phòng", Period.day(date(2026, 11, 23)), [
        Table("tickets_by_hour", "", ["Dịch vụ", "08h", "Tổng"], [["HT", 3, 3], ["Tổng", 3, 3]]),
        Table("times_by_service", "", [], []), Table("times_by_counter", "", ["Quầy"], rows),
        Table("satisfaction_by_counter", "", ["Quầy"], sat), Table("satisfaction_by_staff", "", [], []),
        Table("reasons", "", [], []), empty], {})
    paths = {p.name.split("2026-11-23-")[1]: p for p in write_charts(rep, tmp_path)}
    for name in ("cho-theo-quay.png", "hai-long-theo-quay.png"):
        w, h = Image.open(paths[name]).size
        assert h >= 40 * 0.3 * 100 and w == 900  # 0.3 inch a bar at 100 dpi: labels never overlap
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.ticker import MaxNLocator
    from edge.reports import write as W
    fig, ax = W._pyplot().subplots()
    W._whole(ax.yaxis)
    assert isinstance(ax.yaxis.get_major_locator(), MaxNLocator)
    ax.bar(["08h"], [3])
    assert all(float(t).is_integer() for t in ax.get_yticks())
