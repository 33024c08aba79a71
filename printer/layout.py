"""Ticket layout: ``TicketInfo`` -> ESC/POS bytes for 58 mm (384 dots) or 80 mm (576 dots).

Lines with Vietnamese go as 1-bit raster (``GS v 0``) drawn with DejaVu Sans, cropped to the
ink and centred with ``ESC a`` so blank margins cost no bytes. The number and the time are
ASCII and use the printer's own font (a few bytes). The QR code is native (``GS ( k``) when
the profile supports it, else a raster. Rasters of repeated text (office name, footer,
labels) are cached: rendering a ticket is a few milliseconds.
"""
from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime

import qrcode
from PIL import Image, ImageDraw, ImageFont

from edge.ui.fonts import font_path, nfc
from printer import escpos

log = logging.getLogger(__name__)

PAPER_DOTS = {58: 384, 80: 576}
FONT_A_WIDTH = 12  # dots per character of the printer's font A (12x24)

TRACK_CAPTION = "Quét mã để theo dõi lượt gọi"

PRIORITY_LABELS = {
    "elderly": "Người cao tuổi", "disabled": "Người khuyết tật", "pregnant": "Phụ nữ mang thai",
    "child": "Người đi cùng trẻ nhỏ", "other": "Ưu tiên khác",
}


@dataclass(frozen=True)
class TicketInfo:
    """Everything printed on one ticket (built by the daemon from a job + the office config)."""

    office_name: str
    number: str
    service_name: str
    issued_at: datetime
    qr_data: str
    counters: tuple[str, ...] = ()
    waiting_ahead: int | None = None
    estimated_wait_s: int | None = None
    priority: str = "none"
    footer: str = ""
    reprint: bool = False
    extra: tuple[str, ...] = field(default=())
    qr_caption: str = ""


def ticket_link(public_url: str | None, tracking_url: str | None, ticket) -> tuple[str, str]:
    """(QR text, caption): the ticket's public page when the office has one, else the old link."""
    token = getattr(ticket, "track", None)
    if public_url and token:
        return f"{public_url}/ve/{token}", TRACK_CAPTION
    if tracking_url:
        return tracking_url.replace("{ticket_id}", ticket.ticket_id), ""
    return ticket.ticket_id, ""


def wait_text(seconds: int | None) -> str | None:
    """'khoảng 15 phút' / 'khoảng 1 giờ 5 phút'; None when unknown."""
    if seconds is None:
        return None
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 60:
        return f"khoảng {minutes} phút"
    h, m = divmod(minutes, 60)
    return f"khoảng {h} giờ {m} phút" if m else f"khoảng {h} giờ"


@functools.lru_cache(maxsize=32)
def _pil_font(px: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_path(bold)
    if path is None:
        return ImageFont.load_default(px)
    return ImageFont.truetype(path, px)


def _wrap(text: str, fnt, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        cand = f"{line} {word}" if line else word
        if fnt.getlength(cand) <= width or not line:
            line = cand
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines or [""]


@functools.lru_cache(maxsize=256)
def text_raster(text: str, px: int, bold: bool, width: int) -> bytes:
    """ESC/POS raster of ``text`` wrapped to ``width`` dots, cropped to its ink."""
    fnt = _pil_font(px, bold)
    lines = _wrap(nfc(text), fnt, width)
    ascent, descent = fnt.getmetrics()
    lh = ascent + descent
    img = Image.new("L", (width, lh * len(lines)), 255)
    draw = ImageDraw.Draw(img)
    for i, ln in enumerate(lines):
        x = max(0, (width - int(fnt.getlength(ln))) // 2)
        draw.text((x, i * lh), ln, font=fnt, fill=0)
    bw = img.point(lambda v: 0 if v < 128 else 255, mode="1")
    box = Image.eval(img, lambda v: 255 - v).point(lambda v: 255 if v >= 128 else 0).getbbox()
    if box is None:
        return b""
    x0, y0, x1, y1 = box
    x0 -= x0 % 8  # crop on byte boundaries keeps centring exact
    return escpos.raster(bw.crop((x0, max(0, y0 - 2), x1, min(bw.height, y1 + 2))))


def qr_raster(data: str, module: int) -> bytes:
    """QR as raster for printers without a QR engine."""
    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=module, border=0)
    q.add_data(data)
    q.make(fit=True)
    return escpos.raster(q.make_image(fill_color="black", back_color="white").get_image())


def _number_block(number: str, dots: int) -> bytes:
    if number.isascii() and number.isprintable():
        cols = dots // FONT_A_WIDTH
        mag = max(1, min(8, cols // max(1, len(number))))
        return escpos.size(mag, min(8, mag)) + escpos.bold(True) + escpos.text(number) \
            + escpos.LF + escpos.bold(False) + escpos.size(1, 1)
    return text_raster(number, 150, True, dots)


def build_ticket(info: TicketInfo, paper_mm: int = 80, native_qr: bool = True) -> bytes:
    """The whole ticket as ESC/POS bytes, ending with a cut."""
    dots = PAPER_DOTS[paper_mm]
    small = 22 if paper_mm == 80 else 20
    out = [escpos.INIT, escpos.align("center"), text_raster(info.office_name, small + 2, True, dots)]
    if info.reprint:
        out.append(text_raster("(IN LẠI)", small, True, dots))
    out.append(escpos.feed(1))
    out.append(text_raster("SỐ THỨ TỰ", 30, True, dots))
    out.append(_number_block(info.number, dots))
    out.append(text_raster(info.service_name, 26, True, dots))
    if info.priority != "none":
        out.append(text_raster(f"Ưu tiên: {PRIORITY_LABELS.get(info.priority, info.priority)}", small, True, dots))
    if info.counters:
        out.append(text_raster("Mời đến: " + ", ".join(info.counters), small, False, dots))
    if info.waiting_ahead is not None:
        out.append(text_raster(f"Số người chờ trước: {info.waiting_ahead}", small, False, dots))
    wt = wait_text(info.estimated_wait_s)
    if wt:
        out.append(text_raster(f"Thời gian chờ dự kiến: {wt}", small, False, dots))
    for line in info.extra:
        out.append(text_raster(line, small, False, dots))
    out.append(escpos.text(info.issued_at.strftime("%H:%M:%S  %d/%m/%Y")) + escpos.LF)
    module = 6 if paper_mm == 80 else 5
    if native_qr:
        out.append(escpos.qr_native(info.qr_data, module=module))
    else:
        out.append(qr_raster(info.qr_data, module=4))  # 0.5 mm modules: phones read it, bytes stay small
    if info.qr_caption:
        out.append(text_raster(info.qr_caption, small - 2, False, dots))
    if info.footer:
        out.append(text_raster(info.footer, small - 2, False, dots))
    out.append(escpos.feed(3))
    out.append(escpos.cut())
    return b"".join(out)
