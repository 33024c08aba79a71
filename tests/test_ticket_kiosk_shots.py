"""Every kiosk screen renders headless to PNG (portrait and landscape), and the 80 mm ticket PNG
has a readable QR code."""
from __future__ import annotations

from pathlib import Path

import zxingcpp
from PIL import Image

from kiosk.ticket.shots import render_all

ROOT = Path(__file__).resolve().parents[1]


def test_every_screen_renders(tmp_path):
    paths = render_all(ROOT / "config/examples/ward.toml", tmp_path)
    names = {p.name for p in paths}
    for screen in ("home", "home-paper-out", "priority", "issuing", "ticket-printing", "ticket-printed",
                   "ticket-print-failed", "notice-paper-out", "notice-offline", "notice-engine-down",
                   "notice-quota-reached", "notice-service-closed"):
        for orient, size in (("portrait", (1080, 1920)), ("landscape", (1920, 1080))):
            p = tmp_path / f"kiosk-{screen}-{orient}.png"
            assert p.name in names
            img = Image.open(p)
            assert img.size == size
            assert len(img.convert("L").getcolors(1 << 16) or []) > 2  # not a blank screen
    digests = {Image.open(p).tobytes() for p in paths if p.name.endswith("portrait.png")}
    assert len(digests) == 13  # each state draws something different
    ticket = Image.open(tmp_path / "ticket-80mm.png")
    assert ticket.width == 576
    assert [c.text for c in zxingcpp.read_barcodes(ticket)][0].endswith("20261121-HT-0023")
