"""Font lookup and cache: DejaVu Sans has every precomposed Vietnamese letter.

``font(size, bold=False)`` returns a cached ``pygame.font.Font``. ``font_path(bold)`` is
also used by Pillow renderers (the ticket raster) so screen and paper share one face.
Falls back to pygame's default font (missing ~128 Vietnamese letters) only when DejaVu
is absent, and logs that once.
"""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from edge.limits import clean_text

log = logging.getLogger(__name__)

_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/local/share/fonts",
    "/usr/share/fonts/TTF",
)
_NAMES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}


#: Longest text a screen draws: longer text (retained state anyone could have filled) is cut
#: before it is fitted, so a 60,000-character name never stalls a render loop.
MAX_SHOWN = 400


def nfc(text: object) -> str:
    """``text`` as an NFC string (precomposed marks render without positioning), without
    control/format characters or lone surrogates, at most MAX_SHOWN characters."""
    return clean_text(str(text), MAX_SHOWN)


@functools.cache
def font_path(bold: bool = False) -> str | None:
    """Path of DejaVu Sans (bold or regular), or None when it is not installed."""
    override = os.environ.get("MOTCUA_FONT_DIR")
    dirs = ((override,) if override else ()) + _DIRS
    for d in dirs:
        p = Path(d) / _NAMES[bold]
        if p.is_file():
            return str(p)
    log.warning("DejaVu Sans %s not found in %s; Vietnamese may render badly",
                "bold" if bold else "regular", dirs)
    return None


@functools.cache
def font(size: int, bold: bool = False):
    """Cached pygame Font of DejaVu Sans at ``size`` pixels."""
    import pygame

    if not pygame.font.get_init():
        pygame.font.init()
    path = font_path(bold)
    f = pygame.font.Font(path, int(size))
    if path is None and bold:
        f.set_bold(True)
    return f
