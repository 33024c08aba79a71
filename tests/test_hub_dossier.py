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
