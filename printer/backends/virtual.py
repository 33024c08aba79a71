"""Virtual printer: decodes the ESC/POS it receives and writes ``<output_dir>/<job>.png``.

Its state lives in ``<output_dir>/control.json`` (``{"online": true, "paper": "ok",
"cover_open": false}``) so anything -- the office simulator, a technician, a test -- can
make it run out of paper or go offline, and it behaves like a real printer would: status
polls report it and writes fail with ``PaperOut``/``PrinterUnavailable``.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable

from printer.backends.base import PaperOut, PrinterBackend, PrinterUnavailable
from printer.decode import decode
from printer.layout import PAPER_DOTS
from printer.status import PrinterStatus

log = logging.getLogger(__name__)

DEFAULT_STATE = {"online": True, "paper": "ok", "cover_open": False}


class VirtualPrinter(PrinterBackend):
    name = "virtual"

    def __init__(self, device: Any, output_dir: str | Path | None = None) -> None:
        self.device = device
        self.dots = PAPER_DOTS[getattr(device, "paper_mm", 80)]
        d = output_dir or getattr(device, "output_dir", None)
        self.output_dir: Path | None = Path(d) if d else None
        self.on_first_byte: Callable[[str, float], None] | None = None
        self.last_bytes: bytes = b""
        self.printed: list[str] = []
        self._lock = threading.Lock()

    def set_default_dir(self, data_dir: str | Path) -> None:
        """Where PNGs go when the config names no ``output_dir``: DATA/tickets."""
        if self.output_dir is None:
            self.output_dir = Path(data_dir) / "tickets"

    @property
    def control_file(self) -> Path:
        if self.output_dir is None:
            raise PrinterUnavailable("virtual printer has no output_dir")
        return self.output_dir / "control.json"

    def set_state(self, **state: Any) -> None:
        """Change the simulated state (online, paper ok/low/out, cover_open); persisted."""
        cur = self._state()
        cur.update(state)
        self.control_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.control_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(cur), encoding="utf-8")
        os.replace(tmp, self.control_file)

    def _state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.control_file.read_text(encoding="utf-8"))
            return {**DEFAULT_STATE, **(data if isinstance(data, dict) else {})}
        except FileNotFoundError:
            return dict(DEFAULT_STATE)
        except (OSError, ValueError) as exc:
            log.warning("unreadable %s (%s); assuming a healthy printer", self.control_file, exc)
            return dict(DEFAULT_STATE)

    def open(self) -> None:
        assert self.output_dir is not None, "call set_default_dir or configure output_dir"
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if not self._state()["online"]:
            raise PrinterUnavailable("virtual printer is offline")

    def close(self) -> None:
        pass

    def status(self) -> PrinterStatus:
        s = self._state()
        if not s["online"]:
            return PrinterStatus(online=False, reason="offline")
        paper = s["paper"] if s["paper"] in ("ok", "low", "out") else "unknown"
        cover = bool(s["cover_open"])
        online = not (cover or paper == "out")
        reason = None if online else ("cover_open" if cover else "paper_out")
        return PrinterStatus(online=online, paper=paper, cover_open=cover, reason=reason)

    def write(self, data: bytes, job_id: str) -> None:
        st = self.status()
        if st.online is False and st.reason == "offline":
            raise PrinterUnavailable("virtual printer is offline")
        if st.paper == "out":
            raise PaperOut("virtual printer is out of paper")
        if st.cover_open:
            raise PrinterUnavailable("virtual printer cover is open")
        if self.on_first_byte is not None:
            self.on_first_byte(job_id, time.monotonic())
        with self._lock:
            self.last_bytes = data
            dec = decode(data, self.dots)
            if dec.unknown:
                log.warning("job %s: undecoded bytes %s", job_id, dec.unknown[:5])
            name = re.sub(r"[^A-Za-z0-9._-]", "_", job_id).lstrip(".") or "job"
            assert self.output_dir is not None
            self.output_dir.mkdir(parents=True, exist_ok=True)
            dec.image.save(self.output_dir / f"{name}.png")
            self.printed.append(job_id)
        log.info("virtual printer: job %s (%d bytes) -> %s.png", job_id, len(data), name)
