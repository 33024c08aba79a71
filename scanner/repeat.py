"""Drops repeats: a reader sends one code many times while the receipt is held under it."""
from __future__ import annotations

import threading
import time
from typing import Callable


class RepeatFilter:
    """`accept(code)` is False for a code already accepted less than `window_s` ago.

    The window restarts on each accepted read only, so a receipt held under a camera for
    a minute is reported once per window, not once ever.
    """

    def __init__(self, window_s: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._now = monotonic
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def accept(self, code: str) -> bool:
        now = self._now()
        with self._lock:
            if len(self._seen) > 256:
                self._seen = {c: t for c, t in self._seen.items() if now - t < self.window_s}
            last = self._seen.get(code)
            if last is not None and now - last < self.window_s:
                return False
            self._seen[code] = now
            return True
