"""Presence in the figures: the counter cameras' desk absences in the day's report."""
from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from edge.config import load
from edge.reports.cli import cli_main
from edge.reports.presence import presence_table
from edge.reports.stats import Period
from scanner.camera.absences import AbsenceLog
from tests.harness import SMALL
from tests.test_reports import make_db

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def at(day: int, hm: str) -> datetime:
    h, m = (int(x) for x in hm.split(":"))
    return datetime(2026, 11, day, h, m, tzinfo=TZ)


def test_desk_absences_by_counter_and_clerk_in_the_day_report(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    make_db(data)
    cfg = load(SMALL)
    assert presence_table(cfg, data, Period.day(at(23, "08:00").date())) is None  # no camera log: no table
    log = AbsenceLog(data / "camera-1" / "absences.db")
    log.add(1, "Lan", at(23, "09:36"), 6 * 60)      # 09:30-09:36
    log.add(1, "Lan", at(23, "09:36"), 6 * 60)      # the same absence again: stored once
    log.add(1, "Lan", at(23, "14:40"), 10 * 60)     # 14:30-14:40
    log.add(1, "Minh", at(23, "16:05"), 5 * 60)     # another clerk at the same counter
    log.add(1, "Lan", at(24, "08:20"), 7 * 60)      # another day
    log.add(1, "Lan\udc80", at(24, "09:20"), 7 * 60)  # a broken name from a bad payload: kept, escaped
    log.close()
    out = tmp_path / "out"
    assert cli_main([str(SMALL), "--data", str(data), "--day", "2026-11-23", "--out", str(out)]) == 0
    json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    label = cfg.counter(1).label
    with (out / "bao-cao-2026-11-23-csv" / "desk_absence.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["Quầy", "Cán bộ", "Số lần vắng", "Tổng thời gian vắng (phút)", "Lần dài nhất (phút)"]
    assert rows[1:] == [[label, "Lan", "2", "16.0", "10.0"], [label, "Minh", "1", "5.0", "5.0"]]
    wb = load_workbook(out / "bao-cao-2026-11-23.xlsx")
    assert "Vắng mặt tại bàn làm việc" in wb.sheetnames  # the table desk_absence, by its Vietnamese name
    week = presence_table(cfg, data, Period.week(at(23, "08:00").date()))
    assert week is not None and week.rows[0][:4] == [label, "Lan", 3, 23.0]
