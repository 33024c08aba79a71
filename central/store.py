"""The province's central store in PostgreSQL: every office's events, once each, and its live state.

Events (tickets, calls, ratings, day figures) are rows keyed by what makes them one event,
so a message the broker delivers twice (after a restart, or an office bridge that resends its
queue) is stored once: `INSERT ... ON CONFLICT DO NOTHING`. Retained state (counters, queues,
device health, the office's own description) is kept as the latest value per key, written
only when newer. One transaction per batch; the ingest acknowledges the batch's messages to
the broker only after COMMIT, so nothing acknowledged can be lost.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

import psycopg

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS offices (
    office_id   text PRIMARY KEY,
    name        text,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    link_up     boolean,
    link_changed_at timestamptz,
    info        jsonb
);
CREATE TABLE IF NOT EXISTS ticket_events (
    office_id   text NOT NULL,
    ticket_id   text NOT NULL,
    action      text NOT NULL,
    ts          timestamptz NOT NULL,
    number      text,
    service     text,
    priority    text,
    day         date,
    counter     integer,
    status      text,
    received_at timestamptz NOT NULL DEFAULT now(),
    payload     jsonb NOT NULL,
    PRIMARY KEY (office_id, ticket_id, action, ts)
);
CREATE INDEX IF NOT EXISTS ticket_events_day ON ticket_events (office_id, day);
CREATE TABLE IF NOT EXISTS ratings (
    office_id   text NOT NULL,
    rating_id   text NOT NULL,
    revision    integer NOT NULL,
    ticket_id   text,
    day         date,
    counter     integer,
    staff       text,
    service     text,
    level       text,
    submitted_at timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    payload     jsonb NOT NULL,
    PRIMARY KEY (office_id, rating_id)
);
CREATE TABLE IF NOT EXISTS day_figures (
    office_id   text NOT NULL,
    day         date NOT NULL,
    field       text NOT NULL,
    tickets     integer NOT NULL,
    avg_wait_s  double precision,
    avg_service_s double precision,
    no_show     integer,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (office_id, day, field)
);
CREATE TABLE IF NOT EXISTS live_state (
    office_id   text NOT NULL,
    key         text NOT NULL,
    ts          timestamptz,
    payload     jsonb,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (office_id, key)
);
CREATE TABLE IF NOT EXISTS other_events (
    office_id   text NOT NULL,
    topic       text NOT NULL,
    digest      text NOT NULL,
    ts          timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    payload     jsonb NOT NULL,
    PRIMARY KEY (office_id, digest)
);
"""


@dataclass(frozen=True)
class Message:
    """One MQTT message as the ingest hands it over: its topic, payload and retain flag."""

    topic: str
    payload: bytes
    retain: bool = False
    dup: bool = False  # the broker's second try: we were stopped before acknowledging it


def _ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _day(value: Any) -> str | None:
    if isinstance(value, str) and len(value) == 10:
        try:
            datetime.strptime(value, "%Y-%m-%d")
            return value
        except ValueError:
            return None
    return None


class Rows:
    """The rows one batch of messages becomes, grouped by table."""

    def __init__(self) -> None:
        self.tickets: list[tuple] = []
        self.ratings: list[tuple] = []
        self.figures: list[tuple] = []
        self.state: dict[tuple[str, str], tuple] = {}
        self.other: list[tuple] = []
        self.seen: dict[str, datetime] = {}
        self.links: dict[str, tuple[bool, datetime]] = {}
        self.skipped = 0


def classify(msg: Message, rows: Rows, now: datetime) -> None:
    """Sort one message into `rows`; what cannot be read is counted and skipped, never fatal."""
    if msg.topic.startswith("$SYS/broker/connection/"):
        # A bridge's own notification on the province broker: 1 connected, 0 not.
        name = msg.topic.split("/")[3]
        if name.startswith("motcua-"):
            rows.links[name.removeprefix("motcua-")] = (msg.payload.strip() == b"1", now)
        return
    parts = msg.topic.split("/")
    if len(parts) < 4 or parts[0] != "motcua" or parts[1] != "v1":
        rows.skipped += 1
        return
    office, rest = parts[2], parts[3:]
    try:
        data = json.loads(msg.payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        rows.skipped += 1
        return
    if not isinstance(data, dict):
        rows.skipped += 1
        return
    rows.seen[office] = now
    raw = json.dumps(data, ensure_ascii=False)
    ts = _ts(data.get("ts"))
    if rest[:2] == ["event", "ticket"] and len(rest) == 3 and isinstance(data.get("ticket"), dict):
        t = data["ticket"]
        if not isinstance(t.get("ticket_id"), str) or ts is None:
            rows.skipped += 1
            return
        counter = data.get("counter") if isinstance(data.get("counter"), int) else None
        rows.tickets.append((office, t["ticket_id"], rest[2], ts, t.get("number"), t.get("service"),
                             t.get("priority"), _day(t.get("day")), counter, t.get("status"), raw))
        return
    if rest == ["event", "rating"]:
        if not isinstance(data.get("rating_id"), str) or not isinstance(data.get("revision", 1), int):
            rows.skipped += 1
            return
        rows.ratings.append((office, data["rating_id"], data.get("revision", 1), data.get("ticket_id"),
                             _day(data.get("day")), data.get("counter") if isinstance(data.get("counter"), int) else None,
                             data.get("staff"), data.get("service"), data.get("level"),
                             _ts(data.get("submitted_at")), raw))
        return
    if rest == ["event", "queue_stats"] and _day(data.get("day")) and isinstance(data.get("rows"), list):
        for r in data["rows"]:
            if isinstance(r, dict) and isinstance(r.get("field"), str) and isinstance(r.get("tickets"), int):
                rows.figures.append((office, data["day"], r["field"], r["tickets"], r.get("avg_wait_s"),
                                     r.get("avg_service_s"), r.get("no_show")))
        return
    key = None
    if rest == ["queue", "state"]:
        key = "queue"
    elif len(rest) == 3 and rest[0] == "counter" and rest[2] == "state":
        key = f"counter/{rest[1]}"
    elif len(rest) == 3 and rest[0] == "device" and rest[2] == "status":
        key = f"device/{rest[1]}"
    elif rest == ["office", "info"]:
        key = "info"
    elif rest == ["display", "notice"]:
        key = "notice"
    if key is not None:
        rows.state[(office, key)] = (office, key, ts, raw)  # the newest in the batch wins
        return
    if rest[0] in ("event", "error"):
        digest = hashlib.sha256(msg.topic.encode() + b"\0" + msg.payload).hexdigest()
        rows.other.append((office, "/".join(rest), digest, ts, raw))
        return
    # requests and replies are not the province's business
    rows.skipped += 1


class CentralStore:
    """One PostgreSQL connection, owned by the ingest thread."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: psycopg.Connection | None = None

    def connect(self) -> None:
        self.conn = psycopg.connect(self.dsn, autocommit=False, connect_timeout=10)
        with self.conn.transaction():
            self.conn.execute(SCHEMA)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def write(self, messages: Iterable[Message], now: datetime | None = None) -> Rows:
        """Store one batch in one transaction; returns what it became. Raises on database trouble."""
        assert self.conn is not None
        now = now or datetime.now(timezone.utc)
        rows = Rows()
        for m in messages:
            classify(m, rows, now)
        with self.conn.transaction():
            cur = self.conn.cursor()
            offices = set(rows.seen) | set(rows.links) | {k[0] for k in rows.state}
            if offices:
                cur.executemany(
                    "INSERT INTO offices(office_id, first_seen, last_seen) VALUES (%s, %s, %s) "
                    "ON CONFLICT (office_id) DO UPDATE SET last_seen = GREATEST(offices.last_seen, excluded.last_seen)",
                    [(o, now, now) for o in sorted(offices)])
            if rows.links:
                cur.executemany("UPDATE offices SET link_up = %s, link_changed_at = %s WHERE office_id = %s",
                                [(up, at, o) for o, (up, at) in rows.links.items()])
            if rows.tickets:
                cur.executemany(
                    "INSERT INTO ticket_events(office_id, ticket_id, action, ts, number, service, priority, day, "
                    "counter, status, payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING", rows.tickets)
            if rows.ratings:
                cur.executemany(
                    "INSERT INTO ratings(office_id, rating_id, revision, ticket_id, day, counter, staff, service, "
                    "level, submitted_at, payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (office_id, rating_id) DO UPDATE SET revision = excluded.revision, "
                    "level = excluded.level, payload = excluded.payload, submitted_at = excluded.submitted_at, "
                    "staff = excluded.staff WHERE ratings.revision < excluded.revision", rows.ratings)
            if rows.figures:
                cur.executemany(
                    "INSERT INTO day_figures(office_id, day, field, tickets, avg_wait_s, avg_service_s, no_show) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (office_id, day, field) DO UPDATE SET "
                    "tickets = excluded.tickets, avg_wait_s = excluded.avg_wait_s, "
                    "avg_service_s = excluded.avg_service_s, no_show = excluded.no_show", rows.figures)
            if rows.state:
                cur.executemany(
                    "INSERT INTO live_state(office_id, key, ts, payload) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (office_id, key) DO UPDATE SET ts = excluded.ts, payload = excluded.payload, "
                    "received_at = now() WHERE live_state.ts IS NULL OR excluded.ts IS NULL "
                    "OR excluded.ts >= live_state.ts", list(rows.state.values()))
                info = [(p, o) for (o, k), (_, _, _, p) in rows.state.items() if k == "info"]
                if info:
                    cur.executemany("UPDATE offices SET info = %s::jsonb, name = COALESCE(%s::jsonb->>'name', name) "
                                    "WHERE office_id = %s", [(p, p, o) for p, o in info])
            if rows.other:
                cur.executemany("INSERT INTO other_events(office_id, topic, digest, ts, payload) "
                                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", rows.other)
        return rows

    def register_offices(self, offices: Iterable[tuple[str, str]]) -> None:
        """Offices the config expects, so one that never reported shows as unreachable."""
        assert self.conn is not None
        with self.conn.transaction():
            self.conn.cursor().executemany(
                "INSERT INTO offices(office_id, name, first_seen, last_seen) VALUES (%s, %s, now(), 'epoch') "
                "ON CONFLICT (office_id) DO UPDATE SET name = excluded.name", list(offices))
