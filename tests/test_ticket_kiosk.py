"""Ticket kiosk end to end over a real broker: real engine, printer daemon with the virtual
backend, pygame under the dummy driver, taps posted as real SDL touch events."""
from __future__ import annotations

import json
import time

import pygame
import pytest
import zxingcpp
from PIL import Image

from edge.bus import wait_until
from kiosk.ticket.app import TicketKiosk
from kiosk.ticket.controller import Screen
from printer.daemon import PrinterDaemon


class Rig:
    def __init__(self, office) -> None:
        self.office = office
        self.issued: list[dict] = []
        self.results: list[dict] = []
        w = office.client("admin")
        w.subscribe(office.topics.ticket_event("issued"), lambda t, p: self.issued.append(json.loads(p)))
        w.subscribe(office.topics.print_result("printer-1"), lambda t, p: self.results.append(json.loads(p)))
        self.admin = w
        self.kiosk: TicketKiosk | None = None
        self.printer: PrinterDaemon | None = None
        self.engine = None

    def start_printer(self, **update) -> PrinterDaemon:
        dev = self.office.cfg.device("printer-1").model_copy(update=update)
        self.printer = PrinterDaemon(self.office.ctx("printer-1", "printer", device=dev))
        self.printer.start()
        return self.printer

    def start_kiosk(self, **update) -> TicketKiosk:
        dev = self.office.cfg.device("kiosk-1").model_copy(update={"width": 720, "height": 1280, **update})
        self.kiosk = TicketKiosk(self.office.ctx("kiosk-1", "kiosk", device=dev))
        self.kiosk.start()
        return self.kiosk

    @property
    def view(self):
        return self.kiosk.ctrl.view

    def wait_screen(self, screen: Screen, timeout: float = 5) -> None:
        assert wait_until(lambda: self.view.screen == screen and self.kiosk.loop._dirty is False, timeout), \
            (self.view, screen)
        time.sleep(0.05)

    def tap(self, value: tuple, also_mouse: bool = True, mouse_only: bool = False) -> None:
        """Touch the button whose action is ``value``: FINGERDOWN/UP plus SDL's synthesized mouse
        (or, with ``mouse_only``, a click of a real mouse)."""
        assert wait_until(lambda: any(b.value == value for b in self.kiosk.buttons), 5), \
            ([b.value for b in self.kiosk.buttons], value)
        b = next(b for b in self.kiosk.buttons if b.value == value)
        w, h = self.kiosk.loop.size
        x, y = b.rect.center
        common = dict(touch_id=1, finger_id=3, x=x / w, y=y / h, dx=0.0, dy=0.0, pressure=1.0)
        if mouse_only:
            pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1, touch=False))
            pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(x, y), button=1, touch=False))
            return
        pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, **common))
        if also_mouse:
            pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1, touch=True))
        pygame.event.post(pygame.event.Event(pygame.FINGERUP, **common))
        if also_mouse:
            pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(x, y), button=1, touch=True))

    def close(self) -> None:
        if self.kiosk:
            self.kiosk.stop()
        if self.printer and self.printer.healthy():
            self.printer.stop()


@pytest.fixture()
def rig(office):
    r = Rig(office)
    yield r
    r.close()


def ready(rig, engine: bool = True, printer: bool = True, **kiosk):
    if engine:
        rig.engine = rig.office.start_engine()
    if printer:
        rig.start_printer()
    k = rig.start_kiosk(**kiosk)
    if printer:
        assert wait_until(lambda: k.ctrl.printer.get("state") in ("ok", "warning"), 5), k.ctrl.printer
    if engine:
        assert wait_until(lambda: k.ctrl.engine_online, 5)
    rig.wait_screen(Screen.HOME)
    return k


def test_touch_issues_one_ticket_prints_it_and_goes_home(rig):
    k = ready(rig, idle_timeout_s=2)
    rig.tap(("service", "HT"))
    rig.wait_screen(Screen.PRIORITY)
    rig.tap(("priority", "elderly"))
    assert wait_until(lambda: rig.view.screen == Screen.TICKET and rig.view.printed, 8), rig.view
    t = rig.view.ticket
    assert t["service"] == "HT" and t["priority"] == "elderly" and t["number"].isdigit()
    png = rig.printer.backend.output_dir / f"{t['ticket_id']}.png"
    assert png.exists()
    codes = [c.text for c in zxingcpp.read_barcodes(Image.open(png))]
    assert codes == [f"https://motcua.example.vn/ve/{t['ticket_id']}"]
    time.sleep(0.5)
    assert len(rig.issued) == 1, "one touch (finger + synthesized mouse) issued more than one ticket"
    # home again after the idle timeout, by itself
    assert wait_until(lambda: rig.view.screen == Screen.HOME, 6)
    # without the priority step, a real mouse click works too
    k.ctrl.ask_priority = False
    rig.wait_screen(Screen.HOME)
    rig.tap(("service", "DD"), mouse_only=True)
    assert wait_until(lambda: rig.view.screen == Screen.TICKET and rig.view.printed, 8)
    assert [e["ticket"]["service"] for e in rig.issued] == ["HT", "DD"]
    rig.tap(("home",), also_mouse=False)
    assert wait_until(lambda: rig.view.screen == Screen.HOME, 3)
    # English is the second locale
    rig.wait_screen(Screen.HOME)
    rig.tap(("lang",))
    assert wait_until(lambda: k.ctrl.lang == "en", 3)
    assert k.ctrl.text("choose") == "Please choose a service"


def test_paper_out_refuses_without_issuing(rig):
    ready(rig)
    rig.printer.backend.set_state(paper="out")
    assert wait_until(lambda: rig.kiosk.ctrl.printer_problem() == "paper_out", 8)
    rig.tap(("service", "HT"))
    rig.wait_screen(Screen.NOTICE)
    assert rig.view.notice == "paper_out"
    assert "hết giấy" in rig.kiosk.ctrl.text(rig.view.notice)
    time.sleep(0.3)
    assert rig.issued == []


def test_printer_offline_refuses(rig):
    ready(rig)
    rig.printer.stop()  # the daemon's offline status (or its last will) reaches the kiosk
    assert wait_until(lambda: rig.kiosk.ctrl.printer_problem() == "offline", 5)
    rig.wait_screen(Screen.HOME)
    rig.tap(("service", "HT"))
    rig.wait_screen(Screen.NOTICE)
    assert rig.view.notice == "offline" and rig.issued == []


def test_engine_down_says_so(rig):
    ready(rig, engine=False, issue_timeout_s=0.3, ask_priority=False)
    rig.tap(("service", "HT"))
    rig.wait_screen(Screen.NOTICE, timeout=5)
    assert rig.view.notice == "engine_down"
    assert "gián đoạn" in rig.kiosk.ctrl.text("engine_down")
    # once the engine's status says offline, the kiosk refuses before asking
    rig.admin.publish(rig.office.topics.device_status("engine"),
                      {"device": "engine", "online": False}, retain=True)
    assert wait_until(lambda: rig.kiosk.ctrl.engine_online is False, 5)
    assert rig.kiosk.ctrl.blocked() == "engine_down"
    rig.tap(("home",))
    rig.wait_screen(Screen.HOME)
    assert rig.results == []


def test_quota_reached(rig):
    ready(rig, ask_priority=False)
    for i in range(5):  # KD has daily_quota = 5
        r = rig.admin.request(rig.office.topics.ticket_issue, {"service": "KD"}, timeout=3)
        assert r["ok"], r
    rig.tap(("service", "KD"))
    rig.wait_screen(Screen.NOTICE)
    assert rig.view.notice == "quota_next"  # the small office issues around the clock: from 00:00 tomorrow
    text = rig.kiosk.ctrl.text(rig.view.notice, **rig.view.notice_args)
    assert "hết số" in text and "quay lại lấy số từ 00:00 ngày mai" in text
    assert len(rig.issued) == 5


def test_service_closed_from_queue_state_and_from_engine(rig, office):
    # a scripted engine: the engine's reply contract, to force service_closed
    eng = office.client("engine")
    eng.serve(office.topics.ticket_issue, __import__("edge.protocol", fromlist=["IssueRequest"]).IssueRequest,
              lambda req, t: {"id": req.id, "ok": False,
                              "error": {"code": "service_closed", "message": "Ngoài giờ nhận hồ sơ."}})
    eng.set_status("ok")
    ready(rig, engine=False, ask_priority=False)
    assert wait_until(lambda: rig.kiosk.ctrl.engine_online, 5)
    rig.tap(("service", "HT"))
    rig.wait_screen(Screen.NOTICE)
    assert rig.view.notice == "service_closed_next"
    assert "ngoài giờ cấp số" in rig.kiosk.ctrl.text(rig.view.notice, **rig.view.notice_args)
    rig.tap(("home",))
    rig.wait_screen(Screen.HOME)
    # retained queue/state says DD is closed: the kiosk refuses without asking the engine
    eng.publish(office.topics.queue_state, {"day": "2026-11-21", "ts": "2026-11-21T08:00:00+07:00",
                                           "services": [{"code": "DD", "name": "Đất đai", "open": False,
                                                         "waiting": 0}]}, retain=True)
    assert wait_until(lambda: not rig.kiosk.ctrl.services["DD"].open, 5)
    rig.wait_screen(Screen.HOME)
    rig.tap(("service", "DD"))
    rig.wait_screen(Screen.NOTICE)
    assert rig.view.notice == "service_closed_next" and rig.view.notice_args["service"] == "Đất đai"


def test_issued_but_not_printed_shows_number_then_prints_when_paper_returns(rig):
    rig.engine = rig.office.start_engine()
    rig.start_printer(poll_s=60)  # the kiosk learns of the paper only when a print fails
    k = rig.start_kiosk(ask_priority=False, idle_timeout_s=30)
    assert wait_until(lambda: k.ctrl.printer.get("state") == "ok" and k.ctrl.engine_online, 5)
    rig.printer.backend.set_state(paper="out")
    rig.wait_screen(Screen.HOME)
    rig.tap(("service", "HT"))
    assert wait_until(lambda: rig.view.screen == Screen.TICKET and rig.view.printed is False, 8), rig.view
    number = rig.view.ticket["number"]
    assert number in k.ctrl.text("print_failed", **rig.view.notice_args)
    assert k.ctrl.blocked() == "paper_out"  # nothing more is issued meanwhile
    rig.printer.backend.set_state(paper="ok")
    rig.printer.poll_status()
    assert wait_until(lambda: any(r["outcome"] == "printed" and r["number"] == number for r in rig.results), 10)
    assert len(rig.issued) == 1  # reprinted, never re-issued


def test_idle_kiosk_does_not_redraw(rig):
    k = ready(rig)
    n = k.loop.redraws
    c0 = time.process_time()
    time.sleep(1.0)
    cpu = time.process_time() - c0  # whole process: kiosk, printer, engine, MQTT clients
    assert k.loop.redraws == n, "the idle home screen was redrawn"
    assert cpu < 0.5, cpu
    # a status change is one redraw, not a loop
    rig.printer.backend.set_state(paper="low")
    rig.printer.poll_status()
    assert wait_until(lambda: k.ctrl.printer.get("detail", {}).get("paper") == "low", 5)
    time.sleep(0.3)
    assert 1 <= k.loop.redraws - n <= 2
