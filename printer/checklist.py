"""A procedure's checklist on thermal paper: what to bring, fees, time limit, where to go, QR.

The citizen takes it home and comes back with every document. Lines are Vietnamese, so they
go as 1-bit rasters like the ticket's (printer/layout.py's ``text_raster``: DejaVu, cropped to
the ink); each wrapped line is its own raster, printed left-aligned, so the right margin of a
short line costs no bytes. The code and the time are native ASCII text, the portal link a
native QR (or a raster QR on printers without a QR engine).

Byte budget: ``BYTES_PER_MM`` per millimetre of paper, the same density the ticket stays
within (bench/ticket.py's 12 KiB for an 80 mm ticket, about 95 mm long). The layout shrinks
its type one step at a time until the whole checklist fits, and tests hold it to that.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime

from PIL import Image

from edge import protocol as P
from printer import escpos
from printer.layout import PAPER_DOTS, _pil_font, _wrap, qr_raster, text_raster

log = logging.getLogger(__name__)

DOTS_PER_MM = 8
TICKET_MM = 95                   # length of bench/ticket.py's 80 mm ticket (761 dots)
BYTES_PER_MM = 12 * 1024 // TICKET_MM  # the ticket's 12 KiB budget per ticket length of paper
LINE_ROWS = 30                   # ESC d feed of one line (font A line height + gap) in dots
#: (heading px, body px, leading in dots) tried in turn: smaller type, then more air between lines
SIZES = ((22, 20, 6), (20, 18, 6), (18, 17, 5), (18, 16, 5), (18, 16, 8), (18, 16, 11))

KIND_WORDS = {"Bản chính": "bản chính", "Bản sao": "bản sao", "Bản sao chứng thực": "bản sao chứng thực"}


@dataclass
class Checklist:
    """The bytes and what they carry (the lines in print order, for tests and the PNG)."""

    data: bytes
    lines: list[str] = field(default_factory=list)
    rasters: list[tuple[str, bytes]] = field(default_factory=list)   # (line, its GS v 0 bytes)
    size: tuple[int, int] = (0, 0)   # the paper: width, length in dots


def document_line(d: P.ProcedureDocument) -> str:
    """'☐ Giấy chứng sinh — 01 bản chính' (copies and kind when the catalogue states them)."""
    kind = KIND_WORDS.get(d.kind, d.kind.lower())
    if d.copies and kind:
        extra = f"{d.copies:02d} {kind}"
    elif d.copies:
        extra = f"{d.copies:02d} bản"
    else:
        extra = kind
    return f"☐ {d.name}" + (f" — {extra}" if extra else "")


def sections(proc: P.Procedure) -> list[tuple[str, list[str]]]:
    """(heading, paragraphs) in print order; empty sections are left out."""
    out: list[tuple[str, list[str]]] = []
    if proc.documents:
        out.append(("Giấy tờ cần mang theo:", [document_line(d) for d in proc.documents]))
    if proc.fees:
        out.append(("Phí, lệ phí:", [f"- {f.name}: {f.amount}" for f in proc.fees]))
    if proc.time_limit:
        out.append(("Thời hạn giải quyết:", [proc.time_limit]))
    if proc.submit_at:
        out.append(("Nơi nộp hồ sơ:", [proc.submit_at]))
    if proc.collect_at and proc.collect_at != proc.submit_at:
        out.append(("Nơi nhận kết quả:", [proc.collect_at]))
    if proc.online:
        out.append(("Dịch vụ công trực tuyến:", [proc.online]))
    if proc.forms:
        out.append(("Biểu mẫu:", [f"- {f.name}" for f in proc.forms]))
    return out


@functools.lru_cache(maxsize=8)
def gap(rows: int) -> bytes:
    """Leading between lines: a blank raster one byte wide feeds `rows` dots for rows + 8 bytes
    (a full-width blank raster would cost 72 bytes a row; ESC d feeds whole text lines only)."""
    return escpos.raster(Image.new("1", (8, rows), 1))


def _lines(text: str, px: int, bold: bool, dots: int) -> list[str]:
    return _wrap(P.nfc(text), _pil_font(px, bold), dots)


def build_checklist(proc: P.Procedure, office_name: str, printed_at: datetime, paper_mm: int = 80,
                    native_qr: bool = True) -> Checklist:
    """The checklist as ESC/POS bytes ending with a cut, at the largest type within the budget."""
    best: Checklist | None = None
    for head, body, lead in SIZES:
        best = _build(proc, office_name, printed_at, paper_mm, native_qr, head, body, lead)
        if len(best.data) <= budget(best, paper_mm):
            return best
    assert best is not None
    log.warning("checklist of %s is %d bytes, over its budget even in the smallest type", proc.code, len(best.data))
    return best


def budget(c: Checklist, paper_mm: int) -> int:
    """Bytes allowed for a checklist of this length of paper."""
    return int(c.size[1] / DOTS_PER_MM * BYTES_PER_MM)


def _build(proc: P.Procedure, office_name: str, printed_at: datetime, paper_mm: int, native_qr: bool,
           head: int, body: int, lead: int) -> Checklist:
    dots = PAPER_DOTS[paper_mm]
    rasters: list[tuple[str, bytes]] = []
    out = [escpos.INIT, escpos.align("center")]

    def line(text: str, px: int, bold: bool, after: bytes = b"") -> None:
        r = text_raster(text, px, bold, dots)
        rasters.append((text, r))
        out.append(r + after)

    line(office_name, body, True)
    line("HƯỚNG DẪN THỦ TỤC", head + 2, True)
    for ln in _lines(proc.name, head, True, dots):
        line(ln, head, True)
    out.append(escpos.text(f"Ma TTHC: {proc.code}") + escpos.LF)  # the code as the portal writes it
    out.append(escpos.align("left"))
    for heading, paras in sections(proc):
        out.append(escpos.feed(1))
        line(heading, body, True)
        for para in paras:
            out.append(gap(lead + 4))
            for ln in _lines(para, body, False, dots):
                line(ln, body, False, gap(lead))
    out.append(escpos.align("center"))
    out.append(escpos.feed(1))
    if proc.url:
        out.append(escpos.qr_native(proc.url, module=5 if paper_mm == 80 else 4) if native_qr
                   else qr_raster(proc.url, module=3))
        line("Quét mã để xem thủ tục trên Cổng Dịch vụ công", body - 2, False)
    line("Thông tin để tham khảo; cán bộ tiếp nhận sẽ hướng dẫn cụ thể.", body - 3, False)
    out.append(escpos.text(printed_at.strftime("%H:%M  %d/%m/%Y")) + escpos.LF)
    out.append(escpos.feed(3))
    out.append(escpos.cut())
    data = b"".join(out)
    from printer.decode import decode  # the paper's length: what the printer would feed
    img = decode(data, dots).image
    return Checklist(data, [t for t, _ in rasters], rasters, img.size)
