"""Bookings, all real: the upstream simulator's bookings synced by the hub (LayDanhSachLichHen,
over HTTP, into its SQLite), redeemed at the ticket kiosk by QR (scanner daemon) or typed
code, called at their slot ahead of walk-ins; late ones become walk-ins, a second
redemption is refused, and CapNhatLichHen reports them through the hub's outbox."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pygame
import pytest
from harness import TestOffice, copy_config
from kiosk_reader import kiosk_with_reader, scan
from test_ticket_kiosk import Rig

from edge.bus import wait_until
from hub.daemon import HubDaemon
from kiosk.ticket.controller import Screen

CONFIG = {
    "simulator_dossiers = 200": "simulator_dossiers = 40\nsync_interval_s = 3600\nappointments = true\n"
    "appointment_late_min = 15",
    'mode = "ticket"\nprinter = "printer-1"\n': 'mode = "ticket"\nprinter = "printer-1"\nscanner = "scanner-1"\n'
    'ask_priority = false\n',
}


@pytest.fixture
def booking_office(tmp_path: Path) -> Iterator[tuple[TestOffice, HubDaemon, Rig, dict[str, str]]]:
    o = TestOffice(tmp_path / "data", copy_config(tmp_path, replace=CONFIG)).start()
    hub = HubDaemon(o.ctx("hub", "hub"), backoff_base=0.05)
    up = hub.simulator.upstream
    now = hub.ctx.clock.now()
    ht = ("1.001193", "Đăng ký khai sinh", "HT", "Hộ tịch", 1)
    codes = {"due": up.add_appointment(now - timedelta(minutes=5), ht)["MaLichHen"],
             "early": up.add_appointment(now + timedelta(hours=2), ht)["MaLichHen"],
             "late": up.add_appointment(now - timedelta(minutes=60), ht)["MaLichHen"]}
    hub.start()
    try:
        assert wait_until(lambda: hub.appointments.runs >= 1, 20), "booking sync did not finish"
        with kiosk_with_reader(o) as rig:
            yield o, hub, rig, codes
    finally:
        hub.stop()
        o.close()


def test_booking_redeemed_called_at_slot_late_is_walk_in_second_refused(booking_office: Any) -> None:
    office, hub, rig, codes = booking_office
    up = hub.simulator.upstream
    assert hub.appointments.book.count() == len(up.appointments)
    c = rig.admin
    walk = [c.request(office.topics.ticket_issue, {"service": "HT"})["ticket"]["number"] for _ in range(2)]
    # the due booking, by its QR (a portal link)
    scan(office, f"https://dichvucong.example.gov.vn/lich-hen?MaLichHen={codes['due']}")
    assert wait_until(lambda: rig.view.screen == Screen.TICKET and rig.view.printed, 10), rig.view
    due = rig.view.ticket
    assert due["appointment"] == codes["due"] and due["service"] == "HT" and due["slot_at"]
    rig.tap(("home",))
    rig.wait_screen(Screen.HOME)
    # the early booking, typed on the home screen's "Đã đặt lịch hẹn"
    rig.tap(("booking",))
    rig.wait_screen(Screen.BOOKING)
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=codes["early"].lower()))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0, unicode="\r", scancode=40))
    assert wait_until(lambda: rig.view.screen == Screen.TICKET and rig.view.printed, 10), rig.view
    early = rig.view.ticket
    assert early["appointment"] == codes["early"]
    rig.tap(("home",))
    rig.wait_screen(Screen.HOME)
    # the late one becomes a walk-in: an ordinary number, the booking reported expired
    scan(office, codes["late"])
    assert wait_until(lambda: rig.view.screen == Screen.TICKET and rig.view.printed, 10), rig.view
    late = rig.view.ticket
    assert rig.view.walk_in and "appointment" not in late and late["service"] == "HT"
    rig.tap(("home",))
    rig.wait_screen(Screen.HOME)
    # a second redemption is refused
    scan(office, codes["due"])
    rig.wait_screen(Screen.NOTICE, 10)
    assert rig.view.notice == "booking_refused" and "đã được dùng" in rig.view.notice_args["message"]
    assert len(rig.issued) == 2 + 3
    # the counter: the due booking first, then the walk-ins in order, the early booking last
    assert c.request(office.topics.counter_command(2), {"action": "open"})["ok"]
    called = [c.request(office.topics.counter_command(2), {"action": "next"})["ticket"]["number"] for _ in range(5)]
    assert called == [due["number"], *walk, late["number"], early["number"]]
    # upstream heard: redeemed with the number (3), the late one expired (4)
    pushed = lambda: up.pushed.get("CapNhatLichHen", {})  # noqa: E731
    assert wait_until(lambda: {k: v["TrangThai"] for k, v in pushed().items() if k in codes.values()} ==
                      {codes["due"]: 3, codes["early"]: 3, codes["late"]: 4}, 15), pushed()
    assert pushed()[codes["due"]]["SoThuTu"] == due["number"]
    assert up.appointments[codes["due"]]["TrangThai"] == 3
