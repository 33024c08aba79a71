"""Dossier figures in `motcua report`: six months, a year, any span, from the hub's real file."""
from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

import pytest
from openpyxl import load_workbook

from edge.reports.cli import cli_main
from edge.reports.stats import Period
from hub.simperiod import PeriodSim, expected_figures
from hub.simulator import TZ, SimulatorServer, Upstream
from hub.store import Store
from hub.sync import Syncer
from hub.upstream import RestAdapter

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "examples" / "ward.toml"
START, END = date(2026, 1, 5), date(2026, 2, 27)


@pytest.fixture(scope="module")
def hub_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Upstream]]:
    """Eight weeks of a ward's dossiers, synced into DATA/hub/hub.sqlite by the real syncer over HTTP."""
    data = tmp_path_factory.mktemp("office")
    up = Upstream(0, now=datetime(2026, 1, 5, 7, 0, tzinfo=TZ))
    server = SimulatorServer(up).start()
    try:
        (data / "hub").mkdir()
        store = Store(data / "hub" / "hub.sqlite")
        adapter = RestAdapter(server.url, username=up.username, password=up.password, madonvi=up.agency, timeout=10)
        syncer = Syncer(store, adapter, TZ, page_size=200, timeout=10)
        counts = PeriodSim(up, syncer.run, seed=9).run(START, END)
        assert counts["dossiers"] > 1000 and counts["changes"] > 2500
        store.close()
        yield data, up
    finally:
        server.stop()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def report(data: Path, out: Path, *period: str, capsys: Any) -> dict[str, Any]:
    assert cli_main([str(CONFIG), "--data", str(data), "--out", str(out), *period]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_six_months_per_field_equal_upstream(hub_data: Any, tmp_path: Path, capsys: Any) -> None:
    data, up = hub_data
    got = report(data, tmp_path, "--half", "2026-H1", capsys=capsys)
    assert got["period"] == "2026-H1"
    folder = tmp_path / "bao-cao-2026-H1-csv"
    rows = {r["Lĩnh vực"]: r for r in read_csv(folder / "dossiers_by_field.csv")}
    expected = expected_figures(up, date(2026, 1, 1), date(2026, 6, 30))
    assert set(rows) == set(expected) | {"Tổng"}
    names = {"received": "Tiếp nhận", "online": "Trực tuyến", "counter": "Trực tiếp", "post": "Bưu chính",
             "finished": "Giải quyết xong", "on_time": "Đúng hạn", "late": "Trễ hạn", "returned": "Đã trả kết quả",
             "asked_documents": "Yêu cầu bổ sung"}
    for fieldname, fig in expected.items():
        for key, col in names.items():
            assert int(rows[fieldname][col]) == fig.get(key, 0), (fieldname, key)
    assert int(rows["Tổng"]["Tiếp nhận"]) == len(up.records)
    assert int(rows["Đất đai"]["Trễ hạn"]) > 0 and int(rows["Hộ tịch"]["Trực tuyến"]) > 0
    months = read_csv(folder / "dossiers_by_month.csv")
    assert [m["Tháng"] for m in months] == ["01/2026", "02/2026", "03/2026"][:len(months)]
    assert sum(int(m["Tiếp nhận"]) for m in months) == len(up.records)
    summary = {r["Chỉ số"]: r["Giá trị"] for r in read_csv(folder / "summary.csv")}
    assert int(summary["Hồ sơ tiếp nhận"]) == len(up.records)
    wb = load_workbook(tmp_path / "bao-cao-2026-H1.xlsx")
    assert wb["Hồ sơ theo lĩnh vực"]["A1"].value == "Hồ sơ theo lĩnh vực"
    assert (tmp_path / "bao-cao-2026-H1-ho-so-theo-linh-vuc.png").stat().st_size > 10_000


def test_year_and_any_span(hub_data: Any, tmp_path: Path, capsys: Any) -> None:
    data, up = hub_data
    assert report(data, tmp_path, "--year", "2026", capsys=capsys)["period"] == "2026"
    year = {r["Lĩnh vực"]: r for r in read_csv(tmp_path / "bao-cao-2026-csv" / "dossiers_by_field.csv")}
    assert int(year["Tổng"]["Tiếp nhận"]) == len(up.records)
    got = report(data, tmp_path, "--from", "2026-01-12", "--to", "2026-01-16", capsys=capsys)
    assert got["period"] == "2026-01-12_2026-01-16"
    week = {r["Lĩnh vực"]: r for r in read_csv(tmp_path / "bao-cao-2026-01-12_2026-01-16-csv" / "dossiers_by_field.csv")}
    exp = expected_figures(up, date(2026, 1, 12), date(2026, 1, 16))
    assert int(week["Tổng"]["Tiếp nhận"]) == sum(f.get("received", 0) for f in exp.values()) > 0
    assert int(week["Tổng"]["Giải quyết xong"]) == sum(f.get("finished", 0) for f in exp.values())


def test_periods_and_bad_input(tmp_path: Path, capsys: Any) -> None:
    h2 = Period.half(2026, 2)
    assert (h2.start, h2.end, h2.label, h2.title_vi) == (date(2026, 7, 1), date(2026, 12, 31), "2026-H2",
                                                         "6 tháng cuối năm 2026")
    assert Period.year(2026).title_vi == "Năm 2026"
    assert Period.span(date(2026, 3, 2), date(2026, 3, 8)).title_vi == "Từ 02/03/2026 đến 08/03/2026"
    for bad in (["--half", "2026-H3"], ["--from", "2026-03-08", "--to", "2026-03-01"], ["--from", "2026-03-08"]):
        assert cli_main([str(CONFIG), "--data", str(tmp_path), *bad]) == 2
        assert "bad date" in capsys.readouterr().err
