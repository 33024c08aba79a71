"""Ratings survive engine restarts, broker restarts and tablet restarts: none lost, none twice.

Real mosquitto, the real engine (its SQLite file), the tablet's real SQLite outbox.
"""
from __future__ import annotations

import json
import sqlite3

from edge.bus import Bus, wait_until
from edge.clock import Clock
from kiosk.tablet.outbox import OutboxSender, RatingOutbox


def served_tickets(admin: Bus, office, n: int) -> list[str]:
    t = office.topics
    ids = []
    assert admin.request(t.counter_command(1), {"action": "open", "staff": "Nguyễn Thị Lan"})["ok"]
    for _ in range(n):
        assert admin.request(t.ticket_issue, {"service": "HT"})["ok"]
    for _ in range(n):
        reply = admin.request(t.counter_command(1), {"action": "next"})
        ids.append(reply["ticket"]["ticket_id"])
    assert admin.request(t.counter_command(1), {"action": "finish"})["ok"]
    return ids


def tablet(office, outbox_path) -> tuple[Bus, RatingOutbox, OutboxSender]:
    clock = Clock(office.cfg.office.tz)
    # the tablet's own account: a restarted tablet is the same requester (its ids are its own)
    bus = Bus(office.url("tablet-1"), office.topics, "tablet-1", "tablet", clock)
    bus.start()
    box = RatingOutbox(outbox_path, "tablet-1")
    sender = OutboxSender(box, bus, office.topics.rating_submit, clock, reply_timeout=1.0, max_backoff=1.0)
    sender.start()
    return bus, box, sender


def ratings_rows(office) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"file:{office.data / 'engine' / 'engine.db'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM ratings ORDER BY ticket_id").fetchall()
    finally:
        conn.close()


def test_ratings_survive_engine_broker_and_tablet_restarts(office, tmp_path) -> None:
    engine = office.start_engine()
    admin = office.client("admin")
    tickets = served_tickets(admin, office, 6)
    path = tmp_path / "tablet" / "outbox.db"
    bus, box, sender = tablet(office, path)

    # 1. engine up: a rating goes through
    box.add({"counter": 1, "ticket_id": tickets[0], "level": "very_satisfied", "reasons": []}, "t0")
    sender.kick()
    assert wait_until(lambda: box.count_pending() == 0, 10)

    # 2. engine down: ratings wait on the tablet
    engine.stop()
    box.add({"counter": 1, "ticket_id": tickets[1], "level": "satisfied", "reasons": []}, "t1")
    box.add({"counter": 1, "ticket_id": tickets[2], "level": "unsatisfied", "reasons": ["Chậm"],
             "comment": "Chờ lâu"}, "t2")
    sender.kick()
    assert not wait_until(lambda: box.count_pending() == 0, 2.5)
    assert wait_until(lambda: any(s.get("state") == "warning" for s in [bus._status or {}]), 5)

    # 3. the broker restarts too, and the tablet restarts (a new process: new bus, same file)
    office.restart_broker()
    sender.stop()
    bus.stop(offline=False)
    box.close()
    bus, box, sender = tablet(office, path)
    box.add({"counter": 1, "ticket_id": tickets[3], "level": "unsatisfied", "reasons": ["Thái độ"]}, "t3")
    assert box.count_pending() == 3

    # 4. the engine comes back: everything is delivered exactly once
    office.start_engine()
    assert wait_until(lambda: box.count_pending() == 0, 20)
    rows = ratings_rows(office)
    assert [r["ticket_id"] for r in rows] == sorted(tickets[:4])
    assert all(r["revision"] == 1 for r in rows)  # no rating was applied twice
    by_ticket = {r["ticket_id"]: r for r in rows}
    assert by_ticket[tickets[2]]["comment"] == "Chờ lâu"
    assert by_ticket[tickets[3]]["staff"] == "Nguyễn Thị Lan"

    # 5. a duplicate of a delivered request (a lost reply, resent by the tablet) has no second effect
    done = sqlite3.connect(path).execute("SELECT id, body FROM outbox ORDER BY rowid").fetchall()
    for req_id, body in done:
        reply = bus.request(office.topics.rating_submit, json.loads(body), req_id=req_id)
        assert reply["ok"]
    rows = ratings_rows(office)
    assert len(rows) == 4 and all(r["revision"] == 1 for r in rows)
    sender.stop()
    bus.stop()
    box.close()


def test_refused_rating_is_not_retried_forever(office, tmp_path) -> None:
    office.start_engine()
    bus, box, sender = tablet(office, tmp_path / "outbox.db")
    try:
        box.add({"counter": 1, "ticket_id": "20990101-HT-0001", "level": "satisfied", "reasons": []}, "t")
        sender.kick()
        assert wait_until(lambda: box.count_pending() == 0, 10)
        reply = sqlite3.connect(tmp_path / "outbox.db").execute("SELECT reply FROM outbox").fetchone()[0]
        assert '"not_found"' in reply
    finally:
        sender.stop()
        bus.stop()
        box.close()
