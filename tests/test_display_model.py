"""Calling board contents without a screen: Vietnamese clock/date, state merging, layout grid."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from display.calling.model import BoardState, en_date, vn_clock, vn_date
from display.calling.render import grid
from edge import protocol as P
from edge.config import load
from harness import SMALL

import display_scene as S

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize("day,text", [
    (23, "Thứ Hai, 23/11/2026"), (24, "Thứ Ba, 24/11/2026"), (25, "Thứ Tư, 25/11/2026"),
    (26, "Thứ Năm, 26/11/2026"), (27, "Thứ Sáu, 27/11/2026"), (28, "Thứ Bảy, 28/11/2026"),
    (29, "Chủ Nhật, 29/11/2026"),
])
def test_vietnamese_date(day: int, text: str) -> None:
    assert vn_date(datetime(2026, 11, day, 8, 15, tzinfo=TZ)) == text


def test_clock_and_english_date() -> None:
    assert vn_clock(datetime(2026, 1, 5, 8, 5, tzinfo=TZ)) == "08:05"
    assert vn_clock(datetime(2026, 1, 5, 17, 30, tzinfo=TZ)) == "17:30"
    assert en_date(datetime(2026, 1, 5, tzinfo=TZ)) == "Monday, 05/01/2026"


def small_state(shown: list[int] | None = None) -> BoardState:
    return BoardState.from_config(load(SMALL), shown)


def test_counters_from_config_then_state() -> None:
    st = small_state()
    snap = st.snapshot()
    assert [(c.number, c.name, c.status) for c in snap.counters] == [
        (1, "Quầy 1", "closed"), (2, "Quầy 2", "closed"), (3, "Quầy 3 - Kinh doanh", "closed")]
    cs = P.CounterState.model_validate(S.counter_state(2, "open", "Trần Thị Lan", "2035", "HT"))
    assert st.apply_counter(cs) is True
    assert st.apply_counter(cs) is False  # unchanged: no redraw
    c2 = st.snapshot().counters[1]
    assert (c2.status, c2.serving, c2.service_name) == ("open", "2035", "Chứng thực - Hộ tịch")


def test_latest_call_from_retained_state_does_not_blink_but_events_do() -> None:
    st = small_state()
    assert st.apply_queue(P.QueueState.model_validate(S.queue_state([("2035", 2), ("1023", 1)])))
    latest = st.snapshot().latest
    assert (latest.number, latest.counter, latest.live) == ("2035", 2, False)
    assert st.apply_call(P.TicketEvent.model_validate(S.called("1024", "DD", 1)), recall=False)
    snap = st.snapshot()
    assert (snap.latest.number, snap.latest.live, snap.latest.recall) == ("1024", True, False)
    assert [r[0] for r in snap.recent] == ["1024", "2035", "1023"]
    seq = snap.latest.seq
    st.apply_call(P.TicketEvent.model_validate(S.called("1024", "DD", 1, ts="2026-11-23T09:50:00+07:00")),
                  recall=True)
    snap = st.snapshot()
    assert snap.latest.recall and snap.latest.seq == seq + 1
    assert [r[0] for r in snap.recent] == ["1024", "2035", "1023"]  # a recall adds no second line
    st.apply_call(P.TicketEvent.model_validate(S.called("1023", "DD", 1, ts="2026-11-23T09:51:00+07:00")),
                  recall=True)
    assert [r[0] for r in st.snapshot().recent] == ["1023", "1024", "2035"]  # recalled: back on top
    st.apply_queue(P.QueueState.model_validate(S.queue_state([("1023", 1), ("1024", 1), ("1023", 1)])))
    # The engine lists recalls too (once each here); calls it no longer lists stay on this board.
    assert [r[0] for r in st.snapshot().recent] == ["1023", "1024", "2035"]
    st.settle()
    assert st.snapshot().latest.live is False
    # A queue state arriving later keeps the live call as the latest one.
    st.apply_queue(P.QueueState.model_validate(S.queue_state([("2035", 2)])))
    assert st.snapshot().latest.number == "1023"


def test_shown_counters_filter_everything() -> None:
    st = small_state([2])
    assert [c.number for c in st.snapshot().counters] == [2]
    assert st.apply_counter(P.CounterState.model_validate(S.counter_state(1, "open", None, "1023", "DD"))) is False
    st.apply_queue(P.QueueState.model_validate(S.queue_state([("1023", 1), ("2035", 2)])))
    snap = st.snapshot()
    assert [s.code for s in snap.services] == ["HT"]
    assert [r[0] for r in snap.recent] == ["2035"]
    assert st.apply_call(P.TicketEvent.model_validate(S.called("1024", "DD", 1)), False) is False


def test_notice_until_and_clear() -> None:
    st = small_state()
    now = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    until = P.rfc3339(now + timedelta(minutes=5))
    assert st.apply_notice(P.Notice(text="  Nghỉ   trưa\nlúc 11:30 ", until=until))
    assert st.snapshot(now).notice == "Nghỉ trưa lúc 11:30"
    assert st.snapshot(now + timedelta(minutes=6)).notice == ""
    assert st.apply_notice(None)
    assert st.snapshot(now).notice == ""


@pytest.mark.parametrize("n,size,expected", [
    (1, (1000, 600), (1, 1)), (4, (1000, 600), (2, 2)), (6, (1100, 560), (3, 2)),
    (12, (1100, 560), (4, 3)), (3, (1000, 200), (3, 1)),
])
def test_grid(n: int, size: tuple[int, int], expected: tuple[int, int]) -> None:
    cols, rows = grid(n, *size)
    assert (cols, rows) == expected
    assert cols * rows >= n


def test_a_new_day_clears_yesterdays_call() -> None:
    st = small_state()
    st.apply_queue(P.QueueState.model_validate(S.queue_state([("2035", 2)])))
    st.apply_call(P.TicketEvent.model_validate(S.called("2036", "HT", 2)), False)
    assert st.snapshot().latest.number == "2036"
    fresh = dict(S.queue_state([]), day="2026-11-24")
    assert st.apply_queue(P.QueueState.model_validate(fresh))
    snap = st.snapshot()
    assert snap.latest is None and snap.recent == ()


def test_zones_pick_counters_from_the_config() -> None:
    cfg = load(SMALL.parent.parent.parent / "config" / "examples" / "province.toml")
    zone_a = [c.number for c in cfg.counters if c.zone == "A"]
    assert zone_a
    st = BoardState.from_config(cfg, [40], ["A"])
    assert [c.number for c in st.snapshot().counters] == sorted(zone_a + [40])
    assert BoardState.from_config(cfg).shown is None


def test_tiles_keep_their_last_number_and_a_restart_restores_it() -> None:
    st = small_state()
    st.apply_counter(P.CounterState.model_validate(S.counter_state(1, "open", None, "1023", "DD")))
    st.apply_counter(P.CounterState.model_validate(S.counter_state(1, "open", None, None, None)))  # finished
    view = st.snapshot().counters[0]
    assert (view.serving, view.shown_number) == (None, "1023")
    st.apply_queue(P.QueueState.model_validate(S.queue_state([])))
    saved = st.last_numbers()
    assert saved == {"day": S.DAY, "last": {"1": "1023"}, "recent": []}

    fresh = small_state()
    fresh.restore(saved, "2026-11-24")  # another day: nothing
    assert fresh.snapshot().counters[0].shown_number is None
    fresh.restore(dict(saved, last={"1": "1023", "2": "2040"}), S.DAY)
    assert [c.shown_number for c in fresh.snapshot().counters[:2]] == ["1023", "2040"]
    # A call the engine lists, newer than the restart, replaces a restored number (oldest first).
    fresh.apply_queue(P.QueueState.model_validate(S.queue_state([("2042", 2), ("2041", 2)])))
    assert [c.shown_number for c in fresh.snapshot().counters[:2]] == ["1023", "2042"]
    fresh.apply_counter(P.CounterState.model_validate(S.counter_state(1, "open", None, "1030", "DD")))
    assert fresh.snapshot().counters[0].shown_number == "1030"


def test_the_recent_list_is_restored_with_the_tiles() -> None:
    st = small_state()
    st.apply_queue(P.QueueState.model_validate(S.queue_state([])))
    st.apply_call(P.TicketEvent.model_validate(S.called("2036", "HT", 2)), False)
    st.apply_call(P.TicketEvent.model_validate(S.called("1024", "DD", 1, ts="2026-11-23T09:50:00+07:00")), False)
    saved = st.last_numbers()
    assert [r[:2] for r in saved["recent"]] == [["1024", 1], ["2036", 2]]
    fresh = small_state()
    fresh.restore(saved, S.DAY)
    assert [r[:2] for r in fresh.snapshot().recent] == [("1024", 1), ("2036", 2)]
    newer = S.queue_state([("2037", 2)])
    newer["recent_calls"][0]["ts"] = "2026-11-23T09:55:00+07:00"
    fresh.apply_queue(P.QueueState.model_validate(newer))  # a newer call, from the engine
    assert [r[0] for r in fresh.snapshot().recent] == ["2037", "1024", "2036"]
    fresh.restore(dict(saved, recent=[["x"], "bad", [1, 2, 3]]), S.DAY)  # a damaged file is ignored
    assert len(fresh.snapshot().recent) == 3
