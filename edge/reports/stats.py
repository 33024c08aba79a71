"""Statistics of a period (day, ISO week, month) from the engine's SQLite, read-only.

Each table is a `Table` (title, column headers, rows) so the XLSX, CSV and chart writers
share one shape. Wait = called_at - issued_at of every called ticket; service time =
finished_at - called_at of every `done` ticket; p90 by the nearest-rank method.
"""
from __future__ import annotations

import calendar
import json
import math
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

LEVELS = ("very_satisfied", "satisfied", "unsatisfied")
LEVEL_VI = {"very_satisfied": "Rất hài lòng", "satisfied": "Hài lòng", "unsatisfied": "Không hài lòng"}


@dataclass(frozen=True)
class Period:
    kind: str  # day | week | month | half | year | span
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            y, w, _ = self.start.isocalendar()
            return f"{y}-W{w:02d}"
        if self.kind == "half":
            return f"{self.start.year}-H{1 if self.start.month == 1 else 2}"
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "span":
            return f"{self.start.isoformat()}_{self.end.isoformat()}"
        if self.kind == "range":
            return f"{self.start.isoformat()}--{self.end.isoformat()}"
        return f"{self.start:%Y-%m}"

    @property
    def title_vi(self) -> str:
        if self.kind == "day":
            return f"Ngày {self.start:%d/%m/%Y}"
        if self.kind == "week":
            return f"Tuần {self.start:%d/%m} – {self.end:%d/%m/%Y}"
        if self.kind == "half":
            return f"{'6 tháng đầu năm' if self.start.month == 1 else '6 tháng cuối năm'} {self.start.year}"
        if self.kind == "year":
            return f"Năm {self.start.year}"
        if self.kind in ("span", "range"):
            return f"Từ {self.start:%d/%m/%Y} đến {self.end:%d/%m/%Y}"
        return f"Tháng {self.start:%m/%Y}"

    @classmethod
    def day(cls, d: date) -> "Period":
        return cls("day", d, d)

    @classmethod
    def week(cls, d: date) -> "Period":
        start = d - timedelta(days=d.weekday())
        return cls("week", start, start + timedelta(days=6))

    @classmethod
    def range(cls, start: date, end: date) -> "Period":
        """Any span of days (six months, a year, a chosen range), both ends included."""
        if end < start:
            raise ValueError(f"the range ends ({end}) before it starts ({start})")
        return cls("range", start, end)

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        last = calendar.monthrange(year, month)[1]
        return cls("month", date(year, month, 1), date(year, month, last))

    @classmethod
    def half(cls, year: int, half: int) -> "Period":
        """The six-monthly report: H1 is January-June, H2 July-December."""
        if half not in (1, 2):
            raise ValueError(f"half {half} is not 1 or 2")
        return cls("half", date(year, 1 if half == 1 else 7, 1), date(year, 6, 30) if half == 1 else date(year, 12, 31))

    @classmethod
    def year(cls, year: int) -> "Period":
        return cls("year", date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def span(cls, start: date, end: date) -> "Period":
        if end < start:
            raise ValueError(f"{end} is before {start}")
        return cls("span", start, end)


@dataclass
class Table:
    name: str  # file-safe name (CSV file, sheet)
    title: str  # Vietnamese title
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Report:
    office: str
    period: Period
    tables: list[Table]
    summary: dict[str, Any]

    def table(self, name: str) -> Table:
        """The table called ``name`` (an empty one when this report has none: e.g. no engine data)."""
        return next((t for t in self.tables if t.name == name), Table(name, "", []))


def open_readonly(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no engine database (is --data the office's data folder?)")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def p90(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _minutes(v: float | None) -> float | None:
    return None if v is None else round(v / 60, 1)


def _seconds(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def _timing_rows(groups: dict[Any, dict[str, list[float]]], keys: Iterable[Any]) -> list[list[Any]]:
    rows = []
    for k in keys:
        g = groups[k]
        rows.append([k, len(g["wait"]), _minutes(mean(g["wait"])), _minutes(p90(g["wait"])),
                     len(g["service"]), _minutes(mean(g["service"])), _minutes(p90(g["service"])),
                     g["no_show"]])
    return rows


def dmy(day: str) -> str:
    """2026-11-23 -> 23/11/2026, as a Vietnamese reader writes dates."""
    return date.fromisoformat(day).strftime("%d/%m/%Y")


def build(conn: sqlite3.Connection, period: Period, office: str = "",
          service_names: dict[str, str] | None = None, counter_names: dict[int, str] | None = None,
          wait_limit_min: int = 30) -> Report:
    names = service_names or {}
    cnames = counter_names or {}
    days = (period.start.isoformat(), period.end.isoformat())
    tickets = conn.execute("SELECT * FROM tickets WHERE day BETWEEN ? AND ? ORDER BY issued_at", days).fetchall()
    has_ratings = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'ratings'").fetchone()
    ratings = conn.execute("SELECT * FROM ratings WHERE day BETWEEN ? AND ?", days).fetchall() if has_ratings else []

    def svc(code: str) -> str:
        return f"{code} - {names[code]}" if code in names else code

    def ctr(n: int | None) -> str:
        return cnames.get(n, f"Quầy {n}") if n is not None else "—"

    services = sorted({t["service"] for t in tickets} | {r["service"] for r in ratings})
    hours = sorted({datetime.fromisoformat(t["issued_at"]).hour for t in tickets})
    by_hour: dict[tuple[str, int], int] = Counter(
        (t["service"], datetime.fromisoformat(t["issued_at"]).hour) for t in tickets)
    t_hour = Table("tickets_by_hour", "Số phiếu theo dịch vụ và giờ lấy số",
                   ["Dịch vụ"] + [f"{h:02d}h" for h in hours] + ["Tổng"])
    for s in services:
        counts = [by_hour.get((s, h), 0) for h in hours]
        t_hour.rows.append([svc(s)] + counts + [sum(counts)])
    t_hour.rows.append(["Tổng"] + [sum(by_hour.get((s, h), 0) for s in services) for h in hours] + [len(tickets)])

    per: dict[str, dict[Any, dict[str, Any]]] = {
        k: defaultdict(lambda: {"wait": [], "service": [], "no_show": 0}) for k in ("service", "counter", "staff")}
    for t in tickets:
        keys = {"service": svc(t["service"]), "counter": ctr(t["counter"]) if t["counter"] else None,
                "staff": t["staff"] or None}
        wait = _seconds(t["issued_at"], t["called_at"])
        served = _seconds(t["called_at"], t["finished_at"]) if t["status"] == "done" else None
        for dim, key in keys.items():
            if key is None or (dim != "service" and wait is None):
                continue
            g = per[dim][key]
            if wait is not None:
                g["wait"].append(wait)
            if served is not None:
                g["service"].append(served)
            if t["status"] == "no_show":
                g["no_show"] += 1
    timing_cols = ["Số phiếu đã gọi", "Chờ trung bình (phút)", "90% chờ không quá (phút)", "Số phiếu đã phục vụ",
                   "Phục vụ trung bình (phút)", "90% phục vụ xong trong (phút)", "Vắng mặt"]
    t_svc = Table("times_by_service", "Thời gian chờ và phục vụ theo dịch vụ", ["Dịch vụ"] + timing_cols,
                  _timing_rows(per["service"], [svc(s) for s in services]))
    t_ctr = Table("times_by_counter", "Thời gian chờ và phục vụ theo quầy", ["Quầy"] + timing_cols,
                  _timing_rows(per["counter"], sorted(per["counter"])))
    t_staff = Table("times_by_staff", "Thời gian chờ và phục vụ theo cán bộ", ["Cán bộ"] + timing_cols,
                    _timing_rows(per["staff"], sorted(per["staff"])))

    status = Counter(t["status"] for t in tickets)
    t_day = Table("by_day", "Theo ngày", ["Ngày", "Số phiếu", "Đã phục vụ", "Vắng mặt", "Hủy", "Còn chờ"])
    for d in sorted({t["day"] for t in tickets}):
        ds = Counter(t["status"] for t in tickets if t["day"] == d)
        t_day.rows.append([dmy(d), sum(ds.values()), ds["done"], ds["no_show"], ds["cancelled"], ds["waiting"]])

    sat_cols = [LEVEL_VI[lv] for lv in LEVELS] + ["Số đánh giá", "Tỷ lệ hài lòng (%)", "Lý do không hài lòng"]

    def sat_table(name: str, title: str, head: str, keyf) -> Table:
        groups: dict[str, list[sqlite3.Row]] = defaultdict(list)
        for r in ratings:
            groups[keyf(r)].append(r)
        tab = Table(name, title, [head] + sat_cols)
        for k in sorted(groups):
            rs = groups[k]
            lv = Counter(r["level"] for r in rs)
            reasons = Counter(x for r in rs if r["level"] == "unsatisfied" for x in json.loads(r["reasons"]))
            pct = round(100 * (lv["very_satisfied"] + lv["satisfied"]) / len(rs), 1)
            tab.rows.append([k] + [lv[x] for x in LEVELS] + [len(rs), pct,
                            "; ".join(f"{reason} ({n})" for reason, n in reasons.most_common())])
        return tab

    s_ctr = sat_table("satisfaction_by_counter", "Mức độ hài lòng theo quầy", "Quầy", lambda r: ctr(r["counter"]))
    s_staff = sat_table("satisfaction_by_staff", "Mức độ hài lòng theo cán bộ", "Cán bộ", lambda r: r["staff"] or "—")
    s_svc = sat_table("satisfaction_by_service", "Mức độ hài lòng theo dịch vụ", "Dịch vụ", lambda r: svc(r["service"]))
    reasons = Counter(x for r in ratings if r["level"] == "unsatisfied" for x in json.loads(r["reasons"]))
    t_reasons = Table("reasons", "Lý do không hài lòng", ["Lý do", "Số lần"], [[k, n] for k, n in reasons.most_common()])
    t_comments = Table("comments", "Ý kiến của công dân", ["Ngày", "Quầy", "Cán bộ", "Dịch vụ", "Số", "Mức", "Lý do", "Ý kiến"],
                       [[dmy(r["day"]), ctr(r["counter"]), r["staff"], svc(r["service"]), r["number"], LEVEL_VI[r["level"]],
                         "; ".join(json.loads(r["reasons"])), r["comment"]]
                        for r in sorted(ratings, key=lambda r: r["submitted_at"]) if r["comment"] or r["level"] == "unsatisfied"])

    waits = [w for t in tickets if (w := _seconds(t["issued_at"], t["called_at"])) is not None]
    served = [s for t in tickets if t["status"] == "done" and (s := _seconds(t["called_at"], t["finished_at"])) is not None]
    lv_all = Counter(r["level"] for r in ratings)
    summary = {
        "tickets": len(tickets), "done": status["done"], "no_show": status["no_show"],
        "cancelled": status["cancelled"], "waiting": status["waiting"],
        "wait_mean_min": _minutes(mean(waits)), "wait_p90_min": _minutes(p90(waits)),
        "service_mean_min": _minutes(mean(served)), "service_p90_min": _minutes(p90(served)),
        "ratings": len(ratings), **{lv: lv_all[lv] for lv in LEVELS},
        "satisfied_pct": round(100 * (lv_all["very_satisfied"] + lv_all["satisfied"]) / len(ratings), 1) if ratings else None,
        "priority_done": sum(1 for t in tickets if t["status"] == "done" and t["priority"] != "none"),
        **refusals(conn, days),
        "wait_limit_min": wait_limit_min,
        "wait_over_limit_pct": round(100 * sum(1 for w in waits if w > wait_limit_min * 60) / len(waits), 1)
        if waits else None,
    }
    t_work = staff_work(conn, tickets, days, ctr)
    tables = [t_hour, t_svc, t_ctr, t_staff, t_work, t_day, s_ctr, s_staff, s_svc, t_reasons, t_comments]
    return Report(office, period, tables, summary)


def refusals(conn: sqlite3.Connection, days: tuple[str, str]) -> dict[str, int]:
    """Citizens turned away: no ticket because the quota was reached, or outside the hours."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'refusals'").fetchone():
        return {"refused_quota": 0, "refused_hours": 0}
    got = dict(conn.execute("SELECT code, COUNT(*) FROM refusals WHERE day BETWEEN ? AND ? GROUP BY code", days).fetchall())
    return {"refused_quota": got.get("quota_reached", 0), "refused_hours": got.get("service_closed", 0)}


def staff_work(conn: sqlite3.Connection, tickets: list[sqlite3.Row], days: tuple[str, str], ctr) -> Table:
    """Per signed-in clerk: sign-ins, time at the counter, tickets called / served / no-show / transferred.

    Comes from the engine's attribution columns (who called, who ended, who transferred each
    ticket) and its counter_sessions (who opened which counter when); an engine database from
    before those columns gives an empty table.
    """
    tab = Table("work_by_staff", "Công việc theo cán bộ đăng nhập",
                ["Cán bộ", "Tài khoản", "Quầy", "Lần đăng nhập", "Thời gian mở quầy (phút)", "Đã gọi",
                 "Đã phục vụ", "Vắng mặt", "Đã chuyển"])
    cols = {r[1] for r in conn.execute("PRAGMA table_info(calls)")}
    if "staff_login" not in cols:
        return tab
    names: dict[str, str] = {}
    g: dict[str, dict[str, Any]] = defaultdict(lambda: {"counters": set(), "sessions": 0, "open_s": 0.0,
                                                        "called": 0, "done": 0, "no_show": 0, "transferred": 0})
    has_sessions = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'counter_sessions'").fetchone()
    sessions = conn.execute("SELECT * FROM counter_sessions WHERE day BETWEEN ? AND ? AND staff_login IS NOT NULL",
                            days).fetchall() if has_sessions else []
    for r in sessions:
        w = g[r["staff_login"]]
        names.setdefault(r["staff_login"], r["staff"] or r["staff_login"])
        w["sessions"] += 1
        w["counters"].add(r["counter"])
        if r["closed_at"]:
            w["open_s"] += max(0.0, _seconds(r["opened_at"], r["closed_at"]) or 0.0)
    for t in tickets:
        if t["staff_login"] and t["staff"]:
            names.setdefault(t["staff_login"], t["staff"])
        if t["ended_by"] and t["status"] in ("done", "no_show"):
            g[t["ended_by"]][t["status"]] += 1
        if t["transferred_by"]:
            g[t["transferred_by"]]["transferred"] += 1
    # every call (a transferred ticket is called again by someone else), from the calls log
    for r in conn.execute("SELECT c.staff_login FROM calls c JOIN tickets t ON t.ticket_id = c.ticket_id "
                          "WHERE c.kind = 'call' AND c.staff_login IS NOT NULL AND t.day BETWEEN ? AND ?", days):
        g[r[0]]["called"] += 1
    for login in sorted(g, key=lambda k: names.get(k, k)):
        w = g[login]
        tab.rows.append([names.get(login, login), login, ", ".join(ctr(c) for c in sorted(w["counters"])),
                         w["sessions"], _minutes(w["open_s"]), w["called"], w["done"], w["no_show"],
                         w["transferred"]])
    return tab
