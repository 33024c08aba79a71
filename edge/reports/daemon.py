"""The `reports` daemon: writes each working day's report after closing time (edge.reports.auto)."""
from __future__ import annotations

from edge.daemon import DaemonContext
from edge.reports.auto import DailyReporter


def create(ctx: DaemonContext) -> DailyReporter:
    return DailyReporter(ctx.cfg, ctx.data_dir, ctx.clock)
