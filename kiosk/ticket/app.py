"""The ticket kiosk daemon: MQTT on the bus thread, pygame on its own UI thread.

Issue path (latency matters: touch to first printed byte): tap -> ``Controller`` -> a named
issuer thread sends ``ticket/issue`` (retries reuse the id, so a retry never makes a second
ticket) -> on the reply it publishes the ``PrintJob`` straight away, then tells the UI.
MQTT handlers never touch pygame: they hand data to the UI thread with ``UiLoop.call_soon``.

With ``scanner`` set, scans on ``scan/{scanner}`` are receipts: a named lookup thread asks
the hub (``dossier/lookup``, retried with the same id) and the controller offers the ticket.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from edge import protocol as P
from edge.bus import RequestTimeout
from edge.daemon import DaemonContext
from edge.ui import Tap, UiLoop, UiThread, device_loop
from edge.ui.widgets import hit_test
from kiosk.ticket.controller import Controller, Screen, ServiceView
from kiosk.ticket.hours import office_hours
from printer.layout import service_places

log = logging.getLogger(__name__)


class TicketKiosk:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.dev = ctx.device
        cfg = ctx.cfg
        offered = self.dev.services or [s.code for s in cfg.services]
        views = [ServiceView(s.code, s.name, s.field, name_en=s.name_en, places=service_places(cfg, s.code))
                 for s in cfg.services if s.code in offered]
        receipt_codes = {c for c in (self.dev.return_service, self.dev.supplement_service,
                                     *self.dev.supplement_services.values()) if c} if self.dev.scanner else set()
        extra = [ServiceView(s.code, s.name, s.field, name_en=s.name_en, places=service_places(cfg, s.code))
                 for s in cfg.services if s.code in receipt_codes and s.code not in offered]
        self.title = cfg.office.name
        self.bus = ctx.bus()
        self.loop: UiLoop | None = None
        self.ctrl = Controller(views, self.dev.ask_priority, lang=cfg.office.locale,
                               issue_fn=self._issue, idle_timeout_s=self.dev.idle_timeout_s,
                               print_timeout_s=self.dev.print_timeout_s, has_printer=bool(self.dev.printer),
                               lookup_fn=self._lookup if self.dev.scanner else None,
                               return_service=self.dev.return_service, supplement_for=self._supplement_for,
                               today=lambda: ctx.clock.now().date(), extra_services=extra,
                               redeem_fn=self._redeem if self.dev.scanner and getattr(cfg.hub, "appointments", False)
                               else None,
                               **office_hours(cfg, ctx.clock.now))
        self.buttons: list[Any] = []
        self.pressed: tuple | None = None  # action under the finger, drawn darker
        self.screen_seq = 0  # bumps on every redraw: tests and tools wait on it
        self._ui = UiThread(f"kiosk-ui-{self.dev.id}", self._ui_main)
        self._n = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._ui.start("kiosk UI")
        t = self.ctx.topics
        if self.dev.printer:
            self.bus.subscribe(t.device_status(self.dev.printer), self._on(self.ctrl.set_printer_status))
            self.bus.subscribe(t.print_result(self.dev.printer), self._on(self.ctrl.print_result))
        self.bus.subscribe(t.device_status("engine"), self._on(self.ctrl.set_engine_status))
        self.bus.subscribe(t.queue_state, self._on(self.ctrl.set_queue_state))
        if self.dev.scanner:
            self.bus.subscribe(t.scan(self.dev.scanner), self._on_scan)
        self.bus.start(wait=5)
        self.bus.set_status("ok", {"mode": "ticket", "printer": self.dev.printer})

    def stop(self) -> None:
        self._ui.stop(self.loop)
        self.bus.stop()

    def healthy(self) -> bool:
        return self._ui.alive()

    # ------------------------------------------------------------------ UI thread
    def _ui_main(self) -> None:
        import pygame

        from kiosk.ticket.screens import draw
        loop = device_loop(self.ctx, self.title)
        self.loop = loop
        self.ctrl.on_change = loop.invalidate
        self.ctrl.set_timer = loop.call_later

        def on_draw(surface: pygame.Surface) -> None:
            self.buttons = draw(surface, self.ctrl, self.title, self.pressed)
            self.screen_seq += 1

        loop.on_draw = on_draw
        loop.on_tap = self._on_tap
        loop.on_press = self._on_press
        loop.on_event = self._on_key
        if self.ctrl.redeem_fn is not None:
            from edge.ui.keyboard import Keyboard
            w, h = loop.size
            self.ctrl.keyboard = Keyboard(pygame.Rect(16, h * 11 // 20, w - 32, h * 7 // 20), "code", max_len=40,
                                          ok_label=self.ctrl.text("booking_ok"))
        self._ui.ready.set()
        try:
            loop.run()
        finally:
            pygame.display.quit()

    def _on_press(self, pos: tuple[int, int]) -> None:
        b = hit_test(self.buttons, pos)
        if b is not None and self.loop is not None:
            self.pressed = b.value
            self.loop.invalidate()

    def _on_tap(self, tap: Tap) -> None:
        if self.pressed is not None and self.loop is not None:
            self.pressed = None
            self.loop.invalidate()
        kb = self.ctrl.keyboard
        if self.ctrl.view.screen == Screen.BOOKING and kb is not None:
            result = kb.tap(tap.pos)
            if result is not None:
                return self.ctrl.typed_booking() if result == "enter" else self.ctrl.key_pressed()
        b = hit_test(self.buttons, tap.pos)
        if b is None or not b.hit(tap.up):
            return  # slid off the button: not a press
        action = b.value
        if action[0] == "service":
            self.ctrl.choose_service(action[1])
        elif action[0] == "priority":
            self.ctrl.choose_priority(action[1])
        elif action[0] == "home":
            self.ctrl.home()
        elif action[0] == "lang":
            self.ctrl.toggle_lang()
        elif action[0] == "receipt":
            self.ctrl.take_receipt_ticket()
        elif action[0] == "booking":
            self.ctrl.open_booking()

    def _on_key(self, event: Any) -> None:
        import pygame
        kb = self.ctrl.keyboard
        if self.ctrl.view.screen != Screen.BOOKING or kb is None or event.type not in (pygame.TEXTINPUT,
                                                                                        pygame.KEYDOWN):
            return
        result = kb.handle(event)
        if result == "enter":
            self.ctrl.typed_booking()
        elif result is not None:
            self.ctrl.key_pressed()

    def _on(self, fn: Any) -> Any:
        def handler(topic: str, payload: bytes) -> None:
            try:
                data = P.decode_json(payload) if payload else {}
            except P.BadPayload as exc:
                log.warning("ignoring unreadable %s: %s", topic, exc)
                return
            if self.loop is not None:
                self.loop.call_soon(fn, data)
        return handler

    # ------------------------------------------------------------------ receipts (own thread)
    def _supplement_for(self, field: str | None) -> str | None:
        """The service that takes a dossier's missing documents: by its upstream field, else the default."""
        return self.dev.supplement_services.get(field or "") or self.dev.supplement_service

    def _on_scan(self, topic: str, payload: bytes) -> None:
        try:
            scan = P.Scan.model_validate(P.decode_json(payload))
        except Exception as exc:  # noqa: BLE001 - a bad scan payload is logged, never fatal
            log.warning("ignoring bad scan on %s: %s", topic, type(exc).__name__)
            return
        if self.loop is not None:
            self.loop.call_soon(self.ctrl.scanned, scan.code)

    def _lookup(self, code: str, seq: int) -> None:
        self._ask_hub("receipt", self.ctx.topics.dossier_lookup, code, seq, self.ctrl.looked_up,
                      self.ctrl.lookup_failed)

    def _redeem(self, code: str, seq: int) -> None:
        self._ask_hub("booking", self.ctx.topics.appointment_redeem, code, seq, self.ctrl.redeemed,
                      self.ctrl.redeem_failed)

    def _ask_hub(self, what: str, topic: str, code: str, seq: int, on_reply: Any, on_timeout: Any) -> None:
        """One request to the hub on a named thread (retried once with the same id); the answer goes
        to the UI thread."""
        def work() -> None:
            assert self.loop is not None
            try:
                reply = self.bus.request(topic, {"code": code}, timeout=self.dev.lookup_timeout_s, retries=1)
            except RequestTimeout:
                log.warning("the hub did not answer a %s request", what)
                self.loop.call_soon(on_timeout, seq)
                return
            self.loop.call_soon(on_reply, seq, reply)
        threading.Thread(target=work, name=f"kiosk-{what}-{self.dev.id}", daemon=True).start()

    # ------------------------------------------------------------------ issuing (own thread)
    def _issue(self, service: str, priority: str, **extra: str) -> None:
        """``extra``: the project's optional issue fields (``dossier``, ``person``, ``age_bracket``)."""
        threading.Thread(target=self._issue_worker, args=(service, priority), kwargs=extra,
                         name=f"kiosk-issue-{self.dev.id}", daemon=True).start()

    def _issue_worker(self, service: str, priority: str, **extra: str) -> None:
        assert self.loop is not None
        body: dict[str, Any] = {"service": service, "priority": priority, "source": self.dev.id, **extra}
        try:
            reply = self.bus.request(self.ctx.topics.ticket_issue, body,
                                     timeout=self.dev.issue_timeout_s, retries=1)
        except RequestTimeout:
            log.warning("engine did not answer an issue request")
            self.loop.call_soon(self.ctrl.refused, "engine_down")
            return
        if not reply.get("ok"):
            err = reply.get("error") or {}
            self.loop.call_soon(self.ctrl.refused, err.get("code", "internal"), err.get("message"))
            return
        job_id = self.send_print_job(reply)
        self.loop.call_soon(self.ctrl.issued, reply, job_id)

    def send_print_job(self, reply: dict[str, Any], reprint: bool = False) -> str:
        """Publish the print job for an issued ticket; the job id derives from the ticket id."""
        ticket = reply["ticket"]
        job_id = f"{ticket['ticket_id']}{'-r' if reprint else ''}"[:64]
        if self.dev.printer:
            job = P.PrintJob(job_id=job_id, ticket=ticket, waiting_ahead=reply.get("waiting_ahead"),
                             estimated_wait_s=reply.get("estimated_wait_s"), source=self.dev.id,
                             reprint=reprint, created_at=P.rfc3339(self.ctx.clock.now()))
            self.bus.publish(self.ctx.topics.print_job(self.dev.printer), job)
        return job_id


def create(ctx: DaemonContext) -> TicketKiosk:
    return TicketKiosk(ctx)
