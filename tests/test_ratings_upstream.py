"""A rating given while the hub is down still reaches the provincial system, once."""
from __future__ import annotations

from edge.bus import wait_until
from hub.daemon import create as create_hub


def test_rating_queued_at_the_broker_while_hub_is_down_is_pushed_upstream(office):
    office.start_engine()
    t = office.topics
    hub = create_hub(office.ctx("hub", "hub"))
    hub.start()
    assert hub.bus.connected.wait(10)
    hub.stop()  # its persistent session stays at the broker, subscribed

    clerk = office.client("admin")
    tablet = office.client("tablet-1", "tablet")
    clerk.request(t.ticket_issue, {"service": "HT"})
    clerk.request(t.counter_command(1), {"action": "open", "staff": "Phạm Thu Hà"})
    clerk.request(t.counter_command(1), {"action": "next"})
    clerk.request(t.counter_command(1), {"action": "finish"})
    r = tablet.request(t.rating_submit, {"counter": 1, "ticket_id": None, "level": "unsatisfied",
                                         "reasons": ["Chậm"], "comment": "Chờ lâu quá"})
    assert r["ok"], r
    rating_id = r["rating_id"]

    hub2 = create_hub(office.ctx("hub", "hub"))
    hub2.start()
    try:
        upstream = hub2.simulator.upstream
        assert wait_until(lambda: rating_id in upstream.pushed.get("DongBoDanhGia", {}), 20)
        rec = upstream.pushed["DongBoDanhGia"][rating_id]
        assert rec["Quay"] in (1, "1") and "Chậm" in str(rec["LyDo"])
        assert sum(n for s, _, n in upstream.push_calls if s == "DongBoDanhGia") == 1
    finally:
        hub2.stop()
