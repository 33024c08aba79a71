"""The ticket kiosk's rules for what its reader reads, on the controller alone: stale replies,
scans while a ticket is being taken, and one ID-card scan for one ticket."""
from __future__ import annotations

from datetime import date

from kiosk.ticket.cccd import card_token
from kiosk.ticket.controller import Controller, Screen, ServiceView

OK = {"online": True, "state": "ok", "detail": {"paper": "ok"}}
CODE = "000.17.22.H56-261120-0042"
CARD = card_token("079055001234|023456789|Nguyễn Văn Hùng|12031955|Nam|Phường Bến Thành|15062021",
                  b"k" * 32, date(2026, 12, 2)).wire()


def make():
    issued, lookups, redeems = [], [], []
    c = Controller([ServiceView("HT", "Hộ tịch", "Tư pháp")], ask_priority=True,
                   issue_fn=lambda s, p, **kw: issued.append((s, p, kw)),
                   lookup_fn=lambda code, seq: lookups.append((code, seq)),
                   redeem_fn=lambda text, seq: redeems.append((text, seq)),
                   return_service="TK", supplement_for=lambda fld: "HT",
                   extra_services=[ServiceView("TK", "Trả kết quả", "Một cửa")],
                   today=lambda: date(2026, 12, 2))
    c.engine_online = True
    c.set_printer_status(OK)
    return c, issued, lookups, redeems


def test_a_newer_scan_wins_and_home_drops_a_late_reply() -> None:
    c, issued, lookups, _ = make()
    c.scanned(CODE)
    c.scanned(CODE.replace("0042", "0043"))
    assert [seq for _, seq in lookups] == [1, 2]
    c.looked_up(1, {"ok": True, "dossier": {"code": CODE, "status": 9}})
    assert c.view.screen == Screen.LOOKING, "the first scan's reply replaced the second"
    c.home()
    c.looked_up(2, {"ok": True, "dossier": {"code": CODE, "status": 9}})
    assert c.view.screen == Screen.HOME and not issued
    # the return service is not on the home screen, but a ready receipt leads to it
    assert "TK" not in c.order
    c.scanned(CODE)
    c.looked_up(lookups[-1][1], {"ok": True, "dossier": {"code": CODE, "status": 9}})
    assert (c.view.offer, c.view.offer_kind) == ("TK", "return")
    c.take_receipt_ticket()
    assert c.view.screen == Screen.PRIORITY and c.view.dossier["code"] == CODE
    c.choose_priority("none")
    assert issued == [("TK", "none", {"dossier": CODE})]


def test_scans_while_a_ticket_is_taken_change_nothing() -> None:
    c, issued, lookups, redeems = make()
    c.choose_service("HT")
    assert c.view.screen == Screen.PRIORITY
    c.scanned(CODE)
    c.scanned(CARD)
    c.scanned("LH-20261202-0001")
    assert c.view.screen == Screen.PRIORITY and not lookups and not redeems and c.person is None


def test_one_card_scan_is_good_for_one_ticket() -> None:
    c, issued, _, _ = make()
    c.scanned(CARD)
    assert c.greeting().startswith("Kính chào ông!") and c.view.screen == Screen.HOME
    c.choose_service("HT")  # elderly: no priority question
    assert issued[-1][0:2] == ("HT", "elderly") and len(issued[-1][2]["person"]) == 32
    c.issued({"ticket": {"ticket_id": "T-1", "number": "2001", "service": "HT"}}, "T-1")
    c.home()
    c.choose_service("HT")
    assert c.view.screen == Screen.PRIORITY and c.person is None
    # idle timeout (home) forgets a card nobody used
    c.home()
    c.scanned(CARD)
    c.home()
    assert c.person is None and c.greeting() is None


def test_booking_refusal_and_walk_in() -> None:
    c, issued, _, redeems = make()
    c.open_booking()
    assert c.view.screen == Screen.BOOKING
    c.redeem("LH-20261202-0001")
    c.redeemed(redeems[-1][1], {"ok": False, "error": {"code": "bad_request",
                                                     "message": "Lịch hẹn LH-20261202-0001 đã được dùng để lấy số."}})
    assert c.view.notice == "booking_refused" and not issued
    c.home()
    c.scanned("LH-20261202-0002")  # not a receipt: a booking
    slot = "2026-12-02T09:00:00+07:00"
    c.redeemed(redeems[-1][1], {"ok": True, "walk_in": True,
                                "appointment": {"code": "LH-20261202-0002", "service": "HT", "slot_at": slot}})
    assert issued[-1] == ("HT", "none", {}), "a late booking is an ordinary ticket"
    c.issued({"ticket": {"ticket_id": "T-2", "number": "2002", "service": "HT"}}, "T-2")
    assert c.view.walk_in and c.view.booking["slot_at"] == slot
