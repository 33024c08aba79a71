"""Text helpers: render NFC text, shrink to fit a width, wrap into lines.

- ``render_text(s, size, color, bold)`` -> Surface
- ``fit_font(s, max_width, size, bold, min_size)`` -> largest Font (<= size) whose width fits
- ``wrap_lines(s, font, max_width)`` -> list of lines, breaking at spaces (long words split)
- ``blit_text(surface, s, rect, size, color, bold, align, valign, wrap)`` -> bottom y used
"""
from __future__ import annotations

import logging
import unicodedata

import pygame

from edge.ui.fonts import font, font_path, nfc

log = logging.getLogger(__name__)

Color = tuple[int, int, int] | tuple[int, int, int, int]


def render_text(text: str, size: int, color: Color = (0, 0, 0), bold: bool = False) -> pygame.Surface:
    """Render one line of text anti-aliased."""
    return font(size, bold).render(nfc(text), True, color)


def fit_font(text: str, max_width: int, size: int, bold: bool = False, min_size: int = 12):
    """Largest cached font not above ``size`` whose rendering of ``text`` fits ``max_width``."""
    s = nfc(text)
    while size > min_size and font(size, bold).size(s)[0] > max_width:
        size = max(min_size, int(size * 0.9))
    return font(size, bold)


def wrap_lines(text: str, fnt, max_width: int) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` (newlines kept)."""
    out: list[str] = []
    for para in nfc(text).split("\n"):
        line = ""
        for word in para.split(" "):
            cand = f"{line} {word}" if line else word
            if fnt.size(cand)[0] <= max_width:
                line = cand
                continue
            if line:
                out.append(line)
            while fnt.size(word)[0] > max_width and len(word) > 1:
                cut = len(word)
                while cut > 1 and fnt.size(word[:cut])[0] > max_width:
                    cut -= 1
                out.append(word[:cut])
                word = word[cut:]
            line = word
        out.append(line)
    return out


_audited: set[tuple[str, int, int, int]] = set()


_faces: dict[bool, object] = {}


def missing_glyphs(text: str, bold: bool = False) -> set[str]:
    """Characters of `text` the screen font has no glyph for (pygame.font draws them as boxes)."""
    face = _faces.get(bold)
    if face is None:
        import pygame.freetype

        pygame.freetype.init()
        face = _faces[bold] = pygame.freetype.Font(font_path(bold), 16)
    chars = [c for c in unicodedata.normalize("NFC", text) if not c.isspace()]
    return {c for c, m in zip(chars, face.get_metrics("".join(chars))) if m is None}


def _audit(text: str, lines: list[str], fnt, rect: pygame.Rect, total: int, bold: bool) -> None:
    """Warn once per text and box when a glyph is missing from the font or the text does not fit.

    The screens shrink text to fit down to a minimum size; past that a translation or an
    office's own wording is too long for its box, which the log (and the screen tests) must say.
    """
    key = (text, rect.w, rect.h, fnt.get_height())
    if key in _audited:
        return
    if len(_audited) > 4096:
        _audited.clear()
    _audited.add(key)
    missing = sorted(missing_glyphs(text, bold))
    if missing:
        log.warning("text %r: no glyph for %s in the font", text, "".join(missing))
    if total > rect.h or any(fnt.size(line)[0] > rect.w for line in lines):
        log.warning("text %r overflows its %dx%d box", text, rect.w, rect.h)


def blit_text(surface: pygame.Surface, text: str, rect: pygame.Rect, size: int,
              color: Color = (0, 0, 0), bold: bool = False, align: str = "center",
              valign: str = "middle", wrap: bool = True, min_size: int = 14) -> int:
    """Draw ``text`` inside ``rect`` (wrapped, or shrunk to one line); return the bottom y."""
    rect = pygame.Rect(rect)
    if wrap:
        fnt = font(size, bold)
        lines = wrap_lines(text, fnt, rect.width)
        while len(lines) * fnt.get_linesize() > rect.height and size > min_size:
            size = max(min_size, int(size * 0.9))
            fnt = font(size, bold)
            lines = wrap_lines(text, fnt, rect.width)
    else:
        fnt = fit_font(text, rect.width, size, bold, min_size)
        lines = [nfc(text)]
    lh = fnt.get_linesize()
    total = lh * len(lines)
    _audit(text, lines, fnt, rect, total, bold)
    y = {"top": rect.top, "bottom": rect.bottom - total}.get(valign, rect.centery - total // 2)
    for line in lines:
        surf = fnt.render(line, True, color)
        x = {"left": rect.left, "right": rect.right - surf.get_width()}.get(
            align, rect.centerx - surf.get_width() // 2)
        surface.blit(surf, (x, y))
        y += lh
    return y
