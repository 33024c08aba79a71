"""DLE EOT status bytes, validated: an empty or malformed answer is *unknown*, never "fine".

python-escpos 3.1 reads an empty reply as "paper adequate"; we check the fixed bits of
every status byte (bit 0 = 0, bit 1 = 1, bit 4 = 1, bit 7 = 0, i.e. ``b & 0x93 == 0x12``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

Paper = Literal["ok", "low", "out", "unknown"]


def valid(b: int | None) -> bool:
    """True when ``b`` has the fixed-bit pattern of a real-time status byte."""
    return b is not None and (b & 0x93) == 0x12


@dataclass(frozen=True)
class PrinterStatus:
    """What we know about the printer; ``None`` fields are unknown."""

    online: bool | None = None
    paper: Paper = "unknown"
    cover_open: bool | None = None
    reason: str | None = None  # why it is offline, when we know

    @property
    def state(self) -> str:
        """Device-status state: error blocks issuing, warning does not."""
        if self.online is False or self.paper == "out" or self.cover_open:
            return "error"
        if self.paper in ("low", "unknown") or self.online is None:
            return "warning"
        return "ok"

    @property
    def problem(self) -> str | None:
        """Short machine code of the blocking problem, for kiosks: offline, paper_out, cover_open."""
        if self.online is False and self.reason in (None, "offline"):
            return "offline"
        if self.paper == "out":
            return "paper_out"
        if self.cover_open:
            return "cover_open"
        if self.online is False:
            return self.reason or "offline"
        return None

    def detail(self) -> dict:
        d: dict = {"printer": "online" if self.online else ("offline" if self.online is False else "unknown"),
                   "paper": self.paper}
        if self.cover_open is not None:
            d["cover_open"] = self.cover_open
        if self.problem:
            d["problem"] = self.problem
        return d


def parse(printer: int | None, offline: int | None, paper: int | None) -> PrinterStatus:
    """Combine the answers to DLE EOT 1, 2 and 4 (None: no answer)."""
    online: bool | None = None
    cover: bool | None = None
    pap: Paper = "unknown"
    reason = None
    if valid(printer):
        online = not bool(printer & 0x08)
    if valid(offline):
        cover = bool(offline & 0x04)
        if offline & 0x20:
            pap = "out"
    if valid(paper):
        if paper & 0x60:
            pap = "out"
        elif paper & 0x0C:
            pap = "low"
        elif pap != "out":
            pap = "ok"
    if online is False:
        reason = "cover_open" if cover else ("paper_out" if pap == "out" else "offline")
    if printer is None and offline is None and paper is None:
        # connected but silent (many network/serial printers never answer DLE EOT): unknown,
        # reported as a warning -- not "fine", and not a reason to stop issuing tickets
        return PrinterStatus()
    return PrinterStatus(online=online, paper=pap, cover_open=cover, reason=reason)
