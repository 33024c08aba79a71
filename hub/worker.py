"""A named background thread that runs one step, then sleeps until its wait ends or it is woken."""
from __future__ import annotations

import logging
import random
import threading

log = logging.getLogger(__name__)


def backoff(attempts: int, base: float = 1.0, cap: float = 300.0) -> float:
    """Capped exponential backoff with jitter: base * 2^(attempts-1), at most cap, times 0.5-1."""
    return min(cap, base * 2 ** min(max(attempts - 1, 0), 20)) * random.uniform(0.5, 1.0)


class Worker:
    """Subclasses implement ``step() -> seconds to wait``; ``wake()`` cuts the wait short."""

    def __init__(self, name: str) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def step(self) -> float:
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.step()
            except Exception:  # a bug in one pass must not end the thread
                log.exception("%s: pass failed", self._thread.name)
                wait = 5.0
            self._wake.wait(wait)
            self._wake.clear()
