"""Byte builders for the ESC/POS commands motcua emits (and ``printer.decode`` understands).

Kept deliberately small: init, alignment, emphasis, character size, line feed/feed, raster
bit image (GS v 0), native QR (GS ( k, model 2), partial cut, and the DLE EOT status query.
"""
from __future__ import annotations

import logging

from PIL import Image

log = logging.getLogger(__name__)

ESC = b"\x1b"
GS = b"\x1d"
DLE = b"\x10"

INIT = ESC + b"@"
LF = b"\n"
ALIGN = {"left": 0, "center": 1, "right": 2}
QR_EC = {"L": 48, "M": 49, "Q": 50, "H": 51}


def align(where: str) -> bytes:
    """ESC a n: justification of the following lines (text, raster and QR)."""
    return ESC + b"a" + bytes([ALIGN[where]])


def bold(on: bool) -> bytes:
    """ESC E n: emphasised text."""
    return ESC + b"E" + bytes([1 if on else 0])


def size(width: int = 1, height: int = 1) -> bytes:
    """GS ! n: character magnification 1..8 in each direction."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError("character magnification must be 1..8")
    return GS + b"!" + bytes([((width - 1) << 4) | (height - 1)])


def feed(lines: int) -> bytes:
    """ESC d n: print and feed ``lines`` lines."""
    return ESC + b"d" + bytes([max(0, min(255, lines))])


def cut() -> bytes:
    """GS V 66 n: feed to the cutter and cut partially (one uncut point keeps tickets tidy)."""
    return GS + b"V" + bytes([66, 3])


def text(s: str) -> bytes:
    """ASCII text for the printer's own font; anything else must go as raster."""
    return s.encode("ascii")


def raster(img: Image.Image, double: bool = False) -> bytes:
    """GS v 0: a 1-bit image; black pixels print. Width is padded to whole bytes. `double`
    prints every pixel as 2x2 dots (mode 3): a big glyph for a quarter of the bytes."""
    bw = img.convert("1")
    w, h = bw.size
    wb = (w + 7) // 8
    if wb * 8 != w:
        padded = Image.new("1", (wb * 8, h), 1)
        padded.paste(bw, (0, 0))
        bw = padded
    # PIL "1" packs 1 for white; ESC/POS wants 1 for black: invert the packed bytes.
    data = bytes(b ^ 0xFF for b in bw.tobytes())
    return GS + b"v0" + bytes([3 if double else 0, wb & 0xFF, wb >> 8, h & 0xFF, h >> 8]) + data


def _qr_fn(fn: int, params: bytes) -> bytes:
    n = len(params) + 2
    return GS + b"(k" + bytes([n & 0xFF, n >> 8, 49, fn]) + params


def qr_native(data: str, module: int = 6, ec: str = "M") -> bytes:
    """GS ( k: model 2 QR from the printer's own engine (a few dozen bytes)."""
    payload = data.encode("utf-8")
    if len(payload) > 7000:
        raise ValueError("QR payload too long")
    return (_qr_fn(65, bytes([50, 0]))  # model 2
            + _qr_fn(67, bytes([max(1, min(16, module))]))
            + _qr_fn(69, bytes([QR_EC[ec]]))
            + _qr_fn(80, bytes([48]) + payload)
            + _qr_fn(81, bytes([48])))


def status_query(n: int) -> bytes:
    """DLE EOT n: real-time status (1 printer, 2 offline cause, 3 error, 4 paper sensor)."""
    return DLE + b"\x04" + bytes([n])
