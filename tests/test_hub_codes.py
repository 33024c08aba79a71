"""Dossier-code parsing: every form readers and citizens produce, and precise rejections."""
from __future__ import annotations

from datetime import date

import pytest

from hub.codes import CodeError, agency_code, is_code, normalize, parse

CODE = "000.17.22.H56-210531-0001"


@pytest.mark.parametrize("text", [
    CODE,
    "  000.17.22.h56-210531-0001\r\n",
    "]C0" + CODE,                                   # AIM symbology identifier from a Code 128 reader
    "\x02" + CODE + "\x03",                          # STX/ETX framing from a serial reader
    "*" + CODE,
    "000.17.22.H56 - 210531 - 0001",
    "000.17.22.H56\u2013210531\u20130001",          # en dashes typed on a phone keyboard
    "\uff10\uff10\uff10.17.22.H56-210531-0001",      # full-width digits
    f"https://dichvucong.example.gov.vn/tra-cuu?MHS={CODE}",
    f"https://dichvucong.example.gov.vn/tra-cuu?x=1&mhs={CODE}&lang=vi",
    "]Q1https://dvc.example.gov.vn/tra-cuu?Mhs=000.17.22.H56%2D210531%2D0001#top",
    f"dvc.example.gov.vn/tra-cuu?MHS={CODE.lower()}",
])
def test_accepts_reader_and_citizen_forms(text: str) -> None:
    assert normalize(text) == CODE


def test_parts() -> None:
    c = parse("000.A0.01.H26-210212-9090")
    assert (c.agency, c.received, c.seq) == ("000.A0.01.H26", date(2021, 2, 12), 9090)
    assert parse("H29-250101-1234567").seq == 1234567


@pytest.mark.parametrize("text,reason,words", [
    ("", "empty", "Chưa có mã"),
    ("   \n", "empty", "Chưa có mã"),
    ("2023", "ticket_number", "số thứ tự xếp hàng"),
    ("hello world", "format", "không đúng dạng"),
    ("000.17.22.H56_210531_0001", "format", "không đúng dạng"),
    ("000..17.H56-210531-0001", "format", "không đúng dạng"),
    ("000.17.22.H56-210231-0001", "bad_date", "210231"),
    ("000.17.22.H56-211301-0001", "bad_date", "không có thật"),
    ("000.17.22.H56-210531-001", "bad_sequence", "4 đến 7"),
    ("000.17.22.H56-210531-00000001", "bad_sequence", "4 đến 7"),
    ("0000000000.1111111111.2222222222.H5678-210531-0001", "agency_too_long", "35"),
    ("https://dvc.example.gov.vn/tra-cuu?id=5", "url_without_code", "MHS"),
    ("https://dvc.example.gov.vn/tra-cuu?MHS=", "empty", "MHS"),
    ("https://dvc.example.gov.vn/tra-cuu?MHS=abc", "format", "không đúng dạng"),
    ("x" * 3000, "too_long", "quá dài"),
])
def test_rejects_with_precise_vietnamese_message(text: str, reason: str, words: str) -> None:
    with pytest.raises(CodeError) as exc:
        parse(text)
    assert exc.value.reason == reason
    assert words in exc.value.message
    assert not is_code(text)


def test_future_date_rejected_only_when_today_known() -> None:
    assert normalize("H29-261130-0001") == "H29-261130-0001"
    with pytest.raises(CodeError) as exc:
        parse("H29-261130-0001", today=date(2026, 11, 21))
    assert exc.value.reason == "future_date"
    assert parse("H29-261121-0001", today=date(2026, 11, 21)).seq == 1


def test_short_form_with_this_offices_agency() -> None:
    got = parse("261116-0017", agency="000.17.22.H56")
    assert got.code == "000.17.22.H56-261116-0017" and got.agency == "000.17.22.H56" and got.seq == 17
    assert parse(" 261116–0017 ", agency="000.17.22.H56").code == "000.17.22.H56-261116-0017"
    with pytest.raises(CodeError) as exc:
        parse("261116-0017")                          # no agency: not a code
    assert exc.value.reason == "format"
    with pytest.raises(CodeError) as exc:
        parse("12", date(2026, 11, 20), agency="000.A0.01.H26")
    assert exc.value.reason == "ticket_number" and "000.A0.01.H26-261120-0001" in exc.value.message
    assert agency_code("000.17.22.h56") == "000.17.22.H56" and agency_code("test-01 h99") == "TEST.01.H99"
