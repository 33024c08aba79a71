"""Vietnamese text without its marks: search keys and ASCII transliteration.

Citizens type "dang ky khai sinh" on keyboards without Vietnamese input, and many LED
boards have only ASCII glyphs. Both need the same folding: drop tone and shape marks,
and turn đ/Đ into d/D (đ is a letter of its own in Unicode, so NFD alone keeps it).
"""
from __future__ import annotations

import re
import unicodedata

_D = str.maketrans({"đ": "d", "Đ": "D"})
_WORD = re.compile(r"\w+")


def ascii_text(text: str) -> str:
    """'Mời số 2005 đến quầy 3' -> 'Moi so 2005 den quay 3' (case kept, other non-ASCII dropped)."""
    base = unicodedata.normalize("NFD", str(text).translate(_D))
    out = "".join(c for c in base if not unicodedata.combining(c))
    return "".join(c for c in unicodedata.normalize("NFC", out) if c.isascii())


def fold(text: str) -> str:
    """Search key: lower case, no marks, words separated by one space."""
    return " ".join(_WORD.findall(ascii_text(text).lower()))
