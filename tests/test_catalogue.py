"""The procedure catalogue: imports (JSON, XLSX with mapped columns), search with and without
marks, versions, the CLI, and the hub serving it over MQTT filled from the upstream simulator."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from harness import TestOffice, copy_config

from edge import protocol as P
from edge.bus import wait_until
from edge.config.model import Catalogue as CatalogueConfig
from edge.vi import ascii_text, fold
from hub.catalogue import Catalogue, fts_query, to_procedure
from hub.catalogue_import import ImportError_, import_file

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "config" / "examples" / "catalogue-ward.json"

COLUMNS = {"MaTTHC": "Mã thủ tục", "TenTTHC": "Tên thủ tục", "MaLinhVuc": "Mã lĩnh vực",
           "TenLinhVuc": "Lĩnh vực", "ThanhPhanHoSo": "Thành phần hồ sơ", "PhiLePhi": "Phí, lệ phí",
           "ThoiHanGiaiQuyet": "Thời hạn giải quyết", "NoiTiepNhan": "Nơi tiếp nhận",
           "NoiTraKetQua": "Nơi trả kết quả", "MucDo": "Mức độ DVC", "DuongDan": "Đường dẫn",
           "BieuMau": "Biểu mẫu", "NgayCapNhat": "Ngày cập nhật"}


def sample_records() -> list[dict[str, Any]]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))["DanhSach"]


@pytest.fixture
def cat(tmp_path: Path):
    c = Catalogue(tmp_path / "catalogue.sqlite")
    yield c
    c.close()


def test_folding() -> None:
    assert fold("Đăng ký KHAI SINH!") == "dang ky khai sinh"
    assert ascii_text("Mời số 2005 đến quầy 3") == "Moi so 2005 den quay 3"
    assert ascii_text("ĐƯỜNG Ỷ Lan") == "DUONG Y Lan"
    assert fts_query('khai "sinh* OR') == '"khai" "sinh" "or"*'
    assert fts_query("đ") == '"d"'
    assert fts_query("  ") is None


def test_json_import_keeps_every_field(cat: Catalogue) -> None:
    res = import_file(cat, SAMPLE, CatalogueConfig())
    assert res.errors == [] and res.added == len(sample_records()) == cat.count()
    p = cat.get("1.001193")
    src = next(r for r in sample_records() if r["MaTTHC"] == "1.001193")
    assert p.name == "Đăng ký khai sinh" and p.field == "Hộ tịch" and p.field_code == "HOTICH"
    assert [(d.name, d.copies, d.kind) for d in p.documents] == \
        [(d["Ten"], d["SoLuong"], d["LoaiBan"]) for d in src["ThanhPhanHoSo"]]
    assert [(f.name, f.amount) for f in p.fees] == [(f["Ten"], f["MucPhi"]) for f in src["PhiLePhi"]]
    assert p.time_limit == src["ThoiHanGiaiQuyet"] and p.time_limit.startswith("Ngay trong ngày")
    assert p.submit_at == src["NoiTiepNhan"] and p.collect_at == src["NoiTraKetQua"]
    assert p.online == "Toàn trình" and p.url.endswith("ma_thu_tuc=1.001193")
    assert [f.name for f in p.forms] == ["Tờ khai đăng ký khai sinh"]
    assert p.updated == "20260915080000"
    again = import_file(cat, SAMPLE, CatalogueConfig())
    assert (again.added, again.updated, again.unchanged) == (0, 0, len(sample_records()))


def write_xlsx(path: Path, records: list[dict[str, Any]], sep: str = "|") -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "TTHC"
    keys = list(COLUMNS)
    ws.append([COLUMNS[k] for k in keys])
    for r in records:
        row = []
        for k in keys:
            v = r.get(k, "")
            if k == "ThanhPhanHoSo":
                v = "\n".join(f"{d['Ten']} {sep} {d['SoLuong']} {sep} {d['LoaiBan']}" for d in v)
            elif k == "PhiLePhi":
                v = "\n".join(f"{f['Ten']} {sep} {f['MucPhi']}" for f in v)
            elif k == "BieuMau":
                v = json.dumps(v, ensure_ascii=False)  # a cell may hold JSON too
            row.append(v)
        ws.append(row)
    ws.append(["", "Thủ tục không mã"] + [""] * (len(keys) - 2))      # row with an error
    wb.save(path)


def test_spreadsheet_types_become_the_exports_text(tmp_path: Path, cat: Catalogue) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    from datetime import datetime as dt
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["MaTTHC", "TenTTHC", "ThanhPhanHoSo", "PhiLePhi", "NgayCapNhat"])
    ws.append(["1.001193", "Đăng ký khai sinh", "Tờ khai | 1 | bản chính", "Lệ phí | 0", dt(2026, 10, 1, 8, 30)])
    ws.append(["2.000908", "Chứng thực bản sao", '[{"Ten": "Bản chính giấy tờ", "SoLuong": 1.0}]',
               "Phí chứng thực | 2.000 đồng/trang", dt(2026, 10, 2)])
    ws["C2"].value = "Tờ khai | 1 | bản chính\nGiấy chứng sinh | 1 | BẢN CHÍNH"
    f = tmp_path / "types.xlsx"
    wb.save(f)
    res = import_file(cat, f, CatalogueConfig())
    assert res.errors == [] and res.added == 2
    p = cat.get("1.001193")
    assert p.updated == "20261001083000"
    assert [(d.name, d.copies, d.kind) for d in p.documents] == [("Tờ khai", 1, "Bản chính"),
                                                                  ("Giấy chứng sinh", 1, "Bản chính")]
    assert p.fees[0].amount == "0"
    q = cat.get("2.000908")
    assert q.documents[0].copies == 1 and q.updated == "20261002000000"


def test_xlsx_import_with_mapped_columns_matches_the_json(tmp_path: Path, cat: Catalogue) -> None:
    xlsx = tmp_path / "export.xlsx"
    write_xlsx(xlsx, sample_records())
    cfg = CatalogueConfig(columns=COLUMNS, sheet="TTHC")
    res = import_file(cat, xlsx, cfg)
    n = len(sample_records())
    assert res.added == n
    assert res.errors == [f"export.xlsx: row {n + 2}: MaTTHC: missing"]  # numbered as the sheet shows it
    ref = Catalogue(tmp_path / "ref.sqlite")
    import_file(ref, SAMPLE, CatalogueConfig())
    for rec in sample_records():
        assert cat.get(rec["MaTTHC"]) == ref.get(rec["MaTTHC"]), rec["MaTTHC"]
    ref.close()
    with pytest.raises(ImportError_, match="no sheet 'Sheet9'"):
        import_file(cat, xlsx, CatalogueConfig(columns=COLUMNS, sheet="Sheet9"))
    with pytest.raises(ImportError_, match="no column for MaTTHC"):
        import_file(cat, xlsx, CatalogueConfig())  # headers not mapped


def test_bad_records_are_named_and_the_rest_kept(cat: Catalogue, tmp_path: Path) -> None:
    good = sample_records()[0]
    bad = [{"TenTTHC": "x"}, {"MaTTHC": "1.2 3", "TenTTHC": "y"},
           {**good, "MaTTHC": "1.999999", "ThanhPhanHoSo": [{"Ten": "Tờ khai", "SoLuong": "hai"}]},
           {**good, "MaTTHC": "1.999998", "NgayCapNhat": "hôm qua"}, "text"]
    f = tmp_path / "bad.json"
    f.write_text(json.dumps([good, *bad], ensure_ascii=False), encoding="utf-8")
    res = import_file(cat, f, CatalogueConfig())
    assert res.added == 1
    assert res.errors == [
        "bad.json: procedure 2: MaTTHC: missing",
        "bad.json: procedure 3: MaTTHC: '1.2 3' is not a procedure code such as 1.001193",
        "bad.json: procedure 4: ThanhPhanHoSo[1]: SoLuong 'hai' is not a number",
        "bad.json: procedure 5: NgayCapNhat: 'hôm qua' is not yyyyMMddHHmmss",
        "bad.json: procedure 6: a procedure is a JSON object, not a str"]
    f.write_text("{not json", encoding="utf-8")
    with pytest.raises(ImportError_, match="not a JSON file"):
        import_file(cat, f, CatalogueConfig())


def test_search_with_and_without_marks(cat: Catalogue) -> None:
    import_file(cat, SAMPLE, CatalogueConfig())
    for q in ("dang ky khai sinh", "Đăng ký khai sinh", "DANG KY KHAI SINH", "khai si", "1.001193"):
        total, rows = cat.search(q)
        assert rows and rows[0].code == "1.001193", (q, [r.code for r in rows])
    total, rows = cat.search("chung thuc")
    assert {r.code for r in rows} >= {"2.000908", "2.000884", "9.000101"}
    total, rows = cat.search("", field="Hộ tịch")
    assert total == 4 and all(r.field == "Hộ tịch" for r in rows)
    assert cat.search("ket hon", field="Đất đai") == (0, [])
    assert cat.search('"*) OR (') == (0, [])      # query syntax typed by a citizen is just words
    total, rows = cat.search("giay chung sinh")   # words of a document find its procedure
    assert [r.code for r in rows] == ["1.001193"]
    fields = {f.name: f.count for f in cat.fields()}
    assert fields["Hộ tịch"] == 4 and fields["Chứng thực"] == 3


def test_an_older_version_never_overwrites_a_newer_one(cat: Catalogue) -> None:
    rec = sample_records()[0]
    cat.upsert([{**rec, "ThoiHanGiaiQuyet": "05 ngày làm việc", "NgayCapNhat": "20261001000000"}], "upstream")
    res = cat.upsert([{**rec, "NgayCapNhat": "20260915080000"}], "upstream")
    assert res.unchanged == 1 and cat.get("1.001193").time_limit == "05 ngày làm việc"
    res = cat.upsert([{**rec, "ThoiHanGiaiQuyet": "Trong ngày", "NgayCapNhat": "20261002000000"}], "upstream")
    assert res.updated == 1 and cat.get("1.001193").time_limit == "Trong ngày"
    assert cat.search("trong ngay") == (0, [])  # time limits are not searched; names are
    assert to_procedure({"MaTTHC": "1.1", "TenTTHC": "x", "PhiLePhi": [{"Ten": "Lệ phí", "MucPhi": 50000}]}
                        ).fees[0].amount == "50.000 đồng"


def test_cli_import_and_search(tmp_path: Path, capsys: Any) -> None:
    from edge.cli import main
    cfg = ROOT / "config" / "examples" / "ward.toml"
    data = tmp_path / "data"
    assert main(["catalogue", "import", str(SAMPLE), "--config", str(cfg), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert f"{len(sample_records())} new" in out
    assert main(["catalogue", "import", str(SAMPLE), "--config", str(cfg), "--data", str(data), "--replace"]) == 0
    assert f"0 new, 0 changed, {len(sample_records())} unchanged, 0 removed, 0 refused" in capsys.readouterr().out
    assert main(["catalogue", "search", "ket hon", "--config", str(cfg), "--data", str(data)]) == 0
    assert "1.000894\tĐăng ký kết hôn" in capsys.readouterr().out
    assert main(["catalogue", "import", str(tmp_path / "none.json"), "--config", str(cfg), "--data", str(data)]) == 1
    assert "no such file" in capsys.readouterr().err


# ------------------------------------------------------------------ the hub over MQTT

HUB_CFG = {"[hub]": '[catalogue]\nupstream = true\nfiles = ["catalogue-ward.json"]\n'
                    '[catalogue.services]\n"Hộ tịch" = "HT"\n"Chứng thực" = "HT"\n\n[hub]'}


def test_hub_serves_the_catalogue_from_files_and_upstream(tmp_path: Path) -> None:
    from hub.daemon import HubDaemon
    cfg_path = copy_config(tmp_path, replace=HUB_CFG)
    (tmp_path / "catalogue-ward.json").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    o = TestOffice(tmp_path / "data", cfg_path).start()
    hub = HubDaemon(o.ctx("hub", "hub"), backoff_base=0.05)
    hub.start()
    try:
        sim = hub.simulator.upstream
        n_sim = len(sim.procedures)
        assert wait_until(lambda: hub.procedures.runs >= 1, 20)
        bus = o.client("admin")
        rep = bus.request(o.topics.procedures_search, {"query": "dang ky dat dai"}, timeout=5)
        assert rep["ok"], rep
        codes = [p["code"] for p in rep["procedures"]]
        assert "1.003010" in codes  # the simulated province's own procedure came through LayDanhSachTTHC
        assert rep["total"] == len(codes)
        rep = bus.request(o.topics.procedures_search, {"query": "khai sinh"}, timeout=5)
        first = rep["procedures"][0]
        assert first["code"] == "1.001193" and first["service"] == "HT"
        assert {f["name"] for f in rep["fields"]} >= {"Hộ tịch", "Chứng thực", "Đất đai"}
        rep = bus.request(o.topics.procedures_get, {"code": "2.000884"}, timeout=5)
        proc = P.Procedure.model_validate(rep["procedure"])  # from the file only
        assert proc.fees[0].amount == "10.000 đồng/trường hợp" and proc.service == "HT"
        rep = bus.request(o.topics.procedures_get, {"code": "2.000908"}, timeout=5)
        proc = P.Procedure.model_validate(rep["procedure"])  # in both: upstream's is newer, so it wins
        assert proc.updated == sim.procedures["2.000908"]["NgayCapNhat"] > "20260915080000"
        assert proc.documents[0].name == sim.procedures["2.000908"]["ThanhPhanHoSo"][0]["Ten"]
        rep = bus.request(o.topics.procedures_get, {"code": "9.999999"}, timeout=5)
        assert rep["ok"] is False and rep["error"]["code"] == "not_found"
        rep = bus.request(o.topics.procedures_search, {"query": "x", "limit": 1000}, timeout=5)
        assert rep["error"]["code"] == "bad_request"
        # a change upstream arrives at the next fetch, and only the changed procedure is fetched again
        sim.advance(60)
        sim.set_procedure(MaTTHC="1.001193", TenTTHC="Đăng ký khai sinh", ThoiHanGiaiQuyet="Trong ngày")
        before = hub.procedures.runs
        hub.procedures.trigger()
        assert wait_until(lambda: hub.procedures.runs > before, 10)
        assert hub.catalogue.get("1.001193").time_limit == "Trong ngày"
        last = [d for s, d in sim.requests if s == "LayDanhSachTTHC"][-1]
        assert last["TuNgay"] and hub.catalogue.count() == len(sample_records()) + n_sim - 2
        # the technician copies a new export over the listed file: the hub takes it by itself
        recs = sample_records()
        recs[3] = {**recs[3], "ThoiHanGiaiQuyet": "02 ngày làm việc", "NgayCapNhat": "20270105080000"}
        (tmp_path / "catalogue-ward.json").write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
        hub.procedures.trigger()
        assert wait_until(lambda: hub.catalogue.get(recs[3]["MaTTHC"]).time_limit == "02 ngày làm việc", 10)
    finally:
        hub.stop()
        o.close()


def test_a_province_without_the_extension_is_asked_again_later(tmp_path: Path) -> None:
    from edge.clock import Clock
    from hub.catalogue_service import CatalogueService
    from hub.simulator import SimulatorServer, Upstream
    from hub.upstream import RestAdapter, UpstreamInvalid
    from edge.config import load
    up = Upstream(0, password="pw")
    up.faults.invalid_services = ("LayDanhSachTTHC",)
    sim = SimulatorServer(up).start()
    cat = Catalogue(tmp_path / "c.sqlite")
    try:
        cfg = load(copy_config(tmp_path, replace=HUB_CFG))
        adapter = RestAdapter(sim.url, username="hub", password="pw", madonvi="X", timeout=2)
        svc = CatalogueService(cfg, cat, adapter, Clock(cfg.office.tz), tmp_path)
        with pytest.raises(UpstreamInvalid):
            svc.sync_once()
        svc._thread.start()  # the thread logs it and waits an hour; it does not die
        assert wait_until(lambda: svc.runs >= 1, 10)
        assert svc._thread.is_alive() and "LayDanhSachTTHC" in svc.status()["catalogue_error"]
        up.faults.invalid_services = ()
        assert svc.sync_once() == len(up.procedures) and cat.get("1.001193") is not None
        assert svc.sync_once() == 0  # the cursor moved: nothing new, nothing stored again
        svc.stop()
    finally:
        cat.close()
        sim.stop()


def test_a_full_export_removes_what_it_no_longer_lists(cat: Catalogue, tmp_path: Path) -> None:
    recs = sample_records()
    f = tmp_path / "export.json"
    f.write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
    import_file(cat, f, CatalogueConfig())
    cat.upsert([{**recs[1], "NgayCapNhat": "20270101000000"}], "upstream")   # upstream owns this one now
    f.write_text(json.dumps(recs[2:] + [{"TenTTHC": "bad row"}], ensure_ascii=False), encoding="utf-8")
    res = import_file(cat, f, CatalogueConfig())          # without replace: nothing removed
    assert res.removed == 0 and cat.get(recs[0]["MaTTHC"]) is not None
    res = import_file(cat, f, CatalogueConfig(), replace=True)
    assert res.removed == 1 and cat.get(recs[0]["MaTTHC"]) is None
    assert cat.get(recs[1]["MaTTHC"]) is not None            # not the file's: kept
    assert recs[0]["MaTTHC"] not in [r.code for r in cat.search("khai sinh", limit=100)[1]]  # gone from search too
    assert cat.count() == len(recs) - 1
