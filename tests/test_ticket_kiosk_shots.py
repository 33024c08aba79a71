"""Every kiosk screen renders headless to PNG (portrait and landscape), and the 80 mm ticket PNG
has a readable QR code."""
from __future__ import annotations

from pathlib import Path

import zxingcpp
from PIL import Image

from kiosk.ticket.shots import render_all, render_ticket

ROOT = Path(__file__).resolve().parents[1]


def test_every_screen_renders(tmp_path):
    paths = render_all(ROOT / "config/examples/ward.toml", tmp_path)
    names = {p.name for p in paths}
    for screen in ("home", "home-paper-out", "home-closed", "priority", "issuing", "ticket-printing", "ticket-printed",
                   "ticket-print-failed", "notice-paper-out", "notice-offline", "notice-engine-down",
                   "notice-quota-reached", "notice-service-closed", "home-reader", "receipt-looking",
                   "receipt-ready", "receipt-missing", "receipt-in-process", "receipt-ticket",
                   "home-card-elderly", "home-card", "home-bookings", "booking-code", "booking-checking",
                   "booking-ticket", "booking-walk-in"):
        for orient, size in (("portrait", (1080, 1920)), ("landscape", (1920, 1080))):
            p = tmp_path / f"kiosk-{screen}-{orient}.png"
            assert p.name in names
            img = Image.open(p)
            assert img.size == size
            assert len(img.convert("L").getcolors(1 << 16) or []) > 2  # not a blank screen
    digests = {Image.open(p).tobytes() for p in paths if p.name.endswith("portrait.png")}
    assert len(digests) == 27  # each state draws something different
    ticket = Image.open(tmp_path / "ticket-80mm.png")
    assert ticket.width == 576
    assert [c.text for c in zxingcpp.read_barcodes(ticket)][0].endswith("20261121-HT-0023")


def test_province_ticket_and_closed_kiosk_say_where_and_when(tmp_path):
    from edge.config import load
    from kiosk.ticket.controller import Controller, ServiceView
    from kiosk.ticket.hours import office_hours
    from kiosk.ticket.shots import SHOT_TIME
    p = render_ticket(ROOT / "config/examples/province.toml", "KH", "D008", tmp_path / "t.png")
    img = Image.open(p)
    assert img.width == 576 and [c.text for c in zxingcpp.read_barcodes(img)][0].endswith("20261123-KH-0008")
    cfg = load(ROOT / "config/examples/ward.toml")
    ctrl = Controller([ServiceView(s.code, s.name, s.field, False) for s in cfg.services], ask_priority=True,
                      **office_hours(cfg, lambda: SHOT_TIME.replace(tzinfo=cfg.office.tz)))
    assert ctrl.all_closed() and ctrl.reopens() == "13:30 hôm nay"
    assert ctrl.hours("vi") == ["Thứ Hai – Thứ Sáu: 07:30–11:30, 13:30–17:00", "Thứ Bảy: 07:30–11:30"]
    assert ctrl.hours("en")[1] == "Saturday: 07:30–11:30"
    assert [c[1] for c in ctrl.categories][3] == "Người có công với cách mạng"
