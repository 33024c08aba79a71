"""The printer backend interface and its errors."""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from printer.status import PrinterStatus

log = logging.getLogger(__name__)


class PrinterUnavailable(Exception):
    """The printer cannot take the job now (unplugged, offline, timeout); retry later."""


class PaperOut(PrinterUnavailable):
    """The printer reports no paper."""


class PrinterBackend(ABC):
    """A way to reach one printer. Not thread-safe: the daemon serialises calls."""

    name = "base"
    can_read_status = True

    @abstractmethod
    def open(self) -> None:
        """Connect (re-enumerating hardware); raise PrinterUnavailable when absent."""

    @abstractmethod
    def close(self) -> None:
        """Release the device; safe to call twice."""

    @abstractmethod
    def write(self, data: bytes, job_id: str) -> None:
        """Send one whole job; raise PrinterUnavailable when it did not go through."""

    @abstractmethod
    def status(self) -> PrinterStatus:
        """Poll the printer's real-time status (unknown fields stay None)."""
