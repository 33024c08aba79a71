"""What the province's page shows, read from the central store (the page never reads the database).

`overview` is each office's live state now; `figures` the tickets, waits and ratings of a
period by office or by field. Both return plain JSON-ready dicts.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import psycopg

OVERVIEW_SQL = """
SELECT o.office_id, o.name, o.link_up, o.last_seen, o.link_changed_at, o.info,
       q.payload AS queue,
       (SELECT count(*) FROM live_state s WHERE s.office_id = o.office_id AND s.key LIKE 'counter/%'
                AND s.payload->>'status' = 'open') AS open_counters,
       (SELECT count(*) FROM live_state s WHERE s.office_id = o.office_id AND s.key LIKE 'counter/%'
                AND s.payload->>'status' = 'paused') AS paused_counters,
       (SELECT coalesce(array_agg(substr(s.key, 8) ORDER BY s.key), '{}') FROM live_state s
         WHERE s.office_id = o.office_id AND s.key LIKE 'device/%'
           AND (s.payload->>'online' = 'false' OR s.payload->>'state' = 'error')) AS devices_down
FROM offices o LEFT JOIN live_state q ON q.office_id = o.office_id AND q.key = 'queue'
ORDER BY o.name NULLS LAST, o.office_id
"""

# The oldest ticket of the office's current day that nobody has called yet.
OLDEST_SQL = """
SELECT e.office_id, min(e.ts) FROM ticket_events e
WHERE e.action = 'issued' AND e.day = %s
  AND NOT EXISTS (SELECT 1 FROM ticket_events f WHERE f.office_id = e.office_id AND f.ticket_id = e.ticket_id
                  AND f.action IN ('called', 'done', 'no_show', 'cancelled'))
GROUP BY e.office_id
"""

FIGURES_SQL = """
WITH t AS (
  SELECT office_id, ticket_id, service,
         min(ts) FILTER (WHERE action = 'issued') AS issued,
         min(ts) FILTER (WHERE action = 'called') AS called,
         max(ts) FILTER (WHERE action = 'done') AS done,
         bool_or(action = 'no_show') AS no_show
  FROM ticket_events WHERE day BETWEEN %s AND %s GROUP BY 1, 2, 3)
SELECT office_id, service, count(*) FILTER (WHERE issued IS NOT NULL),
       sum(extract(epoch FROM called - issued)) FILTER (WHERE called IS NOT NULL AND issued IS NOT NULL),
       count(*) FILTER (WHERE called IS NOT NULL AND issued IS NOT NULL),
       sum(extract(epoch FROM done - called)) FILTER (WHERE done IS NOT NULL AND called IS NOT NULL),
       count(*) FILTER (WHERE done IS NOT NULL AND called IS NOT NULL),
       count(*) FILTER (WHERE no_show)
FROM t GROUP BY 1, 2
"""

RATINGS_SQL = """
SELECT office_id, service, count(*), count(*) FILTER (WHERE level IN ('satisfied', 'very_satisfied'))
FROM ratings WHERE day BETWEEN %s AND %s GROUP BY 1, 2
"""


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat(timespec="seconds") if dt else None


def overview(conn: psycopg.Connection, stale_after_s: int, now: datetime | None = None) -> dict[str, Any]:
    """Every office now: reachable or not, counters open, waiting, longest wait, devices down."""
    now = now or datetime.now(timezone.utc)
    rows = conn.execute(OVERVIEW_SQL).fetchall()
    days = {(r[6] or {}).get("day") for r in rows if r[6]}
    oldest: dict[str, datetime] = {}
    for day in days:
        if day:
            for office, ts in conn.execute(OLDEST_SQL, (day,)).fetchall():
                oldest[office] = ts
    offices = []
    for office_id, name, link_up, last_seen, link_changed, info, queue, open_c, paused_c, down in rows:
        silent_s = (now - last_seen).total_seconds() if last_seen else None
        # The bridge's own notification is the truth when there is one; else how long it has been silent.
        reachable = bool(link_up) if link_up is not None else (silent_s is not None and silent_s < stale_after_s)
        waiting = sum(int(s.get("waiting") or 0) for s in (queue or {}).get("services", []))
        longest = (now - oldest[office_id]).total_seconds() if office_id in oldest else None
        info = info or {}
        offices.append({
            "office": office_id, "name": name or office_id, "reachable": reachable,
            "last_seen": _iso(last_seen) if last_seen and last_seen.year > 1970 else None,
            "link_changed_at": _iso(link_changed),
            "open_counters": open_c, "paused_counters": paused_c, "waiting": waiting,
            "longest_wait_s": int(longest) if longest is not None and longest >= 0 else None,
            "devices_down": list(down), "version": info.get("version"),
            "config_sha256": (info.get("config_sha256") or "")[:12] or None,
            "counters": info.get("counters"), "devices": info.get("devices"),
        })
    return {"offices": offices, "reachable": sum(o["reachable"] for o in offices),
            "unreachable": sum(not o["reachable"] for o in offices), "ts": _iso(now)}


def figures(conn: psycopg.Connection, start: date, end: date, by: str) -> dict[str, Any]:
    """Tickets, mean wait, mean service, no-shows and satisfaction of [start, end] by office or field."""
    if by not in ("office", "field"):
        raise ValueError("by must be office or field")
    fields: dict[tuple[str, str], str] = {}
    names: dict[str, str] = {}
    for office_id, name, info in conn.execute("SELECT office_id, name, info FROM offices").fetchall():
        names[office_id] = name or office_id
        for code, field in ((info or {}).get("fields") or {}).items():
            fields[(office_id, code)] = field
    groups: dict[str, dict[str, float]] = {}

    def group(office_id: str, service: str) -> dict[str, float]:
        key = names.get(office_id, office_id) if by == "office" else fields.get((office_id, service), service or "?")
        return groups.setdefault(key, {"tickets": 0, "wait_sum": 0.0, "wait_n": 0, "service_sum": 0.0,
                                       "service_n": 0, "no_show": 0, "ratings": 0, "satisfied": 0})

    for office_id, service, n, wsum, wn, ssum, sn, noshow in conn.execute(FIGURES_SQL, (start, end)).fetchall():
        g = group(office_id, service)
        g["tickets"] += n
        g["wait_sum"] += float(wsum or 0)
        g["wait_n"] += wn
        g["service_sum"] += float(ssum or 0)
        g["service_n"] += sn
        g["no_show"] += noshow
    for office_id, service, n, sat in conn.execute(RATINGS_SQL, (start, end)).fetchall():
        g = group(office_id, service)
        g["ratings"] += n
        g["satisfied"] += sat
    out = []
    for key, g in sorted(groups.items()):
        out.append({"name": key, "tickets": int(g["tickets"]),
                    "mean_wait_s": round(g["wait_sum"] / g["wait_n"]) if g["wait_n"] else None,
                    "mean_service_s": round(g["service_sum"] / g["service_n"]) if g["service_n"] else None,
                    "no_show": int(g["no_show"]), "ratings": int(g["ratings"]),
                    "satisfied_pct": round(100 * g["satisfied"] / g["ratings"]) if g["ratings"] else None})
    return {"from": start.isoformat(), "to": end.isoformat(), "by": by, "rows": out}
