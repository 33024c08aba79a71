"""When a service issues tickets next, and the office's ticket hours as a citizen reads them.

The kiosk knows the configuration, so a closed service or a reached quota can say "come back
at 13:30 today" instead of just "closed"; an all-closed kiosk shows the week's hours.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from edge.config.model import OfficeConfig, Service, WeekSchedule

DAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LOOKAHEAD_DAYS = 31  # a long holiday (Tết) still finds the next working day


def next_opening(cfg: OfficeConfig, svc: Service, now: datetime, not_today: bool = False) -> datetime | None:
    """Start of the service's next ticket window after `now` (from tomorrow with `not_today`,
    as after a reached quota); None for a switched-off service or a week with no window."""
    if not svc.enabled:
        return None
    week = cfg.windows_for(svc)
    tz = now.tzinfo
    for add in range(1 if not_today else 0, LOOKAHEAD_DAYS + 1):
        day = now.date() + timedelta(days=add)
        if day in cfg.office.holidays:
            continue
        for span in sorted(week.spans(day.weekday()), key=lambda s: s.start):
            start = datetime.combine(day, span.start, tz)
            if start > now:
                return start
    return None


def when_text(lang: str, at: datetime, now: datetime) -> str:
    """'13:30 hôm nay' / '07:30 ngày mai (Thứ Ba, 24/11/2026)' / '07:30 Thứ Hai, 30/11/2026'."""
    hm = at.strftime("%H:%M")
    days = (at.date() - now.date()).days
    dmy = at.strftime("%d/%m/%Y")
    if lang == "en":
        name = DAYS_EN[at.weekday()]
        return {0: f"{hm} today", 1: f"{hm} tomorrow ({name}, {dmy})"}.get(days, f"{hm} on {name}, {dmy}")
    name = DAYS_VI[at.weekday()]
    return {0: f"{hm} hôm nay", 1: f"{hm} ngày mai ({name}, {dmy})"}.get(days, f"{hm} {name}, {dmy}")


def week_lines(week: WeekSchedule, lang: str = "vi") -> list[str]:
    """The week's windows, days with the same spans joined: 'Thứ Hai – Thứ Sáu: 07:30–11:30, 13:30–17:00'."""
    names = DAYS_EN if lang == "en" else DAYS_VI
    rows: list[tuple[int, int, str]] = []
    for d in range(7):
        spans = ", ".join(f"{s.start:%H:%M}–{s.end:%H:%M}" for s in sorted(week.spans(d), key=lambda s: s.start))
        if not spans:
            continue
        if rows and rows[-1][1] == d - 1 and rows[-1][2] == spans:
            rows[-1] = (rows[-1][0], d, spans)
        else:
            rows.append((d, d, spans))
    return [f"{names[a]}{' – ' + names[b] if b != a else ''}: {spans}".replace("23:59", "24:00")
            for a, b, spans in rows]




def office_hours(cfg: OfficeConfig, now: Callable[[], datetime]) -> dict[str, Any]:
    """What a kiosk Controller needs to know of the office: its priority categories, when each
    service opens next, the clock, and the week's ticket hours."""
    services = {s.code: s for s in cfg.services}
    week = cfg.office.ticket_windows or cfg.office.hours
    return {
        "categories": [(c.priority, c.name, c.name_en) for c in cfg.priority_categories],
        "next_open": lambda code, not_today: (next_opening(cfg, services[code], now(), not_today)
                                              if code in services else None),
        "now": now,
        "hours": lambda lang: week_lines(week, lang),
    }
