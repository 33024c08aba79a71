"""HID barcode readers are keyboards: turn evdev key events into text, code by code.

A US-layout table of (plain, shifted) characters per key code; both shift keys are
tracked, caps lock toggles letters, only key-down counts, Enter ends a code. A long pause
between two keys (the reader sends a whole code in a few ms) drops a half-typed code, so
a stray key press never prefixes the next receipt.
"""
from __future__ import annotations

import logging
from typing import Any

from evdev import ecodes as e

log = logging.getLogger(__name__)

EV_KEY = e.EV_KEY
KEY_DOWN = 1

_PAIRS: dict[int, tuple[str, str]] = {
    e.KEY_1: ("1", "!"), e.KEY_2: ("2", "@"), e.KEY_3: ("3", "#"), e.KEY_4: ("4", "$"),
    e.KEY_5: ("5", "%"), e.KEY_6: ("6", "^"), e.KEY_7: ("7", "&"), e.KEY_8: ("8", "*"),
    e.KEY_9: ("9", "("), e.KEY_0: ("0", ")"), e.KEY_MINUS: ("-", "_"), e.KEY_EQUAL: ("=", "+"),
    e.KEY_LEFTBRACE: ("[", "{"), e.KEY_RIGHTBRACE: ("]", "}"), e.KEY_BACKSLASH: ("\\", "|"),
    e.KEY_SEMICOLON: (";", ":"), e.KEY_APOSTROPHE: ("'", '"'), e.KEY_GRAVE: ("`", "~"),
    e.KEY_COMMA: (",", "<"), e.KEY_DOT: (".", ">"), e.KEY_SLASH: ("/", "?"),
    e.KEY_SPACE: (" ", " "), e.KEY_TAB: ("\t", "\t"),
    e.KEY_KP0: ("0", "0"), e.KEY_KP1: ("1", "1"), e.KEY_KP2: ("2", "2"), e.KEY_KP3: ("3", "3"),
    e.KEY_KP4: ("4", "4"), e.KEY_KP5: ("5", "5"), e.KEY_KP6: ("6", "6"), e.KEY_KP7: ("7", "7"),
    e.KEY_KP8: ("8", "8"), e.KEY_KP9: ("9", "9"), e.KEY_KPDOT: (".", "."),
    e.KEY_KPMINUS: ("-", "-"), e.KEY_KPPLUS: ("+", "+"), e.KEY_KPSLASH: ("/", "/"),
    e.KEY_KPASTERISK: ("*", "*"),
}
for _ch in "abcdefghijklmnopqrstuvwxyz":
    _PAIRS[getattr(e, f"KEY_{_ch.upper()}")] = (_ch, _ch.upper())
LETTERS = frozenset(getattr(e, f"KEY_{c}") for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
SHIFTS = frozenset({e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT})
ENTERS = frozenset({e.KEY_ENTER, e.KEY_KPENTER})


class KeyDecoder:
    """Feed evdev events one by one; `feed` returns a finished code at Enter, else None."""

    def __init__(self, max_gap_s: float = 0.5, max_len: int = 2048) -> None:
        self.max_gap_s = max_gap_s
        self.max_len = max_len
        self._buf: list[str] = []
        self._shift: set[int] = set()
        self._caps = False
        self._last: float | None = None
        self.dropped = 0  # half codes dropped after a pause or an overflow

    def reset(self) -> None:
        """Forget a half-typed code and the modifiers (after an unplug)."""
        self._buf.clear()
        self._shift.clear()
        self._last = None

    def feed(self, ev: Any) -> str | None:
        if ev.type != EV_KEY:
            return None
        code, value = ev.code, ev.value
        if code in SHIFTS:
            if value:
                self._shift.add(code)
            else:
                self._shift.discard(code)
            return None
        if value != KEY_DOWN:  # key-up (0) and autorepeat (2)
            return None
        t = ev.sec + ev.usec / 1e6
        if self._buf and self._last is not None and t - self._last > self.max_gap_s:
            # the length only: a half code may be part of a citizen ID card (never logged)
            log.debug("dropping a half code of %d characters after a %.2f s pause", len(self._buf), t - self._last)
            self._buf.clear()
            self.dropped += 1
        self._last = t
        if code == e.KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in ENTERS:
            text, self._buf = "".join(self._buf), []
            return text or None
        pair = _PAIRS.get(code)
        if pair is None:
            return None
        upper = bool(self._shift)
        if code in LETTERS and self._caps:
            upper = not upper
        if len(self._buf) >= self.max_len:
            self._buf.clear()
            self.dropped += 1
        self._buf.append(pair[1] if upper else pair[0])
        return None


def symbology_of(code: str) -> str:
    """HID readers do not say what they read: a URL is a QR code, the rest Code 128."""
    return "qrcode" if "://" in code else "code128"
