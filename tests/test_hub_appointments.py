"""The hub's booking book on a real SQLite file: sync rules (older versions never win, a
redemption made here is never undone) and redemption rules (once, retries, nothing lost
when the engine never issued the ticket)."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hub.appointments import AppointmentBook, Appointments, RedeemRequest, booking_code

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 12, 2, 9, 0, tzinfo=TZ)

    def __call__(self) -> datetime:
        return self.t


def rec(code: str, slot: str, updated: str, status: int = 1) -> dict:
    return {"MaLichHen": code, "MaTTHC": "1.001193", "MaLinhVuc": "HT", "NgayHen": slot, "ThoiLuong": 15,
            "TrangThai": status, "NgayCapNhat": updated}


def book(tmp_path: Path) -> tuple[Appointments, Clock, list]:
    pushes: list = []
    clock = Clock()
    appts = Appointments(AppointmentBook(tmp_path / "a.sqlite"), adapter=None, tz=TZ, now=clock,
                         enqueue=lambda s, k, r: pushes.append((s, k, r)) or True, services={},
                         known={"HT"}, late_min=15, interval_s=60)
    return appts, clock, pushes


def req(code: str, rid: str) -> RedeemRequest:
    return RedeemRequest(id=rid, reply_to="motcua/v1/X/reply/k", code=code)


def test_sync_rules(tmp_path: Path) -> None:
    a, clock, _ = book(tmp_path)
    b = a.book
    b.apply([rec("LH-1", "20261202093000", "20261201100000")], "20261201100000")
    b.apply([rec("LH-1", "20261202100000", "20261201090000")], "20261201100000")  # older version
    assert b.get("LH-1")["slot"] == "20261202093000"
    assert a.redeem(req("lh-1", "r1"), "t")["ok"]
    b.apply([rec("LH-1", "20261202093000", "20261201120000", status=1)], "20261201120000")
    assert b.get("LH-1")["status"] == 3, "a redemption made here was undone by the sync"
    assert b.cursor == "20261201120000"
    assert booking_code("https://dichvucong.gov.vn/lh?MaLichHen=lh-20261202-0001") == "LH-20261202-0001"
    assert booking_code("x") is None


def test_redeem_once_retry_and_nothing_lost(tmp_path: Path) -> None:
    a, clock, pushes = book(tmp_path)
    a.book.apply([rec("LH-1", "20261202093000", "20261201100000"),
                  rec("LH-2", "20261203093000", "20261201100000"),
                  rec("LH-3", "20261202093000", "20261201100000", status=2)], "20261201100000")
    first = a.redeem(req("LH-1", "r1"), "t")
    assert first["ok"] and first["appointment"]["service"] == "HT" and not first["walk_in"]
    assert a.redeem(req("LH-1", "r1"), "t") == first  # a retry of the same request
    second = a.redeem(req("LH-1", "r2"), "t")
    assert not second["ok"] and "đã được dùng" in second["error"]["message"]
    # the kiosk lost the engine: no ticket came; after a while the booking is not lost
    clock.t += timedelta(minutes=3)
    assert a.redeem(req("LH-1", "r3"), "t")["ok"]
    issued_at = clock.t
    a.on_issued({"appointment": "LH-1", "number": "2005"}, issued_at)
    clock.t += timedelta(minutes=3)
    assert not a.redeem(req("LH-1", "r4"), "t")["ok"]
    assert pushes[-1] == ("CapNhatLichHen", "LH-1", {"MaLichHen": "LH-1", "TrangThai": 3,
                                                     "ThoiGian": issued_at.strftime("%Y%m%d%H%M%S"),
                                                     "SoThuTu": "2005"})
    other_day = a.redeem(req("LH-2", "r5"), "t")
    assert not other_day["ok"] and "03/12/2026" in other_day["error"]["message"]
    assert not a.redeem(req("LH-3", "r6"), "t")["ok"]  # cancelled
    assert a.redeem(req("LH-9", "r7"), "t")["error"]["code"] == "not_found"
