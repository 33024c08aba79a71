"""Booked tickets in the engine, through the real broker: a booking waits until its slot, is
called at its slot ahead of walk-ins, and is called early only when nobody else waits."""
from __future__ import annotations

from datetime import datetime, timedelta

from harness import TestOffice

from edge.clock import ManualClock
from edge.protocol import rfc3339

T0 = datetime(2026, 12, 2, 9, 0)


def test_booking_waits_for_its_slot_then_goes_first(office: TestOffice) -> None:
    clock = ManualClock(office.cfg.office.tz, T0)
    office.start_engine(clock)
    c, t = office.client(clock=clock), office.topics
    slot = clock.now() + timedelta(minutes=30)

    def issue(**kw):
        r = c.request(t.ticket_issue, {"service": "HT", **kw})
        assert r["ok"], r
        return r

    def call():
        r = c.request(t.counter_command(2), {"action": "next"})
        assert r["ok"], r
        return r["ticket"]
    booked = issue(appointment="LH-20261202-0007", slot_at=rfc3339(slot))
    assert booked["ticket"]["appointment"] == "LH-20261202-0007" and booked["ticket"]["slot_at"] == rfc3339(slot)
    assert booked["waiting_ahead"] == 0 and booked["estimated_wait_s"] == 1800
    walk = [issue()["ticket"]["number"] for _ in range(3)]
    assert c.request(t.counter_command(2), {"action": "open"})["ok"]
    # before the slot: walk-ins first; the early booking is not called
    assert call()["number"] == walk[0]
    clock.set(slot + timedelta(minutes=1))
    # at its slot: ahead of the walk-ins still waiting
    first = call()
    assert first["number"] == booked["ticket"]["number"] and first["appointment"] == "LH-20261202-0007"
    assert [call()["number"] for _ in range(2)] == walk[1:]
    # a booking far ahead, nobody else waiting: called early rather than leave the counter idle
    early = issue(appointment="LH-20261202-0008", slot_at=rfc3339(clock.now() + timedelta(hours=2)))
    assert call()["number"] == early["ticket"]["number"]
    # a clerk may call an early booking by its number while others wait
    later = issue(appointment="LH-20261202-0009", slot_at=rfc3339(clock.now() + timedelta(hours=3)))
    issue()
    r = c.request(t.counter_command(2), {"action": "call", "number": later["ticket"]["number"]})
    assert r["ok"] and r["ticket"]["appointment"] == "LH-20261202-0009", r
    bad = c.request(t.ticket_issue, {"service": "HT", "appointment": "LH-1", "slot_at": "09:30"})
    assert not bad["ok"] and bad["error"]["code"] == "bad_request"
