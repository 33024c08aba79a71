"""Bounds on what one requester or one text may cost: a token bucket per broker identity,
and people-facing text made safe (no control characters, bounded length) before anything
stores, shows or fits it."""
from __future__ import annotations

import re
import threading
import time
import unicodedata


class RateLimiter:
    """A token bucket per device: ``per_min`` lookups a minute, bursts up to ``per_min``."""

    def __init__(self, per_min: int) -> None:
        self.rate = per_min / 60.0
        self.burst = float(per_min)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, device: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(device, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[device] = (tokens, now)
                return False
            self._buckets[device] = (tokens - 1.0, now)
            return True


#: Unicode categories never shown to people: controls (NUL, ESC of ANSI codes), format
#: characters (the RTL override U+202E, zero-width joiners), lone surrogates, unassigned.
_HIDDEN = ("Cc", "Cf", "Cs", "Co", "Cn")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")


def clean_text(text: str, limit: int, *, newlines: bool = True) -> str:
    """`text` NFC, without control/format characters, ANSI escapes or lone surrogates (tabs
    become spaces; newlines too unless `newlines`), at most `limit` characters (an ellipsis
    marks a cut)."""
    if len(text) > limit * 4:  # never walk a huge string character by character
        text = text[: limit * 4]
    text = _ANSI.sub("", text)
    keep = "\n" if newlines else ""
    out = "".join(ch if ch in keep else " " if ch in "\t\n\r" else ch for ch in text
                  if ch in "\t\n\r" or unicodedata.category(ch) not in _HIDDEN)
    out = unicodedata.normalize("NFC", out)
    return out if len(out) <= limit else out[: max(limit - 1, 0)] + "…"
