"""The kiosk's state machine on its own: refusals, double taps, print timeout, reprint outcome."""
from __future__ import annotations

from kiosk.ticket.controller import Controller, Screen, ServiceView

OK = {"online": True, "state": "ok", "detail": {"paper": "ok"}}
REPLY = {"ticket": {"ticket_id": "T-1", "number": "2001", "service": "HT"}, "waiting_ahead": 0,
         "estimated_wait_s": None}


class Timers:
    def __init__(self) -> None:
        self.pending: list = []

    def __call__(self, delay, fn):
        t = Timer(delay, fn)
        self.pending.append(t)
        return t

    def fire(self, delay) -> None:
        for t in [t for t in self.pending if t.delay == delay and not t.cancelled]:
            t.cancelled = True
            t.fn()


class Timer:
    def __init__(self, delay, fn) -> None:
        self.delay, self.fn, self.cancelled = delay, fn, False

    def cancel(self) -> None:
        self.cancelled = True


def make(ask_priority=False):
    issued = []
    timers = Timers()
    c = Controller([ServiceView("HT", "Hộ tịch", "Tư pháp"), ServiceView("DD", "Đất đai", "Đất đai")],
                   ask_priority, issue_fn=lambda s, p: issued.append((s, p)), set_timer=timers,
                   idle_timeout_s=15, print_timeout_s=8)
    c.engine_online = True
    c.set_printer_status(OK)
    return c, issued, timers


def test_unknown_printer_state_is_not_trusted():
    c, issued, _ = make()
    c.printer = {}
    c.choose_service("HT")
    assert c.view.notice == "offline" and issued == []


def test_double_tap_issues_once_and_home_waits_for_reply():
    c, issued, _ = make()
    c.choose_service("HT")
    c.choose_service("HT")
    c.choose_priority("none")
    c.home()  # an idle timer or a stray tap cannot abandon an issue in flight
    assert issued == [("HT", "none")] and c.view.screen == Screen.ISSUING


def test_print_timeout_then_late_print_and_idle_home():
    c, _, timers = make()
    c.choose_service("HT")
    c.issued(REPLY, "T-1")
    assert c.view.screen == Screen.TICKET and c.view.printed is None
    timers.fire(8)
    assert c.view.printed is False and c.view.notice_args == {"number": "2001"}
    c.print_result({"job_id": "other", "outcome": "printed"})
    assert c.view.printed is False
    c.print_result({"job_id": "T-1", "outcome": "printed"})
    assert c.view.printed is True
    timers.fire(15)
    assert c.view.screen == Screen.HOME


def test_refusals_map_to_notices():
    c, issued, _ = make()
    c.set_queue_state({"services": [{"code": "DD", "open": False, "waiting": 3}]})
    c.choose_service("DD")
    assert c.view.notice == "service_closed" and c.view.notice_args == {"service": "Đất đai"}
    c.home()
    c.choose_service("HT")
    c.refused("quota_reached")
    assert c.view.notice == "quota_reached"
    c.home()
    c.choose_service("HT")
    c.refused("internal", "Có lỗi trong hệ thống, vui lòng báo cán bộ.")
    assert c.view.notice == "error" and "báo cán bộ" in c.text("error", **c.view.notice_args)
    c.home()
    c.set_engine_status({"device": "engine", "online": False})
    c.choose_service("HT")
    assert c.view.notice == "engine_down"
    c.home()
    c.set_engine_status({"online": True})
    c.set_printer_status({"online": True, "state": "error", "detail": {"problem": "cover_open"}})
    c.choose_service("HT")
    assert c.view.notice == "cover_open"
    assert issued == [("HT", "none"), ("HT", "none")]


def test_kiosk_without_printer_shows_the_number_only():
    c, issued, _ = make()
    c.has_printer = False
    c.printer = {}
    c.choose_service("HT")
    c.issued(REPLY, "T-1")
    assert issued == [("HT", "none")]
    assert c.view.printed is False and c.view.notice == "no_printer"
    assert "2001" in c.text(c.view.notice, **c.view.notice_args)
