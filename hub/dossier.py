"""Upstream dossier records -> what the office may show: status text, overdue, masked applicant.

Personal data stops here: ``Record.from_upstream`` keeps only the masked applicant name, never
phone, e-mail, address or ID, so nothing downstream (cache, logs, MQTT) can leak them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from edge.protocol import Dossier, nfc, rfc3339

#: National public service portal statuses (DOMAIN.md).
STATUS_TEXT: dict[int, str] = {
    1: "Mới đăng ký",
    2: "Được tiếp nhận",
    3: "Không được tiếp nhận",
    4: "Đang xử lý",
    5: "Yêu cầu bổ sung giấy tờ",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính",
    7: "Công dân yêu cầu rút hồ sơ",
    8: "Dừng xử lý",
    9: "Đã xử lý xong",
    10: "Đã trả kết quả",
}
#: Statuses where the appointment clock no longer runs: refused, withdrawn, stopped, done, returned.
CLOSED = frozenset({3, 7, 8, 9, 10})
#: Waiting for the citizen's extra documents: the clock is stopped (DOMAIN.md).
WAITING_CITIZEN = 5

TS_FORMAT = "%Y%m%d%H%M%S"
EPOCH = "00000000000000"


class RecordError(ValueError):
    """An upstream record the hub cannot use (no code, impossible status)."""


def parse_ts(value: Any, tz: tzinfo) -> datetime | None:
    """``yyyyMMddHHmmss`` local time -> aware datetime; empty or absent -> None."""
    if value is None:
        return None
    s = str(value).strip()
    if not s:
        return None
    if len(s) != 14 or not s.isdigit():
        raise RecordError(f"date {s!r} is not yyyyMMddHHmmss")
    try:
        return datetime.strptime(s, TS_FORMAT).replace(tzinfo=tz)
    except ValueError:
        raise RecordError(f"date {s!r} is not a real date") from None


def format_ts(dt: datetime, tz: tzinfo) -> str:
    return dt.astimezone(tz).strftime(TS_FORMAT)


def iso(value: str | None, tz: tzinfo) -> str | None:
    """A cached ``yyyyMMddHHmmss`` as RFC 3339 with the office's offset."""
    return rfc3339(datetime.strptime(value, TS_FORMAT).replace(tzinfo=tz)) if value else None


def mask_name(name: str | None) -> str | None:
    """``Nguyễn Văn An`` -> ``Nguyễn V** A*``: the family name, then first letters only."""
    if not name:
        return None
    words = nfc(" ".join(str(name).split())).split(" ")
    if not words or not words[0]:
        return None
    if len(words) == 1:
        w = words[0]
        return w[0] + "*" * (len(w) - 1)
    return " ".join([words[0]] + [w[0] + "*" * (len(w) - 1) for w in words[1:]])


def _status(value: Any) -> int:
    try:
        st = int(str(value).strip())
    except (TypeError, ValueError):
        raise RecordError(f"status {value!r} is not a number") from None
    if st not in STATUS_TEXT:
        raise RecordError(f"status {st} is outside 1-10")
    return st


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = nfc(str(value)).strip()
    return s or None


def nfc_line(value: Any) -> str | None:
    """Upstream text as one NFC line (None when empty)."""
    s = _text(value)
    return " ".join(s.split()) if s else None


def _docs(value: Any) -> str | None:
    """``YeuCauBoSung`` as one line: a text, or a list of names / ``{"Ten": ...}`` objects."""
    if isinstance(value, list):
        names = [_text(v.get("Ten") if isinstance(v, dict) else v) for v in value]
        return _text("; ".join(n for n in names if n)) if any(names) else None
    return _text(value) if isinstance(value, (str, int, float)) else None


#: ``HinhThucNop`` as provinces send it: a number (1 at the counter, 2 online, 3 by post) or a word.
_CHANNELS = {"1": "counter", "2": "online", "3": "post", "truc tiep": "counter", "trực tiếp": "counter",
             "truc tuyen": "online", "trực tuyến": "online", "buu chinh": "post", "bưu chính": "post",
             "counter": "counter", "online": "online", "post": "post"}


def _channel(value: Any) -> str | None:
    if value is None:
        return None
    return _CHANNELS.get(nfc(str(value)).strip().lower())


@dataclass(frozen=True)
class Record:
    """One dossier as the cache keeps it (dates as ``yyyyMMddHHmmss``, name already masked)."""

    code: str
    updated: str
    status: int
    procedure: str | None = None
    procedure_code: str | None = None
    field: str | None = None
    applicant: str | None = None
    received: str | None = None
    due: str | None = None
    finished: str | None = None
    returned: str | None = None
    unit: str | None = None
    return_place: str | None = None
    docs_asked: str | None = None     # documents asked for while waiting (status 5), when upstream says
    docs_due: str | None = None       # by when they are due
    channel: str | None = None        # "online", "counter" or "post", when upstream says
    field_code: str | None = None

    COLUMNS = ("code", "updated", "status", "procedure", "procedure_code", "field", "applicant",
               "received", "due", "finished", "returned", "unit", "return_place",
               "docs_asked", "docs_due", "channel", "field_code")
    SELECT = ", ".join(COLUMNS)

    @classmethod
    def from_upstream(cls, rec: dict[str, Any], tz: tzinfo) -> "Record":
        """Build from a record already in canonical field names (the adapter maps them)."""
        if not isinstance(rec, dict):
            raise RecordError(f"record is a {type(rec).__name__}, not an object")
        code = _text(rec.get("MaHoSo"))
        if not code:
            raise RecordError("record has no MaHoSo")
        dates = {}
        for ours, theirs in (("received", "NgayTiepNhan"), ("due", "NgayHenTra"),
                             ("finished", "NgayKetThucXuLy"), ("returned", "NgayTra"),
                             ("updated", "NgayCapNhat"), ("docs_due", "HanBoSung")):
            dt = parse_ts(rec.get(theirs), tz)
            dates[ours] = format_ts(dt, tz) if dt else None
        return cls(code=code.upper(), updated=dates.pop("updated") or EPOCH,
                   status=_status(rec.get("TrangThaiHoSo")),
                   procedure=_text(rec.get("TenTTHC")), procedure_code=_text(rec.get("MaTTHC")),
                   field=_text(rec.get("TenLinhVuc")), applicant=mask_name(_text(rec.get("ChuHoSo"))),
                   unit=_text(rec.get("DonViXuLy")), return_place=_text(rec.get("NoiTraKetQua")),
                   docs_asked=_docs(rec.get("YeuCauBoSung")), channel=_channel(rec.get("HinhThucNop")),
                   field_code=_text(rec.get("MaLinhVuc")), **dates)

    def row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, c) for c in self.COLUMNS)

    @classmethod
    def from_row(cls, row: Any) -> "Record":
        return cls(*row)

    def overdue(self, now: datetime, tz: tzinfo) -> bool:
        """Not finished and past the appointment.

        Computable from one record: closed statuses (3, 7, 8, 9, 10) are never overdue, and
        neither is a dossier waiting for the citizen's documents (5) since its clock is
        stopped; time spent in status 5 earlier is not in the record, so a dossier whose
        appointment upstream did not extend counts as overdue once back in processing.
        """
        if self.status in CLOSED or self.status == WAITING_CITIZEN or not self.due:
            return False
        return now > datetime.strptime(self.due, TS_FORMAT).replace(tzinfo=tz)

    def dossier(self, now: datetime, tz: tzinfo, *, stale: bool,
                return_place: str | None = None) -> dict[str, Any]:
        """The PROTOCOL.md Dossier object, plus ``unit``, ``return_place`` and ``field`` (extra fields)."""
        d = Dossier(code=self.code, procedure=self.procedure, status=self.status,
                    status_text=STATUS_TEXT[self.status], received_at=iso(self.received, tz),
                    due_at=iso(self.due, tz), returned_at=iso(self.returned, tz),
                    overdue=self.overdue(now, tz), applicant=self.applicant,
                    updated_at=iso(self.updated if self.updated != EPOCH else None, tz), stale=stale).wire()
        d["unit"] = self.unit
        d["return_place"] = self.return_place or return_place
        if self.status == WAITING_CITIZEN:
            d["docs_asked"] = self.docs_asked
            d["docs_due_at"] = iso(self.docs_due, tz)
        d["field"] = self.field  # the ticket kiosk sends missing documents to the field's service
        return d
