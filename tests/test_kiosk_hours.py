"""When a service issues numbers next (ward example hours, holidays, quota), as the kiosk says it."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from edge.config import load
from kiosk.ticket.controller import Controller, Screen, ServiceView, View
from kiosk.ticket.hours import next_opening, week_lines, when_text

ROOT = Path(__file__).resolve().parents[1]
WARD = load(ROOT / "config/examples/ward.toml")
TZ = WARD.office.tz


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


@pytest.mark.parametrize("now,not_today,expect,text", [
    (at(2026, 11, 23, 6, 50), False, at(2026, 11, 23, 7, 30), "07:30 hôm nay"),  # before opening
    (at(2026, 11, 23, 12, 5), False, at(2026, 11, 23, 13, 30), "13:30 hôm nay"),  # lunch break
    (at(2026, 11, 27, 17, 30), False, at(2026, 11, 28, 7, 30), "07:30 ngày mai (Thứ Bảy, 28/11/2026)"),
    (at(2026, 11, 28, 12, 0), False, at(2026, 11, 30, 7, 30), "07:30 Thứ Hai, 30/11/2026"),  # Sunday closed
    (at(2026, 11, 23, 9, 0), True, at(2026, 11, 24, 7, 30), "07:30 ngày mai (Thứ Ba, 24/11/2026)"),  # quota
    (at(2026, 9, 1, 17, 30), False, at(2026, 9, 3, 7, 30), "07:30 Thứ Năm, 03/09/2026"),  # 2/9 is a holiday
    (at(2025, 12, 31, 18, 0), False, at(2026, 1, 2, 7, 30), "07:30 Thứ Sáu, 02/01/2026"),  # 1/1 too
])
def test_next_opening(now, not_today, expect, text) -> None:
    svc = WARD.service("DD")
    got = next_opening(WARD, svc, now, not_today)
    assert got == expect
    assert when_text("vi", got, now) == text


def test_switched_off_service_and_english() -> None:
    off = WARD.service("DD").model_copy(update={"enabled": False})
    assert next_opening(WARD, off, at(2026, 11, 23, 9, 0)) is None
    now = at(2026, 11, 27, 17, 30)
    assert when_text("en", next_opening(WARD, WARD.service("DD"), now), now) == "07:30 tomorrow (Saturday, 28/11/2026)"


def test_week_lines_join_days_with_the_same_hours() -> None:
    assert week_lines(WARD.office.hours) == ["Thứ Hai – Thứ Sáu: 07:30–11:30, 13:30–17:00", "Thứ Bảy: 07:30–11:30"]
    small = load(ROOT / "tests/data/small.toml")
    assert week_lines(small.office.hours) == ["Thứ Hai – Chủ Nhật: 00:00–24:00"]


def test_controller_says_when_to_come_back() -> None:
    now = at(2026, 11, 23, 12, 5)
    ctrl = Controller([ServiceView("DD", "Đất đai - Xây dựng", "", open=False)], ask_priority=True,
                      next_open=lambda code, not_today: next_opening(WARD, WARD.service(code), now, not_today),
                      now=lambda: now)
    ctrl.engine_online = True
    ctrl.printer = {"online": True, "state": "ok"}
    ctrl.choose_service("DD")
    assert ctrl.view.notice == "service_closed_next"
    assert ctrl.text(ctrl.view.notice, **ctrl.view.notice_args) == (
        "Dịch vụ Đất đai - Xây dựng hiện ngoài giờ cấp số thứ tự. Mời quý khách quay lại lấy số lúc 13:30 hôm nay.")
    ctrl.view = View(screen=Screen.ISSUING, service="DD")
    ctrl.refused("quota_reached", "Dịch vụ Đất đai - Xây dựng đã hết số thứ tự hôm nay.")
    assert "quay lại lấy số từ 07:30 ngày mai (Thứ Ba, 24/11/2026)" in ctrl.text(ctrl.view.notice,
                                                                               **ctrl.view.notice_args)
    assert ctrl.all_closed() and ctrl.reopens() == "13:30 hôm nay"
    ctrl.toggle_lang()
    assert ctrl.reopens() == "13:30 today"


def test_a_full_service_says_so_until_the_next_day() -> None:
    ctrl = Controller([ServiceView("DD", "Đất đai", ""), ServiceView("HT", "Hộ tịch", "")], ask_priority=False)
    ctrl.set_queue_state({"day": "2026-11-23", "services": [{"code": "DD", "open": True, "waiting": 3}]})
    ctrl.view = View(screen=Screen.ISSUING, service="DD")
    ctrl.refused("quota_reached")
    assert ctrl.services["DD"].full and not ctrl.services["HT"].full
    ctrl.set_queue_state({"day": "2026-11-23", "services": [{"code": "DD", "open": True, "waiting": 2}]})
    assert ctrl.services["DD"].full
    ctrl.set_queue_state({"day": "2026-11-24", "services": [{"code": "DD", "open": True, "waiting": 0}]})
    assert not ctrl.services["DD"].full
