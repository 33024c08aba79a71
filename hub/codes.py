"""Dossier codes (mã hồ sơ, Circular 01/2018/TT-VPCP art. 19) from whatever a reader or a citizen gives.

Pure module, shared by the hub and the lookup kiosk / scanners. API:

- ``parse(text, today=None) -> DossierCode``: accepts a plain code
  (``000.17.22.H56-210531-0001``), the same in lower case or with whitespace, a reader's
  AIM symbology prefix (``]C0``, ``]Q1``) or stray leading punctuation/control characters,
  or a URL whose query holds the code (``...?MHS=<code>``, key case-insensitive,
  percent-encoded or not). Raises ``CodeError`` (a ``ValueError``) whose ``message`` is a
  precise Vietnamese sentence for the citizen and ``reason`` a stable English key.
  With ``today`` given, a code dated after it is rejected. With ``agency`` given (this
  office's code), the short form a citizen types from the receipt, ``261116-0017``, gets
  that agency code in front, and the messages show this office's code as the example.
- ``agency_code(text) -> str``: an office id or ``madonvi`` as the agency code in dossier codes.
- ``example(agency, today) -> str``: a code of this office to show as the example.
- ``normalize(text, today=None) -> str``: ``parse(text).code``.
- ``is_code(text) -> bool``.

A code is ``<agency>-<YYMMDD>-<sequence>``: agency groups of ``[0-9A-Z]`` separated by
dots (Decision 20/2020/QĐ-TTg), at most 35 characters; a valid date; a sequence of 4-7
digits.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import unquote_plus

MAX_AGENCY = 35
MAX_INPUT = 2048

_CODE = re.compile(r"^(?P<agency>[0-9A-Z]+(?:\.[0-9A-Z]+)*)-(?P<day>\d{6})-(?P<seq>\d+)$")
_MHS = re.compile(r"[?&;]\s*mhs\s*=([^&#;]*)", re.IGNORECASE)
_AIM = re.compile(r"^\][A-Za-z][0-9A-Za-z]")  # ISO/IEC 15424 symbology identifier, e.g. ]C0, ]Q1
_URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)|[?&]", re.IGNORECASE)
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_INVISIBLE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_SHORT = re.compile(r"^\d{6}-\d{4,7}$")
EXAMPLE = "000.17.22.H56-210531-0001"


class CodeError(ValueError):
    """Not a dossier code; ``message`` is Vietnamese and shown to the citizen."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class DossierCode:
    code: str
    agency: str
    received: date
    seq: int


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch.isspace())
    return text.strip()


def _from_url(text: str) -> str:
    m = _MHS.search(text)
    if not m:
        raise CodeError("url_without_code",
                        "Đường dẫn trong mã QR không chứa mã hồ sơ (tham số MHS).")
    value = unquote_plus(m.group(1)).strip()
    if not value:
        raise CodeError("empty", "Tham số MHS trong đường dẫn không có mã hồ sơ.")
    return value


def agency_code(text: str) -> str:
    """An agency code usable in dossier codes (upper case, groups of [0-9A-Z]) from an office id."""
    parts = [p for p in "".join(c if c.isascii() and c.isalnum() else "." for c in text.upper()).split(".") if p]
    return ".".join(parts) or "000.00.00.H00"


def example(agency: str | None = None, today: date | None = None) -> str:
    """A dossier code of this office, dated today, to show citizens what to type."""
    if not agency:
        return EXAMPLE
    return f"{agency}-{(today or date(2021, 5, 31)):%y%m%d}-0001"


def parse(text: str, today: date | None = None, agency: str | None = None) -> DossierCode:
    """Parse and validate a dossier code; see the module docstring."""
    ex = example(agency, today)
    if not isinstance(text, str):
        raise CodeError("empty", "Chưa có mã hồ sơ.")
    if len(text) > MAX_INPUT:
        raise CodeError("too_long", "Chuỗi quét được quá dài, không phải mã hồ sơ.")
    s = _clean(text)
    if _AIM.match(s):
        s = s[3:]
    if _URLISH.search(s):
        s = _from_url(s)
    s = _INVISIBLE.sub("", s).upper()
    s = re.sub(r"^[^0-9A-Z]+", "", s)  # stray prefix characters some readers send
    s = s.rstrip(".,;:")
    if not s:
        raise CodeError("empty", "Chưa có mã hồ sơ.")
    if agency and _SHORT.match(s):
        s = f"{agency}-{s}"
    m = _CODE.match(s)
    if not m:
        if re.fullmatch(r"\d{1,6}", s):
            raise CodeError("ticket_number", f"“{s}” giống số thứ tự xếp hàng, không phải mã hồ sơ. "
                            f"Mã hồ sơ có dạng {ex}.")
        raise CodeError("format", f"“{s[:40]}” không đúng dạng mã hồ sơ "
                        f"(mã cơ quan-năm tháng ngày-số thứ tự, ví dụ {ex}).")
    agency, day, seq = m.group("agency"), m.group("day"), m.group("seq")
    if len(agency) > MAX_AGENCY:
        raise CodeError("agency_too_long",
                        f"Mã cơ quan “{agency[:40]}” dài quá {MAX_AGENCY} ký tự.")
    try:
        received = date(2000 + int(day[:2]), int(day[2:4]), int(day[4:]))
    except ValueError:
        raise CodeError("bad_date", f"Ngày tiếp nhận “{day}” trong mã hồ sơ không có thật "
                        "(dạng năm tháng ngày, ví dụ 210531).") from None
    if today is not None and received > today:
        raise CodeError("future_date", f"Ngày tiếp nhận {received:%d/%m/%Y} trong mã hồ sơ "
                        "chưa tới, mã không đúng.")
    if not 4 <= len(seq) <= 7:
        raise CodeError("bad_sequence", f"Số thứ tự “{seq}” trong mã hồ sơ phải có từ 4 đến 7 chữ số.")
    return DossierCode(s, agency, received, int(seq))


def normalize(text: str, today: date | None = None) -> str:
    return parse(text, today).code


def is_code(text: str) -> bool:
    try:
        parse(text)
    except CodeError:
        return False
    return True
