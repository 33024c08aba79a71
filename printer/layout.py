"""Ticket layout: ``TicketInfo`` -> ESC/POS bytes for 58 mm (384 dots) or 80 mm (576 dots).

Lines with Vietnamese go as 1-bit raster (``GS v 0``) drawn with DejaVu Sans, cropped to the
ink and centred with ``ESC a`` so blank margins cost no bytes. The big number is a raster too,
in DejaVu Sans Bold (the printers' own fonts slash their zero: 2008 read as 2ØØ8), drawn at
half resolution and printed at 2x2 dots per pixel to stay within the byte budget. The time
is ASCII in the printer's own font (a few bytes). The QR code is native (``GS ( k``) when
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

from edge.config.model import DEFAULT_PRIORITY_CATEGORIES
from edge.ui.fonts import font_path, nfc
from printer import escpos

log = logging.getLogger(__name__)

PAPER_DOTS = {58: 384, 80: 576}

NUMBER_DOTS_HIGH = 128  # printed height of the big number's digits (16 mm; the native 8x font was 24)
TRACK_CAPTION = "Quét mã để theo dõi lượt gọi"



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
    priority_name: str | None = None  # the office's name of the category; None: the wire value
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


def fitted_raster(text: str, px: int, min_px: int, bold: bool, width: int) -> bytes:
    """`text_raster` at the largest size from `px` down to `min_px` that keeps one line
    (a wrapped line costs a whole second raster); wrapped at `px` if none does."""
    for size in range(px, min_px - 1, -1):
        if _pil_font(size, bold).getlength(nfc(text)) <= width:
            return text_raster(text, size, bold, width)
    return text_raster(text, px, bold, width)


def qr_raster(data: str, module: int) -> bytes:
    """QR as raster for printers without a QR engine."""
    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=module, border=0)
    q.add_data(data)
    q.make(fit=True)
    return escpos.raster(q.make_image(fill_color="black", back_color="white").get_image())


@functools.lru_cache(maxsize=64)
def number_raster(number: str, dots: int) -> bytes:
    """The big number: DejaVu Sans Bold, half resolution, printed 2x2 (GS v 0 mode 3)."""
    half = dots // 2
    target = NUMBER_DOTS_HIGH // 2
    px = 8
    fnt = _pil_font(px, True)
    while px < 200:  # the largest size whose digits stay under the height and within the paper
        nxt = _pil_font(px + 2, True)
        box = nxt.getbbox(number)
        if box[3] - box[1] > target or box[2] - box[0] > half - 4:
            break
        px, fnt = px + 2, nxt
    x0, y0, x1, y1 = fnt.getbbox(number)
    img = Image.new("L", (x1 - x0 + 2, y1 - y0 + 2), 255)
    ImageDraw.Draw(img).text((1 - x0, 1 - y0), number, font=fnt, fill=0)
    return escpos.raster(img.point(lambda v: 0 if v < 128 else 255, mode="1"), double=True)


def _group(counters: list, multi_floor: bool) -> list[tuple[str, list]]:
    groups: dict[tuple, list] = {}
    for c in sorted(counters, key=lambda c: c.number):
        groups.setdefault((c.zone, c.floor if multi_floor else None), []).append(c)
    out = []
    for (zone, floor), members in groups.items():
        where = " – ".join(p for p in (f"Khu {zone}" if zone else "", f"Tầng {floor}" if floor is not None else "") if p)
        out.append((where, members))
    return out


def _runs(members: list) -> str:
    """'Quầy D01–D06' for consecutive counters with plain names, else the names one by one."""
    parts: list[str] = []
    run: list = []

    def close() -> None:
        if len(run) >= 3 and all(c.label.startswith("Quầy ") and " - " not in c.label for c in run):
            parts.append(f"{run[0].label}–{run[-1].label.removeprefix('Quầy ')}")
        else:
            parts.extend(c.label for c in run)
        run.clear()

    for c in members:
        if run and (c.number != run[-1].number + 1 or " - " in c.label):
            close()
        run.append(c)
        if " - " in c.label:
            close()
    if run:
        close()
    return ", ".join(parts)


def counter_places(counters: list, multi_floor: bool = True) -> tuple[str, ...]:
    """Where to go, one line per zone and floor: ('Khu D – Tầng 2, Quầy D01–D06',). `counters`
    are config Counters (number, label, zone, floor); the floor is named only when the office
    has more than one."""
    return tuple(f"{where}, {_runs(members)}" if where else _runs(members)
                 for where, members in _group(counters, multi_floor))


def service_places(cfg, service: str) -> tuple[str, ...]:
    """`counter_places` of the counters serving `service` in an OfficeConfig."""
    floors = {c.floor for c in cfg.counters if c.floor is not None}
    return counter_places(cfg.counters_for(service), multi_floor=len(floors) > 1)


def build_ticket(info: TicketInfo, paper_mm: int = 80, native_qr: bool = True) -> bytes:
    """The whole ticket as ESC/POS bytes, ending with a cut."""
    dots = PAPER_DOTS[paper_mm]
    small = 22 if paper_mm == 80 else 20
    out = [escpos.INIT, escpos.align("center"), fitted_raster(info.office_name, small + 2, small - 4, True, dots)]
    if info.reprint:
        out.append(text_raster("(IN LẠI)", small, True, dots))
    out.append(escpos.feed(1))
    out.append(text_raster("SỐ THỨ TỰ", 26, True, dots))
    out.append(number_raster(info.number, dots))
    out.append(fitted_raster(info.service_name, 26, 22, True, dots))
    if info.priority != "none":
        name = info.priority_name or next((c.name for c in DEFAULT_PRIORITY_CATEGORIES if c.priority == info.priority),
                                          info.priority)
        out.append(fitted_raster(f"Ưu tiên: {name}", small, small - 3, True, dots))
    if len(info.counters) == 1 and _pil_font(small - 3, False).getlength(f"Quầy phục vụ: {info.counters[0]}") <= dots:
        out.append(fitted_raster(f"Quầy phục vụ: {info.counters[0]}", small, small - 3, False, dots))
    elif info.counters:
        out.append(text_raster("Quầy phục vụ:", small, False, dots))
        for place in info.counters:
            out.append(fitted_raster(place, small, small - 3, False, dots))
    if info.waiting_ahead is not None:
        out.append(text_raster(f"Số người chờ trước: {info.waiting_ahead}", small, False, dots))
    wt = wait_text(info.estimated_wait_s)
    if wt:
        out.append(fitted_raster(f"Thời gian chờ dự kiến: {wt}", small, small - 3, False, dots))
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
        out.append(fitted_raster(info.footer, small - 2, small - 5, False, dots))
    out.append(escpos.feed(3))
    out.append(escpos.cut())
    return b"".join(out)
