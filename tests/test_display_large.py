"""Boards of a large centre (the province example's 40 counters) on a real broker.

Every open counter must appear, readable from 5 m, on each board meant to show it: the
hall TV (all counters, pages that rotate) and one TV per floor (`floors`). The counters
come from the loaded config, not from this file, so the test follows the example.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from display.calling.board import CallingBoard
from display.daemon import create
from edge.bus import wait_until
from edge.clock import ManualClock
from harness import TestOffice

ROOT = Path(__file__).resolve().parent.parent
PROVINCE = ROOT / "config" / "examples" / "province.toml"
SHOTS = ROOT / "docs" / "screenshots"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TS = "2026-11-23T09:42:10+07:00"
DAY = "2026-11-23"


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory):
    o = TestOffice(tmp_path_factory.mktemp("province") / "data", PROVINCE).start()
    yield o
    o.close()


def board_id(office: TestOffice) -> str:
    return next(d.id for d in office.cfg.devices if d.kind == "display" and d.mode == "calling")


def number(office: TestOffice, counter: Any, n: int) -> str:
    return office.cfg.service(counter.services[0]).number_format.format(n=n)


def ticket(office: TestOffice, counter: Any, num: str) -> dict[str, Any]:
    svc = office.cfg.service(counter.services[0])
    return {"ticket_id": f"{DAY.replace('-', '')}-{svc.code}-{num}", "number": num, "seq": 1,
            "service": svc.code, "service_name": svc.name, "priority": "none", "day": DAY,
            "issued_at": "2026-11-23T09:00:00+07:00", "status": "called", "counter": counter.number}


def state(office: TestOffice, counter: Any, status: str, serving: str | None) -> dict[str, Any]:
    return {"counter": counter.number, "name": counter.label, "status": status, "staff": None,
            "services": list(counter.services),
            "serving": ticket(office, counter, serving) if serving else None, "ts": TS}


def scene(office: TestOffice) -> dict[int, tuple[str, str | None, bool]]:
    """A busy 09:42, published while the board runs: most counters serve, some have finished
    (their last number stays), a few are paused or closed. The engine lists only the last 10
    calls in its queue state, as it does. Returns counter -> (status, number its tile must
    show, serving it)."""
    cfg, admin, t = office.cfg, office.client("admin"), office.topics
    expect: dict[int, tuple[str, str | None, bool]] = {}
    recent: list[dict[str, Any]] = []
    for i, c in enumerate(cfg.counters):
        status = "closed" if i % 9 == 4 else ("paused" if i % 13 == 6 else "open")
        num = number(office, c, 20 + 3 * i) if status != "closed" else None
        serving = num if status != "closed" and i % 5 != 2 else None  # i % 5 == 2: finished, ready
        if num is not None:
            recent.append({"number": num, "counter": c.number, "counter_name": c.label, "ts": TS})
        if num is not None:
            admin.publish(t.ticket_event("called"), {"ticket": ticket(office, c, num), "counter": c.number,
                                                     "counter_name": c.label, "ts": TS})
            admin.publish(t.counter_state(c.number), state(office, c, status, num), retain=True)
        admin.publish(t.counter_state(c.number), state(office, c, status, serving), retain=True)
        expect[c.number] = (status, num, serving is not None)
    waiting = [{"code": s.code, "name": s.name, "open": True, "waiting": 3 + 2 * k, "last_issued": None,
                "last_called": None, "estimated_wait_s": 600} for k, s in enumerate(cfg.services)]
    admin.publish(t.queue_state, {"day": DAY, "services": waiting, "recent_calls": recent[::-1][:10],
                                  "ts": TS}, retain=True)
    return expect


def start(office: TestOffice, **settings: Any) -> CallingBoard:
    dev_id = board_id(office)
    dev = office.cfg.device(dev_id).model_copy(update={"fullscreen": False, "counters": None, "zones": None,
                                                         "floors": None, "highlight_s": 600, **settings})
    # (the newest call stays highlighted through the test, so the pictures do not depend on timing)
    board = create(office.ctx(dev_id, "display", clock=ManualClock(TZ, datetime(2026, 11, 23, 9, 42, tzinfo=TZ)),
                              device=dev))
    assert isinstance(board, CallingBoard)
    board.start()
    assert board.ready.wait(20)
    assert wait_until(board.bus.connected.is_set, 20)  # subscribed: no call event is missed
    return board


def page_texts(board: CallingBoard, page: int) -> tuple[list[str], list[tuple[str, int]], dict[str, list[str]]]:
    def paint() -> Any:
        board.show_page(page)
        board._draw(board.loop.surface)
        p = board.painter
        return list(p.drawn["counters"]), list(p.sizes["counters"]), {k: list(v) for k, v in p.drawn.items()}
    return board.run_on_ui(paint)


def check_board(office: TestOffice, board: CallingBoard, wanted: set[int],
                expect: dict[int, tuple[str, str | None, bool]], shot: str) -> int:
    """Every open or paused counter of `wanted` is on some page, readable; nothing else is."""
    cfg = office.cfg
    names = {c.number: c.label for c in cfg.counters}
    # The scene's last call of these counters is the newest on the list (events and states
    # travel on different topics: wait for both).
    newest = [num for n, (status, num, _) in expect.items() if n in wanted and num is not None][-1]
    assert wait_until(lambda: board.state.snapshot().has_queue_state and all(
        (c.status, c.shown_number if c.status != "closed" else None, c.serving is not None) == expect[c.number]
        for c in board.state.snapshot().counters) and board.state.snapshot().recent[:1] != ()
        and board.state.snapshot().recent[0][0] == newest, 15)
    pages = board.run_on_ui(lambda: len(board.painter.pages(board.state.snapshot().counters)))
    seen: set[str] = set()
    for page in range(pages):
        texts, sizes, regions = page_texts(board, page)
        tiles = [t for t in texts if t in names.values()]
        seen |= set(tiles)
        assert len(tiles) == len(set(tiles))  # no counter twice on a page
        for text, size in sizes:
            if text in names.values():
                assert size >= board.painter.name_min, (text, size)
            elif re.fullmatch(r"[A-Z]\d{3}", text):
                assert size >= board.painter.number_min, (text, size)
        if pages > 1:
            assert f"Trang {page + 1}/{pages}" in texts
        # The recent list names only counters this board shows.
        recent_names = {t[2:] for t in regions["recent"] if t.startswith("→ ")}
        assert recent_names <= {names[n] for n in wanted}
        board.screenshot(SHOTS / (f"{shot}-page-{page + 1}.png" if pages > 1 else f"{shot}.png"), blink_on=True)
    must = {names[n] for n in wanted if expect[n][0] != "closed"}
    assert must <= seen, f"missing on {shot}: {sorted(must - seen)}"
    assert seen <= {names[n] for n in wanted}
    # Each tile shows the counter's current or last number; the recent list agrees with it.
    snap = board.state.snapshot()
    tiles = {c.number: c for c in snap.counters}
    for n, (status, num, _) in expect.items():
        if n in wanted and status != "closed":
            assert tiles[n].shown_number == num, (n, tiles[n])
    first: dict[int, str] = {}
    for num, counter, _ in snap.recent:
        first.setdefault(counter, num)
    assert first and all(tiles[c].shown_number == num for c, num in first.items())
    return pages


def test_hall_board_shows_all_40_counters_on_rotating_pages(province: TestOffice) -> None:
    cfg = province.cfg
    assert len(cfg.counters) >= 30, "the province example is meant to be a large centre"
    board = start(province, page_s=3)
    expect = scene(province)
    try:
        pages = check_board(province, board, {c.number for c in cfg.counters}, expect, "display-province-hall")
        assert pages >= 2
        # The pages turn by themselves ...
        board.run_on_ui(lambda: board.show_page(0))
        assert wait_until(lambda: board._page == 1, 15)
    finally:
        board.stop()
    # A call at a counter on another page brings that page into view at once (pages that
    # would otherwise stay two minutes).
    board = start(province, page_s=120)
    try:
        assert wait_until(lambda: all(c.status == expect[c.number][0] for c in board.state.snapshot().counters)
                          and board.run_on_ui(lambda: board.painter.page_count) == pages, 10)
        board.run_on_ui(lambda: board.show_page(0))
        on_last = board.run_on_ui(lambda: board.painter.pages(board.state.snapshot().counters)[-1][0])
        c = cfg.counter(on_last.number)
        admin = province.client("admin")
        num = number(province, c, 400)
        admin.publish(province.topics.ticket_event("called"),
                      {"ticket": ticket(province, c, num), "counter": c.number, "counter_name": c.label, "ts": TS})
        assert wait_until(lambda: board._page == pages - 1, 10)
        assert wait_until(lambda: board.state.snapshot().latest.number == num, 10)
        texts, _, regions = page_texts(board, pages - 1)
        assert num in texts and num in regions["hero"]
    finally:
        board.stop()


def test_floor_boards_show_their_floor_only(province: TestOffice) -> None:
    cfg = province.cfg
    floors = sorted({c.floor for c in cfg.counters if c.floor is not None})
    assert len(floors) >= 2
    for floor in floors:
        board = start(province, floors=[floor])
        try:
            expect = scene(province)
            wanted = {c.number for c in cfg.counters if c.floor == floor}
            assert {c.number for c in board.state.snapshot().counters} == wanted
            assert check_board(province, board, wanted, expect, f"display-province-floor-{floor}") == 1
        finally:
            board.stop()


def test_zone_board_and_a_tile_that_keeps_its_last_number(province: TestOffice) -> None:
    cfg = province.cfg
    zone = cfg.counters[0].zone
    board = start(province, zones=[zone])
    try:
        scene(province)
        wanted = {c.number for c in cfg.counters if c.zone == zone}
        assert wait_until(lambda: board.state.snapshot().has_queue_state, 10)
        assert {c.number for c in board.state.snapshot().counters} == wanted
        c = cfg.counters[0]
        admin, t = province.client("admin"), province.topics
        first, second = number(province, c, 501), number(province, c, 502)
        admin.publish(t.ticket_event("called"),
                      {"ticket": ticket(province, c, first), "counter": c.number, "counter_name": c.label, "ts": TS})
        admin.publish(t.counter_state(c.number), state(province, c, "open", first), retain=True)
        assert wait_until(lambda: board.state.snapshot().counters[0].serving == first, 10)
        texts, _, _ = page_texts(board, 0)
        assert texts[texts.index(c.label) + 1: texts.index(c.label) + 3] == [first, "Đang phục vụ"]
        admin.publish(t.counter_state(c.number), state(province, c, "open", None), retain=True)  # finished
        assert wait_until(lambda: board.state.snapshot().counters[0].serving is None, 10)
        texts, _, _ = page_texts(board, 0)
        assert texts[texts.index(c.label) + 1: texts.index(c.label) + 3] == [first, "Sẵn sàng"]
        admin.publish(t.ticket_event("called"),
                      {"ticket": ticket(province, c, second), "counter": c.number, "counter_name": c.label, "ts": TS})
        assert wait_until(lambda: board.state.snapshot().counters[0].shown_number == second, 10)
        texts, _, _ = page_texts(board, 0)
        assert texts[texts.index(c.label) + 1: texts.index(c.label) + 3] == [second, "Đang phục vụ"]
    finally:
        board.stop()


def test_portrait_hall_board_is_readable_too(province: TestOffice) -> None:
    cfg = province.cfg
    board = start(province, width=1080, height=1920)
    try:
        expect = scene(province)
        assert board.loop.size == (1080, 1920)
        check_board(province, board, {c.number for c in cfg.counters}, expect, "display-province-portrait")
    finally:
        board.stop()


def test_a_board_for_a_floor_that_has_no_counters_says_so(province: TestOffice) -> None:
    statuses: list[dict[str, Any]] = []
    province.client("admin").subscribe(province.topics.device_status(board_id(province)),
                                       lambda t, p: statuses.append(json.loads(p)))
    board = start(province, floors=[99])
    try:
        assert wait_until(lambda: any(s.get("state") == "warning" for s in statuses), 10)
        warning = [s for s in statuses if s.get("state") == "warning"][-1]
        assert "counters/zones/floors" in warning["detail"]["error"]
    finally:
        board.stop()


def test_a_restarted_board_keeps_the_last_numbers(province: TestOffice) -> None:
    """The engine lists only its last 10 calls: the tiles' last numbers are kept on disk."""
    cfg = province.cfg
    board = start(province)
    try:
        expect = scene(province)
        newest = [num for num in (e[1] for e in expect.values()) if num is not None][-1]
        assert wait_until(lambda: all(c.shown_number == expect[c.number][1]
                                      for c in board.state.snapshot().counters if c.status != "closed")
                          and board.state.snapshot().recent[:1] != ()
                          and board.state.snapshot().recent[0][0] == newest, 15)
        assert wait_until(lambda: (province.data / board_id(province) / "tiles.json").is_file(), 10)
        recent = board.run_on_ui(lambda: board.state.snapshot().recent)  # after the last save
    finally:
        board.stop()
    finished = [n for n, (status, num, serving) in expect.items() if status != "closed" and not serving]
    assert len(finished) > 2  # more than the engine's recent list can hold for them
    again = start(province)  # only the retained state of the broker, and the file
    try:
        assert wait_until(lambda: again.state.snapshot().has_queue_state and all(
            c.status == expect[c.number][0] for c in again.state.snapshot().counters), 10)
        assert again.state.snapshot().recent == recent  # the recent list agrees with the tiles again
        tiles = {c.number: c for c in again.state.snapshot().counters}
        assert all(tiles[n].shown_number == expect[n][1] and tiles[n].serving is None for n in finished)
        texts, _, _ = page_texts(again, again.painter.page_of(again.state.snapshot().counters, finished[0]))
        label = cfg.counter(finished[0]).label
        assert texts[texts.index(label) + 1: texts.index(label) + 3] == [expect[finished[0]][1], "Sẵn sàng"]
    finally:
        again.stop()
