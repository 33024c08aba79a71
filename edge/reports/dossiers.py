"""The dossier part of a report: the hub's day figures per field, summed over the period.

Read-only from DATA/hub/hub.sqlite (``dossier_days``, kept by the hub: hub/figures.py), so a
report of six months or a year costs one grouped query. Tables: per field, and per month
when the period spans more than one; a chart per field. Absent hub file: nothing added.
"""
from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from edge.reports import write
from edge.reports.stats import Period, Report, Table
from hub.figures import read, read_months

log = logging.getLogger(__name__)

COLUMNS = ["Tiếp nhận", "Trực tuyến", "Trực tiếp", "Bưu chính", "Giải quyết xong", "Đúng hạn", "Trễ hạn",
           "Tỷ lệ đúng hạn (%)", "Đã trả kết quả", "Yêu cầu bổ sung"]
SUMMARY_VI = {
    "dossiers_received": "Hồ sơ tiếp nhận", "dossiers_online": "Hồ sơ nộp trực tuyến",
    "dossiers_finished": "Hồ sơ giải quyết xong", "dossiers_on_time": "Hồ sơ đúng hạn",
    "dossiers_late": "Hồ sơ trễ hạn", "dossiers_on_time_pct": "Tỷ lệ hồ sơ đúng hạn (%)",
    "dossiers_returned": "Hồ sơ đã trả kết quả", "dossiers_asked_documents": "Hồ sơ yêu cầu bổ sung",
}
write.SUMMARY_VI.update(SUMMARY_VI)    # the summary sheet and CSV label these lines too


def _row(key: str, f: dict[str, int]) -> list[Any]:
    pct = round(100 * f["on_time"] / f["finished"], 1) if f["finished"] else None
    return [key, f["received"], f["online"], f["counter"], f["post"], f["finished"], f["on_time"], f["late"],
            pct, f["returned"], f["asked_documents"]]


def _total(groups: dict[str, dict[str, int]]) -> dict[str, int]:
    keys = ("received", "online", "counter", "post", "finished", "on_time", "late", "returned", "asked_documents")
    return {k: sum(g[k] for g in groups.values()) for k in keys}


def open_hub(path: Path) -> sqlite3.Connection | None:
    """The hub's file read-only, or None when this office has no hub (or it has no figures yet)."""
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.execute("PRAGMA busy_timeout = 5000")
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'dossier_days'").fetchone():
        conn.close()
        return None
    return conn


def add_dossiers(report: Report, hub_db: Path) -> bool:
    """Append the dossier tables and summary lines to ``report``; False when there is no hub file."""
    conn = open_hub(hub_db)
    if conn is None:
        return False
    p: Period = report.period
    start, end = f"{p.start:%Y%m%d}", f"{p.end:%Y%m%d}"
    try:
        by_field = read(conn, start, end)
        by_month = read_months(conn, start, end)
    finally:
        conn.close()
    t_field = Table("dossiers_by_field", "Hồ sơ theo lĩnh vực", ["Lĩnh vực"] + COLUMNS,
                    [_row(k, v) for k, v in by_field.items()])
    total = _total(by_field)
    t_field.rows.append(_row("Tổng", total))
    report.tables.append(t_field)
    if len(by_month) > 1 or (p.start.year, p.start.month) != (p.end.year, p.end.month):
        t_month = Table("dossiers_by_month", "Hồ sơ theo tháng", ["Tháng"] + COLUMNS,
                        [_row(f"{k[4:]}/{k[:4]}", v) for k, v in by_month.items()])
        report.tables.append(t_month)
    report.summary.update({
        "dossiers_received": total["received"], "dossiers_online": total["online"],
        "dossiers_finished": total["finished"], "dossiers_on_time": total["on_time"], "dossiers_late": total["late"],
        "dossiers_on_time_pct": round(100 * total["on_time"] / total["finished"], 1) if total["finished"] else None,
        "dossiers_returned": total["returned"], "dossiers_asked_documents": total["asked_documents"],
    })
    return True


def write_charts(report: Report, out: Path) -> list[Path]:
    """Dossiers per field (received, on time, late), and per month for long periods."""
    names = {t.name for t in report.tables}
    if "dossiers_by_field" not in names:
        return []
    plt = write._pyplot()
    paths = []
    for name, title, fname in (("dossiers_by_field", "Hồ sơ theo lĩnh vực", "ho-so-theo-linh-vuc"),
                               ("dossiers_by_month", "Hồ sơ theo tháng", "ho-so-theo-thang")):
        if name not in names:
            continue
        rows = [r for r in report.table(name).rows if r[0] != "Tổng"]
        if not rows:
            continue
        fig, ax = plt.subplots(figsize=(10, 4.8))
        x = list(range(len(rows)))
        ax.bar([i - 0.27 for i in x], [r[1] for r in rows], width=0.27, label="Tiếp nhận", color="#1565c0")
        ax.bar([i for i in x], [r[6] for r in rows], width=0.27, label="Giải quyết đúng hạn", color="#2e7d32")
        ax.bar([i + 0.27 for i in x], [r[7] for r in rows], width=0.27, label="Giải quyết trễ hạn", color="#e53935")
        ax.set_xticks(x, [str(r[0]) for r in rows], rotation=15, fontsize=8)
        ax.set_ylabel("Số hồ sơ")
        ax.set_ylim(0, max([r[1] for r in rows] + [1]) * 1.25)    # room for the legend above the bars
        ax.set_title(f"{title} – {report.period.title_vi}")
        ax.legend(fontsize=8, ncols=3, loc="upper center")
        paths.append(write._save(fig, out / f"{write._stem(report)}-{fname}.png"))
    return paths
