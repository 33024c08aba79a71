"""Write a Report as XLSX (one sheet per table), CSV (one file per table) and PNG charts.

CSV is UTF-8 with a BOM so that Excel on a Vietnamese Windows opens the diacritics
right; charts use DejaVu Sans, which has every Vietnamese letter.
"""
from __future__ import annotations

import csv
import logging
from pathlib import Path

from edge.reports.stats import LEVEL_VI, LEVELS, Report

log = logging.getLogger(__name__)

SUMMARY_VI = {
    "tickets": "Số phiếu", "done": "Đã phục vụ", "no_show": "Vắng mặt", "cancelled": "Hủy",
    "waiting": "Còn chờ cuối kỳ", "wait_mean_min": "Chờ trung bình (phút)",
    "wait_p90_min": "90% công dân chờ không quá (phút)",
    "service_mean_min": "Phục vụ trung bình (phút)", "service_p90_min": "90% lượt phục vụ xong trong (phút)",
    "ratings": "Số đánh giá", "very_satisfied": "Rất hài lòng", "satisfied": "Hài lòng",
    "unsatisfied": "Không hài lòng", "satisfied_pct": "Tỷ lệ hài lòng (%)",
    "priority_done": "Người được ưu tiên đã phục vụ", "refused_quota": "Không lấy được số: hết số trong ngày",
    "refused_hours": "Không lấy được số: ngoài giờ cấp số", "wait_limit_min": "Ngưỡng chờ lâu (phút)",
    "wait_over_limit_pct": "Tỷ lệ công dân chờ quá ngưỡng (%)",
}

# Sheet names (Excel: at most 31 characters, none of : \ / ? * [ ]), Vietnamese.
SHEETS = {
    "tickets_by_hour": "Phiếu theo giờ", "times_by_service": "Thời gian theo dịch vụ",
    "times_by_counter": "Thời gian theo quầy", "times_by_staff": "Thời gian theo cán bộ",
    "work_by_staff": "Công việc cán bộ", "by_day": "Theo ngày", "satisfaction_by_counter": "Hài lòng theo quầy",
    "satisfaction_by_staff": "Hài lòng theo cán bộ", "satisfaction_by_service": "Hài lòng theo dịch vụ",
    "reasons": "Lý do chưa hài lòng", "comments": "Ý kiến công dân",
    "dossiers_by_field": "Hồ sơ theo lĩnh vực", "dossiers_by_month": "Hồ sơ theo tháng",
    "desk_absence": "Vắng mặt tại bàn làm việc",
}


def sheet_name(name: str, title: str) -> str:
    raw = SHEETS.get(name) or title
    return "".join(" " if ch in ':\\/?*[]' else ch for ch in raw)[:31].strip() or name[:31]


def write_all(report: Report, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [write_xlsx(report, out), *write_csv(report, out), *write_charts(report, out)]


def _stem(report: Report) -> str:
    return f"bao-cao-{report.period.label}"


def write_xlsx(report: Report, out: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Tổng hợp"
    ws.append([f"Báo cáo {report.period.title_vi}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([report.office])
    ws.append([])
    for key, value in report.summary.items():
        ws.append([SUMMARY_VI.get(key, key), value])
    ws.column_dimensions["A"].width = 32
    for table in report.tables:
        sh = wb.create_sheet(sheet_name(table.name, table.title))
        sh.append([table.title])
        sh["A1"].font = Font(bold=True, size=12)
        sh.append(table.columns)
        for cell in sh[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in table.rows:
            sh.append(row)
        for i, col in enumerate(table.columns, start=1):
            width = max([len(str(col))] + [len(str(r[i - 1])) for r in table.rows if r[i - 1] is not None])
            sh.column_dimensions[sh.cell(row=2, column=i).column_letter].width = min(60, max(8, width + 2))
        sh.freeze_panes = "B3"
    path = out / f"{_stem(report)}.xlsx"
    wb.save(path)
    return path


def write_csv(report: Report, out: Path) -> list[Path]:
    folder = out / f"{_stem(report)}-csv"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in [*report.tables]:
        path = folder / f"{table.name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(table.columns)
            w.writerows(["" if v is None else v for v in row] for row in table.rows)
        paths.append(path)
    path = folder / "summary.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Chỉ số", "Giá trị"])
        w.writerows([SUMMARY_VI.get(k, k), "" if v is None else v] for k, v in report.summary.items())
    paths.append(path)
    return paths


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["font.family"] = "DejaVu Sans"
    return plt


def write_charts(report: Report, out: Path) -> list[Path]:
    plt = _pyplot()
    stem = _stem(report)
    paths: list[Path] = []

    hour = report.table("tickets_by_hour")
    if hour.rows[:-1] and len(hour.columns) > 2:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        labels = hour.columns[1:-1]
        bottom = [0] * len(labels)
        for row in hour.rows[:-1]:
            ax.bar(labels, row[1:-1], bottom=bottom, label=row[0])
            bottom = [b + v for b, v in zip(bottom, row[1:-1])]
        ax.set_title(f"Số phiếu theo giờ – {report.period.title_vi}")
        ax.set_ylabel("Số phiếu")
        _whole(ax.yaxis)
        ax.legend(fontsize=8)
        paths.append(_save(fig, out / f"{stem}-phieu-theo-gio.png"))

    for name, title, fname in (("times_by_service", "Thời gian chờ theo dịch vụ", "cho-theo-dich-vu"),
                               ("times_by_counter", "Thời gian chờ theo quầy", "cho-theo-quay")):
        tab = report.table(name)
        if not tab.rows:
            continue
        # Horizontal bars, the figure growing with the rows: 40 counters stay readable.
        fig, ax = plt.subplots(figsize=(9, _height(len(tab.rows))))
        y = list(range(len(tab.rows)))[::-1]
        ax.barh([i + 0.2 for i in y], [r[2] or 0 for r in tab.rows], height=0.4, label="Chờ trung bình")
        ax.barh([i - 0.2 for i in y], [r[3] or 0 for r in tab.rows], height=0.4, label="90% công dân chờ không quá")
        ax.set_yticks(y, [str(r[0]) for r in tab.rows], fontsize=8)
        ax.set_ylim(-0.6, len(tab.rows) - 0.4)
        ax.set_xlabel("Phút")
        ax.set_title(f"{title} – {report.period.title_vi}")
        ax.legend()
        paths.append(_save(fig, out / f"{stem}-{fname}.png"))

    for name, title, fname in (("satisfaction_by_counter", "Mức độ hài lòng theo quầy", "hai-long-theo-quay"),
                               ("satisfaction_by_staff", "Mức độ hài lòng theo cán bộ", "hai-long-theo-can-bo")):
        tab = report.table(name)
        if not tab.rows:
            continue
        fig, ax = plt.subplots(figsize=(9, _height(len(tab.rows))))
        left = [0] * len(tab.rows)
        colours = {"very_satisfied": "#2e7d32", "satisfied": "#9ccc65", "unsatisfied": "#e53935"}
        for i, lv in enumerate(LEVELS):
            vals = [r[1 + i] for r in tab.rows]
            ax.barh([str(r[0]) for r in tab.rows], vals, left=left, label=LEVEL_VI[lv], color=colours[lv])
            left = [a + b for a, b in zip(left, vals)]
        ax.set_xlabel("Số đánh giá")
        _whole(ax.xaxis)
        ax.tick_params(axis="y", labelsize=8)
        ax.invert_yaxis()
        ax.set_title(f"{title} – {report.period.title_vi}")
        ax.legend(fontsize=8)
        paths.append(_save(fig, out / f"{stem}-{fname}.png"))

    reasons = report.table("reasons")
    if reasons.rows:
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.barh([r[0] for r in reasons.rows][::-1], [r[1] for r in reasons.rows][::-1], color="#e53935")
        ax.set_title(f"Lý do không hài lòng – {report.period.title_vi}")
        ax.set_xlabel("Số lần")
        _whole(ax.xaxis)
        paths.append(_save(fig, out / f"{stem}-ly-do.png"))
    return paths


def _whole(axis) -> None:
    """Counts are whole numbers: no 2.5 tickets on an axis."""
    from matplotlib.ticker import MaxNLocator
    axis.set_major_locator(MaxNLocator(integer=True))


def _height(rows: int) -> float:
    """Inches for a horizontal bar chart of `rows` bars (about 0.3 in a bar, 4.5 at least)."""
    return max(4.5, 1.5 + 0.3 * rows)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt
    plt.close(fig)
    return path
