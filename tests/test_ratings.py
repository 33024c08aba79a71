"""Rating storage (edge/engine/ratings.py) on a real engine SQLite file."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.engine import ratings, store
from edge.engine.errors import EngineError
from edge.protocol import RatingRequest

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=TZ)


def add_ticket(conn, ticket_id: str, *, counter: int | None = 1, status: str = "done",
               service: str = "HT", staff: str | None = "Nguyễn Thị Lan",
               finished: str | None = "2026-11-23T09:20:00+07:00", day: str = "2026-11-23") -> None:
    seq = int(ticket_id.rsplit("-", 1)[1])
    conn.execute(
        "INSERT INTO tickets(ticket_id, day, service, seq, number, priority, status, counter, "
        "issued_at, called_at, finished_at, staff) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (ticket_id, day, service, seq, str(2000 + seq), "none", status, counter,
         f"{day}T08:00:00+07:00", f"{day}T09:00:00+07:00", finished, staff))


@pytest.fixture
def conn(tmp_path: Path):
    c = store.connect(tmp_path / "engine.db")
    store.create_schema(c)
    ratings.ensure_schema(c)
    yield c
    c.close()


def req(**kw) -> RatingRequest:
    base = {"id": "t1:1", "reply_to": "motcua/v1/X/reply/t1", "counter": 1, "ticket_id": None,
            "level": "satisfied"}
    return RatingRequest.model_validate({**base, **kw})


def submit(conn, r: RatingRequest) -> dict:
    with store.immediate(conn):
        return ratings.submit(conn, r, NOW)


def test_rating_stores_ticket_counter_clerk_service(conn) -> None:
    add_ticket(conn, "20261123-HT-0001")
    reply = submit(conn, req(ticket_id="20261123-HT-0001", level="very_satisfied"))
    assert reply == {"rating_id": "R-20261123-HT-0001"}
    row = conn.execute("SELECT * FROM ratings").fetchone()
    assert (row["ticket_id"], row["counter"], row["staff"], row["service"], row["level"]) == \
        ("20261123-HT-0001", 1, "Nguyễn Thị Lan", "HT", "very_satisfied")
    assert row["submitted_at"] == "2026-11-23T09:30:00+07:00"
    ev = ratings.event(conn, reply["rating_id"], NOW)
    assert ev.number == "2001" and ev.revision == 1 and ev.day == "2026-11-23"


def test_null_ticket_means_last_ticket_finished_at_that_counter(conn) -> None:
    add_ticket(conn, "20261123-HT-0001", finished="2026-11-23T09:10:00+07:00")
    add_ticket(conn, "20261123-HT-0002", finished="2026-11-23T09:25:00+07:00")
    add_ticket(conn, "20261123-HT-0003", counter=2, finished="2026-11-23T09:29:00+07:00")
    add_ticket(conn, "20261122-HT-0009", finished="2026-11-22T16:00:00+07:00", day="2026-11-22")
    assert submit(conn, req())["rating_id"] == "R-20261123-HT-0002"


def test_second_rating_replaces_first_and_keeps_id(conn) -> None:
    add_ticket(conn, "20261123-HT-0001")
    a = submit(conn, req(id="a", ticket_id="20261123-HT-0001", level="satisfied"))
    b = submit(conn, req(id="b", ticket_id="20261123-HT-0001", level="unsatisfied",
                         reasons=["Chậm", " Chậm ", "Thái độ"], comment="Chờ  lâu"))
    assert a == b
    rows = conn.execute("SELECT * FROM ratings").fetchall()
    assert len(rows) == 1
    assert rows[0]["level"] == "unsatisfied" and rows[0]["revision"] == 2
    assert json.loads(rows[0]["reasons"]) == ["Chậm", "Thái độ"]


def test_same_request_id_has_no_second_effect(conn) -> None:
    add_ticket(conn, "20261123-HT-0001")
    submit(conn, req(id="same"))
    # another ticket finishes at the counter; the retry must not move the rating to it
    add_ticket(conn, "20261123-HT-0002", finished="2026-11-23T09:29:00+07:00")
    assert submit(conn, req(id="same"))["rating_id"] == "R-20261123-HT-0001"
    assert conn.execute("SELECT count(*), max(revision) FROM ratings").fetchone()[:] == (1, 1)


def test_vietnamese_text_is_stored_nfc(conn) -> None:
    add_ticket(conn, "20261123-HT-0001")
    decomposed = "Tha\u0301i đô\u0323"  # NFD-ish input from some keyboards
    submit(conn, req(ticket_id="20261123-HT-0001", level="unsatisfied", reasons=[decomposed],
                     comment="Ca\u0301n bô\u0323"))
    row = conn.execute("SELECT reasons, comment FROM ratings").fetchone()
    assert json.loads(row["reasons"]) == ["Thái độ"] and row["comment"] == "Cán bộ"


@pytest.mark.parametrize("setup,kw,code", [
    (None, {"ticket_id": "20261123-HT-0042"}, "not_found"),
    (None, {}, "not_found"),  # nothing finished at counter 1 today
    ({"status": "waiting", "counter": None, "finished": None}, {"ticket_id": "20261123-HT-0001"}, "bad_request"),
    ({"counter": 2}, {"ticket_id": "20261123-HT-0001"}, "bad_request"),
    ({}, {"ticket_id": "20261123-HT-0001", "level": "unsatisfied", "reasons": ["  "]}, "bad_request"),
    ({}, {"ticket_id": "20261123-HT-0001", "level": "unsatisfied", "reasons": ["x" * 101]}, "bad_request"),
])
def test_refused_ratings_have_clear_errors_and_no_effect(conn, setup, kw, code) -> None:
    if setup is not None:
        add_ticket(conn, "20261123-HT-0001", **setup)
    with pytest.raises(EngineError) as err:
        submit(conn, req(**kw))
    assert err.value.code == code and err.value.message
    assert conn.execute("SELECT count(*) FROM ratings").fetchone()[0] == 0


def test_a_visit_not_over_cannot_be_rated_and_revisions_are_bounded(conn) -> None:
    add_ticket(conn, "20261123-HT-0001", status="called", finished=None)
    with pytest.raises(EngineError) as err:
        submit(conn, req(ticket_id="20261123-HT-0001"))
    assert err.value.code == "bad_request"
    conn.execute("UPDATE tickets SET status = 'done', finished_at = called_at")
    for i in range(3):
        assert submit(conn, req(ticket_id="20261123-HT-0001", id=f"r-{i}"))["rating_id"] == "R-20261123-HT-0001"
    with pytest.raises(EngineError) as err:
        submit(conn, req(ticket_id="20261123-HT-0001", id="r-4"))
    assert err.value.code == "bad_request"
    assert conn.execute("SELECT revision FROM ratings").fetchone()[0] == 3


def test_schema_is_applied_by_engine_store(tmp_path: Path) -> None:
    c = store.connect(tmp_path / "e.db")
    store.create_schema(c)
    assert c.execute("SELECT name FROM sqlite_master WHERE name = 'ratings'").fetchone()
