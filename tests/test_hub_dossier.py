"""Upstream records -> Dossier objects: masking, status texts, overdue, bad records."""
from __future__ import annotations

import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hub.dossier import STATUS_TEXT, Record, RecordError, mask_name

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=TZ)


def rec(**kw: object) -> dict[str, object]:
    base = {"MaHoSo": "000.17.22.h56-261101-0001", "TenTTHC": "Đăng ký khai sinh", "ChuHoSo": "Nguyễn Văn An",
            "SoDienThoai": "0912345678", "DiaChi": "12 Lê Lợi", "NgayTiepNhan": "20261101080000",
            "NgayHenTra": "20261120170000", "NgayKetThucXuLy": "", "NgayTra": "", "TrangThaiHoSo": "4",
            "NgayCapNhat": "20261115101010"}
    return {**base, **kw}


@pytest.mark.parametrize("name,masked", [
    ("Nguyễn Văn An", "Nguyễn V** A*"),
    ("  Lê   Thị Hồng  Nhung ", "Lê T** H*** N****"),
    ("Mai", "M**"),
    ("", None),
    (None, None),
    (unicodedata.normalize("NFD", "Đặng Ước"), "Đặng Ư**"),
])
def test_mask(name: str | None, masked: str | None) -> None:
    assert mask_name(name) == masked


def test_status_texts_are_the_portal_ones() -> None:
    assert STATUS_TEXT[5] == "Yêu cầu bổ sung giấy tờ" and STATUS_TEXT[10] == "Đã trả kết quả"
    assert all(unicodedata.is_normalized("NFC", t) for t in STATUS_TEXT.values())


def test_dossier_object() -> None:
    r = Record.from_upstream(rec(), TZ)
    assert r.code == "000.17.22.H56-261101-0001" and r.status == 4
    d = r.dossier(NOW, TZ, stale=True, return_place="Quầy 5")
    assert d == {"code": "000.17.22.H56-261101-0001", "procedure": "Đăng ký khai sinh", "status": 4,
                 "status_text": "Đang xử lý", "received_at": "2026-11-01T08:00:00+07:00",
                 "due_at": "2026-11-20T17:00:00+07:00", "returned_at": None, "overdue": True,
                 "applicant": "Nguyễn V** A*", "updated_at": "2026-11-15T10:10:10+07:00", "stale": True,
                 "unit": None, "return_place": "Quầy 5", "field": None}
    assert "0912345678" not in repr(r) and "Lê Lợi" not in repr(r)


@pytest.mark.parametrize("status,due,overdue", [
    (4, "20261120170000", True),      # processing, appointment passed
    (4, "20261121170000", False),     # appointment later today
    (5, "20261120170000", False),     # waiting for the citizen's documents: clock stopped
    (9, "20261120170000", False),     # finished
    (3, "20261120170000", False),     # refused
    (2, "", False),                   # no appointment known
])
def test_overdue(status: int, due: str, overdue: bool) -> None:
    assert Record.from_upstream(rec(TrangThaiHoSo=status, NgayHenTra=due), TZ).overdue(NOW, TZ) is overdue


@pytest.mark.parametrize("bad,match", [
    ({"MaHoSo": ""}, "no MaHoSo"),
    ({"TrangThaiHoSo": "11"}, "outside"),
    ({"TrangThaiHoSo": "x"}, "not a number"),
    ({"NgayHenTra": "2026-11-20"}, "yyyyMMddHHmmss"),
    ({"NgayHenTra": "20261320170000"}, "not a real date"),
])
def test_bad_records(bad: dict[str, object], match: str) -> None:
    with pytest.raises(RecordError, match=match):
        Record.from_upstream(rec(**bad), TZ)
    with pytest.raises(RecordError):
        Record.from_upstream(["not", "a", "dict"], TZ)  # type: ignore[arg-type]


def test_documents_asked_and_channel_when_upstream_gives_them(tmp_path) -> None:
    r = Record.from_upstream(rec(TrangThaiHoSo=5, YeuCauBoSung=[{"Ten": "Tờ khai (bản chính)"}, "Bản sao CCCD"],
                                 HanBoSung="20261125170000", HinhThucNop="2"), TZ)
    assert r.docs_asked == "Tờ khai (bản chính); Bản sao CCCD" and r.channel == "online"
    d = r.dossier(NOW, TZ, stale=False)
    assert d["docs_asked"] == "Tờ khai (bản chính); Bản sao CCCD"
    assert d["docs_due_at"] == "2026-11-25T17:00:00+07:00" and d["overdue"] is False
    assert "docs_asked" not in Record.from_upstream(rec(YeuCauBoSung="x"), TZ).dossier(NOW, TZ, stale=False)
    assert Record.from_upstream(rec(HinhThucNop="Trực tiếp"), TZ).channel == "counter"
    assert Record.from_upstream(rec(HinhThucNop="?"), TZ).channel is None
    assert Record.from_upstream(rec(), TZ).docs_asked is None


def test_store_adds_new_columns_to_an_old_file(tmp_path) -> None:
    import sqlite3

    from hub.store import Store
    path = tmp_path / "hub.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE dossiers (code TEXT PRIMARY KEY, updated TEXT NOT NULL, status INTEGER NOT NULL, "
                "procedure TEXT, procedure_code TEXT, field TEXT, applicant TEXT, received TEXT, due TEXT, "
                "finished TEXT, returned TEXT, unit TEXT, return_place TEXT, seen_at REAL NOT NULL)")
    old.execute("INSERT INTO dossiers VALUES ('000.17.22.H56-261101-0001', '20261115101010', 4, 'p', 'c', 'f', "
                "'a', NULL, NULL, NULL, NULL, NULL, NULL, 1.0)")
    old.commit()
    old.close()
    store = Store(path)
    got, _ = store.get("000.17.22.H56-261101-0001")
    assert got.status == 4 and got.docs_asked is None
    store.apply_page([Record.from_upstream(rec(TrangThaiHoSo=5, YeuCauBoSung="Tờ khai",
                                               NgayCapNhat="20261116101010"), TZ)], 2.0, None)
    assert store.get("000.17.22.H56-261101-0001")[0].docs_asked == "Tờ khai"
