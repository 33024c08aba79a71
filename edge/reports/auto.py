"""The daily report, written automatically once the office has closed for the day.

`DailyReporter` is a small thread (started by the engine daemon or the supervisor): after
the day's last opening span ends plus `delay_s`, it writes that day's report under
DATA/reports/ unless it exists already, so a restart never writes it twice and a daemon
that was down at closing time catches up when it comes back.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path

from edge.clock import Clock
from edge.config import OfficeConfig
from edge.reports.cli import make_report
from edge.reports.stats import Period, open_readonly

log = logging.getLogger(__name__)


class DailyReporter:
    def __init__(self, cfg: OfficeConfig, data: Path, clock: Clock, delay_s: float = 1800,
                 poll_s: float = 60) -> None:
        self.cfg = cfg
        self.data = Path(data)
        self.out = self.data / "reports"
        self.clock = clock
        self.delay = timedelta(seconds=delay_s)
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="daily-report", daemon=True)

    def closing(self, day) -> datetime | None:
        """When the office closes on `day` (None on a closed day)."""
        if day in self.cfg.office.holidays:
            return None
        spans = self.cfg.office.hours.spans(day.weekday())
        if not spans:
            return None
        end = max(s.end for s in spans)
        return datetime.combine(day, end, tzinfo=self.cfg.office.tz)

    def due(self, now: datetime) -> list:
        """Days (today and the 7 before) closed long enough ago whose report is missing."""
        days = []
        for back in range(7, -1, -1):
            day = now.date() - timedelta(days=back)
            close = self.closing(day)
            if close is None or now < close + self.delay:
                continue
            if not (self.out / f"bao-cao-{day.isoformat()}.xlsx").exists():
                days.append(day)
        return days

    def run_once(self) -> list[Path]:
        written: list[Path] = []
        db = self.data / "engine" / "engine.db"
        if not db.exists():
            return written
        conn = open_readonly(db)
        try:
            due = [d for d in self.due(self.clock.now())
                   if conn.execute("SELECT 1 FROM tickets WHERE day = ? LIMIT 1", (d.isoformat(),)).fetchone()]
        finally:
            conn.close()
        for day in due:  # only days with tickets: a day the office did not work has no report
            try:
                written += make_report(self.cfg, self.data, Period.day(day), self.out)
                log.info("daily report for %s written to %s", day, self.out)
            except Exception:  # noqa: BLE001 - a report failure must not stop the engine
                log.exception("daily report for %s failed", day)
        return written

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            self.run_once()  # at once on start: catches up a day missed while down
            if self._stop.wait(self.poll_s):
                return
