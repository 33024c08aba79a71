"""Our own decoder for the ESC/POS subset we emit: bytes -> PIL image(s) of the paper.

Used by the virtual backend (a PNG per ticket) and by tests (read the QR back with a
barcode library). Understood: ESC @, ESC a, ESC E, ESC d, ESC ! (ignored), ESC t, GS !,
GS v 0, GS ( k (QR model 2 store/print/size/EC), GS V (cut), DLE EOT (status query),
LF and printable ASCII in font A (12x24 dots). Anything else is recorded in ``unknown``
and skipped, so a malformed stream gives a clear report, not a crash.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

import qrcode
from PIL import Image, ImageDraw, ImageFont

from edge.ui.fonts import font_path

log = logging.getLogger(__name__)

CELL_W, CELL_H, LINE_GAP = 12, 24, 6


@dataclass
class Decoded:
    """What a byte stream would have printed."""

    pages: list[Image.Image] = field(default_factory=list)  # one per cut (and the tail)
    texts: list[str] = field(default_factory=list)          # native text lines
    qr: list[str] = field(default_factory=list)             # native QR payloads printed
    rasters: int = 0
    cuts: int = 0
    status_queries: int = 0
    unknown: list[str] = field(default_factory=list)

    @property
    def image(self) -> Image.Image:
        """All pages stacked (what one ticket looks like when it has a single cut)."""
        if len(self.pages) == 1:
            return self.pages[0]
        w = max((p.width for p in self.pages), default=1)
        h = sum(p.height for p in self.pages) or 1
        img = Image.new("L", (w, h), 255)
        y = 0
        for p in self.pages:
            img.paste(p, (0, y))
            y += p.height
        return img


@functools.lru_cache(maxsize=4)
def _mono(bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    base = font_path(False)
    if base:
        name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
        for cand in (base.rsplit("/", 1)[0] + "/" + name, font_path(bold)):
            try:
                return ImageFont.truetype(cand, 20)
            except OSError:
                continue
    return ImageFont.load_default()


class _Paper:
    def __init__(self, width: int) -> None:
        self.width = width
        self.rows: list[Image.Image] = []

    def add(self, img: Image.Image, align: int) -> None:
        row = Image.new("L", (self.width, img.height), 255)
        x = {0: 0, 1: (self.width - img.width) // 2, 2: self.width - img.width}.get(align, 0)
        row.paste(img.convert("L"), (max(0, x), 0))
        self.rows.append(row)

    def blank(self, h: int) -> None:
        if h > 0:
            self.rows.append(Image.new("L", (self.width, h), 255))

    def take(self) -> Image.Image:
        h = sum(r.height for r in self.rows) or 1
        img = Image.new("L", (self.width, h), 255)
        y = 0
        for r in self.rows:
            img.paste(r, (0, y))
            y += r.height
        self.rows = []
        return img


def _text_image(s: str, wmag: int, hmag: int, bold: bool) -> Image.Image:
    img = Image.new("L", (max(1, len(s)) * CELL_W, CELL_H), 255)
    d = ImageDraw.Draw(img)
    f = _mono(bold)
    for i, ch in enumerate(s):
        d.text((i * CELL_W, 1), ch, font=f, fill=0)
        if bold:
            d.text((i * CELL_W + 1, 1), ch, font=f, fill=0)
    if wmag > 1 or hmag > 1:
        img = img.resize((img.width * wmag, img.height * hmag), Image.NEAREST)
    return img


def decode(data: bytes, paper_dots: int = 576) -> Decoded:
    """Interpret ``data`` as a printer would and return the printed pages."""
    out = Decoded()
    paper = _Paper(paper_dots)
    st = {"align": 0, "bold": False, "w": 1, "h": 1}
    qr = {"module": 3, "ec": "M", "data": b""}
    line = bytearray()
    i, n = 0, len(data)

    def flush(force_blank: bool = False) -> None:
        if line:
            s = line.decode("ascii", "replace")
            out.texts.append(s)
            paper.add(_text_image(s, st["w"], st["h"], st["bold"]), st["align"])
            paper.blank(LINE_GAP)
            line.clear()
        elif force_blank:
            paper.blank(CELL_H * st["h"] + LINE_GAP)

    def need(k: int) -> bool:
        if i + k > n:
            out.unknown.append(f"truncated command at byte {i}")
            return False
        return True

    while i < n:
        b = data[i]
        if b == 0x0A:
            flush(force_blank=True)
            i += 1
        elif b == 0x1B:  # ESC
            if not need(2):
                break
            c = data[i + 1]
            if c == 0x40:  # @
                flush()
                st.update(align=0, bold=False, w=1, h=1)
                i += 2
            elif c in (0x61, 0x45, 0x64, 0x21, 0x74, 0x4D, 0x32, 0x33):  # a E d ! t M 2 3
                if c == 0x32:
                    i += 2
                    continue
                if not need(3):
                    break
                v = data[i + 2]
                if c == 0x61:
                    st["align"] = v if v in (0, 1, 2) else v - 48
                elif c == 0x45:
                    st["bold"] = bool(v & 1)
                elif c == 0x64:
                    flush()
                    paper.blank(v * (CELL_H + LINE_GAP))
                i += 3
            else:
                out.unknown.append(f"ESC 0x{c:02x} at byte {i}")
                i += 2
        elif b == 0x1D:  # GS
            if not need(2):
                break
            c = data[i + 1]
            if c == 0x21:  # GS ! n
                if not need(3):
                    break
                v = data[i + 2]
                st["w"], st["h"] = (v >> 4) + 1, (v & 0x0F) + 1
                i += 3
            elif c == 0x76 and i + 2 < n and data[i + 2] == 0x30:  # GS v 0 m xL xH yL yH
                if not need(8):
                    break
                wb = data[i + 4] | data[i + 5] << 8
                h = data[i + 6] | data[i + 7] << 8
                size = wb * h
                if not need(8 + size):
                    break
                raw = bytes(x ^ 0xFF for x in data[i + 8:i + 8 + size])
                flush()
                img = Image.frombytes("1", (wb * 8, h), raw) if size else Image.new("1", (8, 1), 1)
                mode = data[i + 3] & 0x03  # 1: double width, 2: double height, 3: both (48-51 alike)
                if mode:
                    img = img.resize((img.width * (2 if mode & 1 else 1), img.height * (2 if mode & 2 else 1)),
                                     Image.Resampling.NEAREST)
                paper.add(img, st["align"])
                out.rasters += 1
                i += 8 + size
            elif c == 0x28 and i + 2 < n and data[i + 2] == 0x6B:  # GS ( k pL pH cn fn ...
                if not need(7):
                    break
                plen = data[i + 3] | data[i + 4] << 8
                if not need(5 + plen):
                    break
                fn = data[i + 6]
                params = data[i + 7:i + 5 + plen]
                if fn == 67 and params:
                    qr["module"] = max(1, params[0])
                elif fn == 69 and params:
                    qr["ec"] = {48: "L", 49: "M", 50: "Q", 51: "H"}.get(params[0], "M")
                elif fn == 80:
                    qr["data"] = bytes(params[1:])
                elif fn == 81:
                    flush()
                    payload = qr["data"].decode("utf-8", "replace")
                    out.qr.append(payload)
                    ec = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
                          "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}[qr["ec"]]
                    q = qrcode.QRCode(error_correction=ec, box_size=qr["module"], border=0)
                    q.add_data(qr["data"])
                    q.make(fit=True)
                    paper.blank(8)
                    paper.add(q.make_image().get_image(), st["align"])
                    paper.blank(8)
                i += 5 + plen
            elif c == 0x56:  # GS V m [n]
                if not need(3):
                    break
                m = data[i + 2]
                i += 4 if m in (65, 66, 97, 98, 103, 104) else 3
                flush()
                out.cuts += 1
                out.pages.append(paper.take())
            else:
                out.unknown.append(f"GS 0x{c:02x} at byte {i}")
                i += 2
        elif b == 0x10 and i + 1 < n and data[i + 1] == 0x04:  # DLE EOT n
            out.status_queries += 1
            i += 3
        elif 0x20 <= b < 0x7F:
            line.append(b)
            i += 1
        elif b in (0x0D, 0x00):
            i += 1
        else:
            out.unknown.append(f"byte 0x{b:02x} at {i}")
            i += 1
    flush()
    if paper.rows:
        out.pages.append(paper.take())
    return out
