"""PROTOCOL.md ticket issuing and counter commands, driven by an outside client through mosquitto."""
from __future__ import annotations

import json
import threading
from datetime import datetime

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.bus import wait_until
from edge.clock import ManualClock
from edge.config import load
from harness import TestOffice, copy_config


class Watcher:
    """Records every message under a topic filter (a second, independent client)."""

    def __init__(self, office: TestOffice, pattern: str) -> None:
        self.messages: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        bus = office.client("admin")
        bus.subscribe(pattern, self._on)

    def _on(self, topic: str, payload: bytes) -> None:
        with self.lock:
            self.messages.append((topic, json.loads(payload)))

    def topics(self) -> list[str]:
        with self.lock:
            return [t for t, _ in self.messages]

    def payloads(self, suffix: str) -> list[dict]:
        with self.lock:
            return [p for t, p in self.messages if t.endswith(suffix)]


@pytest.fixture
def engine_office(office: TestOffice):
    office.start_engine()
    return office


def issue(c, t, service="HT", **kw):
    return c.request(t.ticket_issue, {"service": service, **kw})


def cmd(c, t, counter, action, **kw):
    return c.request(t.counter_command(counter), {"action": action, **kw})


def test_issue_numbers_ahead_and_estimate(engine_office):
    c, t = engine_office.client(), engine_office.topics
    r1 = issue(c, t, source="kiosk-1")
    r2 = issue(c, t)
    assert r1["ok"] and r2["ok"]
    assert (r1["ticket"]["number"], r2["ticket"]["number"]) == ("2001", "2002")
    assert r1["ticket"]["status"] == "waiting" and r1["ticket"]["service_name"] == "Chứng thực - Hộ tịch"
    assert r2["waiting_ahead"] == 1
    assert r2["estimated_wait_s"] is None  # no counter open yet
    cmd(c, t, 2, "open", staff="Lê Văn Bình")
    r3 = issue(c, t)
    assert r3["waiting_ahead"] == 2 and r3["estimated_wait_s"] == 2 * 300  # default 300 s, one counter
    k = issue(c, t, "KD")
    assert k["ticket"]["number"] == "K01" and k["ticket"]["ticket_id"].endswith("-KD-0001")


def test_idempotent_retry_same_reply_no_second_ticket(engine_office):
    c, t = engine_office.client(), engine_office.topics
    first = c.request(t.ticket_issue, {"service": "HT"}, req_id="kiosk-1:42")
    again = c.request(t.ticket_issue, {"service": "HT"}, req_id="kiosk-1:42")
    assert first == again
    nxt = issue(c, t)
    assert nxt["ticket"]["number"] == "2002"
    cmd(c, t, 1, "open")
    call1 = c.request(t.counter_command(1), {"action": "next"}, req_id="k1:1")
    call1b = c.request(t.counter_command(1), {"action": "next"}, req_id="k1:1")
    assert call1 == call1b and call1["ticket"]["number"] == "2001"
    assert cmd(c, t, 1, "next")["ticket"]["number"] == "2002"  # the retry did not call twice


def test_errors_are_replied_in_vietnamese(engine_office):
    c, t = engine_office.client(), engine_office.topics
    r = issue(c, t, "XX")
    assert r["ok"] is False and r["error"]["code"] == "unknown_service"
    assert "XX" in r["error"]["message"]
    r = issue(c, t, priority="vip")
    assert r["error"]["code"] == "bad_request" and "priority" in r["error"]["message"]
    assert cmd(c, t, 99, "open")["error"]["code"] == "unknown_counter"
    assert cmd(c, t, 1, "next")["error"]["code"] == "counter_closed"
    cmd(c, t, 1, "open")
    for action in ("recall", "skip", "finish"):
        assert cmd(c, t, 1, action)["error"]["code"] == "not_serving"
    assert cmd(c, t, 1, "transfer", service="DD")["error"]["code"] == "not_serving"
    assert cmd(c, t, 1, "call", number="9999")["error"]["code"] == "not_found"
    assert cmd(c, t, 1, "dance")["error"]["code"] == "bad_request"
    r = c.request(t.counter_command("abc"), {"action": "open"})
    assert r["error"]["code"] == "unknown_counter"


def test_quota(engine_office):
    c, t = engine_office.client(), engine_office.topics
    numbers = [issue(c, t, "KD")["ticket"]["number"] for _ in range(5)]
    assert numbers == ["K01", "K02", "K03", "K04", "K05"]
    r = issue(c, t, "KD")
    assert r["error"]["code"] == "quota_reached"
    assert issue(c, t, "HT")["ok"]


def test_malformed_payloads_go_to_error_topic_and_engine_keeps_serving(engine_office):
    o = engine_office
    t = o.topics
    errors = Watcher(o, t.error)
    raw = o.client("admin")
    bad = [b"not json", b"[1,2]", b'{"service":"HT"}', b'{"id":"x y","reply_to":"' + t.reply("a").encode() + b'"}',
           b'{"id":"ok1","reply_to":"elsewhere/topic"}', b"\xff\xfe", b"{" * 70000]
    for payload in bad:
        raw.publish(t.ticket_issue, payload)
        raw.publish(t.counter_command(1), payload)
    assert wait_until(lambda: len(errors.payloads("/error")) >= 2 * len(bad), 10)
    e = errors.payloads("/error")[0]
    assert e["code"] == "bad_request" and e["topic"] == t.ticket_issue and e["message"]
    assert issue(raw, t)["ticket"]["number"] == "2001"


def test_counter_flow_events_and_state(engine_office):
    o = engine_office
    c, t = o.client(), o.topics
    events = Watcher(o, t.ticket_event_all)
    states = Watcher(o, t.counter_state_all)
    for _ in range(4):
        issue(c, t)
    r = cmd(c, t, 1, "open", staff="Nguyễn Thị Lan")
    assert r["counter"]["status"] == "open" and r["counter"]["staff"] == "Nguyễn Thị Lan"
    a = cmd(c, t, 1, "next")["ticket"]
    assert a["number"] == "2001" and a["status"] == "called" and a["counter"] == 1
    assert cmd(c, t, 1, "recall")["ticket"]["number"] == "2001"
    s = cmd(c, t, 1, "skip")
    assert s["ticket"]["status"] == "no_show" and s["counter"]["serving"] is None
    b = cmd(c, t, 2, "open") and cmd(c, t, 2, "next")["ticket"]
    assert b["number"] == "2002"
    f = cmd(c, t, 2, "finish")
    assert f["ticket"]["status"] == "done"
    # call out of turn: a no_show ticket and a waiting one
    assert cmd(c, t, 2, "call", number="2001")["ticket"]["status"] == "called"
    assert cmd(c, t, 2, "call", number=2004)["ticket"]["number"] == "2004"
    assert cmd(c, t, 1, "call", number="2002")["error"]["code"] == "not_found"  # already done
    closed = cmd(c, t, 2, "close")
    assert closed["counter"]["status"] == "closed" and closed["counter"]["serving"] is None
    assert wait_until(lambda: len(events.payloads("/recalled")) == 1 and len(events.payloads("/done")) >= 3, 5)
    ev = events.payloads("/called")[0]
    assert ev["ticket"]["number"] == "2001" and ev["counter"] == 1 and ev["counter_name"] == "Quầy 1"
    assert [p["ticket"]["number"] for p in events.payloads("/issued")] == ["2001", "2002", "2003", "2004"]
    assert wait_until(lambda: any(p["status"] == "closed" and p["counter"] == 2
                                  for p in states.payloads("/2/state")[-1:]), 5)


def test_pause_resume_and_next_resumes(engine_office):
    c, t = engine_office.client(), engine_office.topics
    issue(c, t)
    cmd(c, t, 1, "open")
    p = cmd(c, t, 1, "pause", reason="Họp")
    assert p["counter"]["status"] == "paused"
    assert cmd(c, t, 1, "resume")["counter"]["status"] == "open"
    cmd(c, t, 1, "pause")
    n = cmd(c, t, 1, "next")
    assert n["counter"]["status"] == "open" and n["ticket"]["number"] == "2001"


def test_next_with_nobody_waiting(engine_office):
    c, t = engine_office.client(), engine_office.topics
    cmd(c, t, 2, "open")
    r = cmd(c, t, 2, "next")
    assert r["ok"] and r["ticket"] is None


def test_transfer_keeps_number_and_place(engine_office):
    c, t = engine_office.client(), engine_office.topics
    issue(c, t, "DD")                       # 1001, 09:00-ish
    first_ht = issue(c, t, "HT")["ticket"]  # 2001
    issue(c, t, "DD")                       # 1002, issued after 2001
    cmd(c, t, 2, "open")
    assert cmd(c, t, 2, "next")["ticket"]["number"] == "2001"
    moved = cmd(c, t, 2, "transfer", service="DD")["ticket"]
    assert moved["number"] == "2001" and moved["service"] == "DD" and moved["status"] == "waiting"
    assert moved["ticket_id"] == first_ht["ticket_id"]
    cmd(c, t, 3, "open")  # counter 3 serves KD then DD
    order = [cmd(c, t, 3, "next")["ticket"]["number"] for _ in range(3)]
    assert order == ["1001", "2001", "1002"]  # ahead of 1002, issued after it
    # transfer to a counter: reserved there even though it serves another service
    issue(c, t, "KD")
    assert cmd(c, t, 3, "next")["ticket"]["number"] == "K01"
    r = cmd(c, t, 3, "transfer", to_counter=2)
    assert r["ticket"]["counter"] == 2
    cmd(c, t, 1, "open")
    assert cmd(c, t, 1, "next")["ticket"] is None  # reserved for counter 2, not 1
    assert cmd(c, t, 2, "next")["ticket"]["number"] == "K01"
    assert cmd(c, t, 2, "transfer", service="ZZ")["error"]["code"] == "unknown_service"
    assert cmd(c, t, 2, "transfer", to_counter=77)["error"]["code"] == "unknown_counter"
    assert cmd(c, t, 2, "transfer")["error"]["code"] == "bad_request"


def test_priority_interleave_and_strict(engine_office):
    c, t = engine_office.client(), engine_office.topics
    # HT interleaves one priority ticket after every 3 others
    for p in ["none", "none", "elderly", "none", "none", "none", "none", "pregnant", "disabled"]:
        issue(c, t, "HT", priority=p)
    # numbers: 2001 2002 2003(P) 2004 2005 2006 2007 2008(P) 2009(P)
    new = issue(c, t, "HT")
    cmd(c, t, 2, "open")
    order = []
    while (r := cmd(c, t, 2, "next"))["ticket"] is not None:
        order.append(r["ticket"]["number"])
    assert order == ["2001", "2002", "2003", "2004", "2005", "2006", "2008", "2007", "2009", "2010"]
    assert new["waiting_ahead"] == 9
    # DD is strict: priority first
    for p in ["none", "none", "child", "none", "other"]:
        issue(c, t, "DD", priority=p)
    late = issue(c, t, "DD")
    assert late["waiting_ahead"] == 5
    prio = issue(c, t, "DD", priority="disabled")
    assert prio["waiting_ahead"] == 2
    cmd(c, t, 3, "open")
    got = [cmd(c, t, 3, "next")["ticket"]["number"] for _ in range(7)]
    assert got == ["1003", "1005", "1007", "1001", "1002", "1004", "1006"]


def test_multi_service_counter_prefers_its_first_service(engine_office):
    c, t = engine_office.client(), engine_office.topics
    issue(c, t, "DD")
    issue(c, t, "HT")
    cmd(c, t, 1, "open")  # serves HT first, then DD
    assert cmd(c, t, 1, "next")["ticket"]["number"] == "2001"
    assert cmd(c, t, 1, "next")["ticket"]["number"] == "1001"
    assert cmd(c, t, 1, "next")["ticket"] is None


def test_queue_state_retained_and_coalesced(engine_office):
    o = engine_office
    c, t = o.client(), o.topics
    issue(c, t)  # settle the first snapshot
    seen = Watcher(o, t.queue_state)
    assert wait_until(lambda: len(seen.payloads("queue/state")) >= 1, 5)  # the retained one
    before = len(seen.payloads("queue/state"))
    futures = [c.request_async(t.ticket_issue, {"service": "DD"})[1] for _ in range(60)]
    for f in futures:
        assert f.result(10)["ok"]
    assert wait_until(lambda: seen.payloads("queue/state")[-1]["services"][1]["waiting"] == 60, 5)
    snapshots = len(seen.payloads("queue/state")) - before
    assert 1 <= snapshots < 30, snapshots
    last = seen.payloads("queue/state")[-1]
    dd = next(s for s in last["services"] if s["code"] == "DD")
    assert dd["last_issued"] == "1060" and dd["open"] is True
    # a late subscriber gets the retained state at once
    late = Watcher(o, t.queue_state)
    assert wait_until(lambda: len(late.payloads("queue/state")) >= 1, 5)
    cmd(c, t, 3, "open")
    cmd(c, t, 3, "next")
    assert wait_until(lambda: seen.payloads("queue/state")[-1]["recent_calls"][:1]
                      and seen.payloads("queue/state")[-1]["recent_calls"][0]["number"] == "1001", 5)


def test_restart_restores_everything(office):
    c, t = office.client(), office.topics
    eng = office.start_engine()
    for _ in range(3):
        issue(c, t)
    cmd(c, t, 1, "open", staff="Trần Văn Cường")
    cmd(c, t, 1, "next")
    eng.stop()
    office.start_engine()
    r = cmd(c, t, 1, "recall")
    assert r["ok"] and r["ticket"]["number"] == "2001" and r["counter"]["staff"] == "Trần Văn Cường"
    assert issue(c, t)["ticket"]["number"] == "2004"
    assert cmd(c, t, 1, "next")["ticket"]["number"] == "2002"


def test_service_closed_outside_windows_and_on_holidays(tmp_path):
    path = copy_config(tmp_path, replace={
        'mon = ["00:00-24:00"]': 'mon = ["07:30-11:30", "13:30-17:00"]',
        'tracking_url': 'holidays = ["2026-11-24"]\ntracking_url'})
    o = TestOffice(tmp_path / "data", path).start()
    try:
        tz = load(path).office.tz
        clock = ManualClock(tz, datetime(2026, 11, 23, 12, 0, tzinfo=tz))  # a Monday lunch break
        o.start_engine(clock)
        c, t = o.client(), o.topics
        r = issue(c, t)
        assert r["error"]["code"] == "service_closed" and "ngoài giờ" in r["error"]["message"]
        clock.set(datetime(2026, 11, 23, 13, 30, tzinfo=tz))
        assert issue(c, t)["ok"]
        clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=tz))  # the holiday
        r = issue(c, t)
        assert r["error"]["code"] == "service_closed" and "nghỉ" in r["error"]["message"]
    finally:
        o.close()


def test_day_rollover_restarts_numbering_and_cancels_yesterday(office):
    tz = office.cfg.office.tz
    clock = ManualClock(tz, datetime(2026, 11, 23, 23, 58, tzinfo=tz))
    office.start_engine(clock)
    c, t = office.client(), office.topics
    events = Watcher(office, t.ticket_event("cancelled"))
    stats = Watcher(office, t.queue_stats_event)
    y1 = issue(c, t)["ticket"]
    y2 = issue(c, t)["ticket"]
    cmd(c, t, 1, "open")
    cmd(c, t, 1, "next")  # y1 is being served at midnight
    clock.set(datetime(2026, 11, 24, 0, 1, tzinfo=tz))  # midnight Asia/Ho_Chi_Minh has passed
    today = issue(c, t)["ticket"]
    assert today["number"] == "2001" and today["day"] == "2026-11-24"
    assert today["ticket_id"] != y1["ticket_id"]
    assert wait_until(lambda: {p["ticket"]["ticket_id"] for p in events.payloads("/cancelled")}
                      == {y1["ticket_id"], y2["ticket_id"]}, 5)
    # the closed day's figures go out retained, for the hub to push upstream
    assert wait_until(lambda: bool(stats.payloads("queue_stats")), 5)
    day = stats.payloads("queue_stats")[-1]
    assert day["day"] == "2026-11-23"
    assert day["rows"] == [{"field": "Tư pháp", "tickets": 2, "avg_wait_s": 0.0, "avg_service_s": 0.0, "no_show": 0}]
    # counters start the day closed; yesterday's numbers cannot be called today
    assert cmd(c, t, 1, "next")["error"]["code"] == "counter_closed"
    cmd(c, t, 1, "open")
    assert cmd(c, t, 1, "call", number="2002")["error"]["code"] == "not_found"
    assert cmd(c, t, 1, "next")["ticket"]["ticket_id"] == today["ticket_id"]


def test_raw_paho_311_client_can_drive_the_office(engine_office):
    """An outside tool with nothing but PROTOCOL.md: plain paho, MQTT 3.1.1, its own reply topic
    (under its username's subtree: the only reply topics a credential may read, and the only
    ones a responder answers for that user)."""
    o = engine_office
    t = o.topics
    got: list[dict] = []
    done = threading.Event()
    cl = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="outside-tool", protocol=mqtt.MQTTv311)
    cl.username_pw_set("admin", o.creds["admin"])

    mine = t.reply("admin") + "/outside-tool"

    def on_connect(client, userdata, flags, rc, props):
        client.subscribe(mine, 1)

    def on_subscribe(client, userdata, mid, rcs, props):
        if not done.is_set():
            client.publish(t.ticket_issue, json.dumps(
                {"id": "tool-1", "reply_to": mine, "service": "DD", "priority": "elderly",
                 "extra_field": "ignored"}), qos=1)
            done.set()

    def on_message(client, userdata, msg):
        got.append(json.loads(msg.payload))

    cl.on_connect, cl.on_subscribe, cl.on_message = on_connect, on_subscribe, on_message
    cl.connect("127.0.0.1", o.port)
    cl.loop_start()
    try:
        assert wait_until(lambda: bool(got), 5)
    finally:
        cl.loop_stop()
        cl.disconnect()
    assert got[0]["id"] == "tool-1" and got[0]["ok"] is True
    assert got[0]["ticket"]["priority"] == "elderly" and got[0]["ticket"]["number"] == "1001"
