"""The ticket kiosk's screen state machine. Runs on the UI thread only; knows no pygame.

It keeps what the kiosk must know BEFORE issuing -- its printer's retained status, the
engine's status, and services' open flags from ``queue/state`` -- and refuses with a plain
Vietnamese notice instead of issuing when any of them says no.

Issued-but-not-printed policy: the ticket is NOT cancelled. The citizen has already seen the
number on screen and the print job waits in the printer's durable queue, so it prints as soon
as the printer recovers (within the printer's ``max_job_age_s``; after that the job is dropped
and the number is still called). The kiosk shows the number with a "please remember" notice
and issues nothing more until the printer is back.

Receipts (issue 16): with a reader, a scanned dossier code is looked up on the hub first;
the kiosk then offers the ticket the dossier needs (result ready: the return service;
waiting for documents: the field's service), or shows the status and issues only on
request. The ticket carries the dossier code so the visit can be tied to the dossier.

ID cards: the scanner hands over a citizen ID card only as its token (kiosk/ticket/cccd.py):
the kiosk greets by title, gives the elderly priority by age without asking, and sends the
token's day-keyed hash and age bracket with the next ticket (the engine caps tickets per
person). It is not proof of identity: the clerk still checks the card.
"""
from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from kiosk.ticket.cccd import CardToken, parse_token
from kiosk.ticket.hours import when_text
from kiosk.ticket.texts import DEFAULT_CATEGORIES, tr

log = logging.getLogger(__name__)


class Screen(enum.Enum):
    HOME = "home"
    PRIORITY = "priority"
    ISSUING = "issuing"
    TICKET = "ticket"
    NOTICE = "notice"
    LOOKING = "looking"    # a scanned receipt is being looked up on the hub
    RECEIPT = "receipt"    # the receipt's dossier, and the ticket it calls for
    BOOKING = "booking"    # "Đã đặt lịch hẹn": type the booking code
    REDEEMING = "redeeming"  # the hub checks the booking


@dataclass
class ServiceView:
    code: str
    name: str
    field: str
    open: bool = True
    waiting: int | None = None
    name_en: str | None = None
    places: tuple[str, ...] = ()  # "Khu D – Tầng 2, Quầy D01–D06": where the ticket sends you
    full: bool = False  # the engine said quota_reached today: the button says so until the day changes

    def label(self, lang: str) -> str:
        """The service's name in ``lang`` (English only when the config gives one)."""
        return self.name_en if lang == "en" and self.name_en else self.name


@dataclass
class View:
    screen: Screen = Screen.HOME
    service: str | None = None
    priority: str = "none"
    ticket: dict[str, Any] | None = None
    waiting_ahead: int | None = None
    estimated_wait_s: int | None = None
    job_id: str | None = None
    printed: bool | None = None  # None: printing, True: printed, False: failed
    notice: str | None = None     # texts key
    notice_args: dict[str, Any] = field(default_factory=dict)
    dossier: dict[str, Any] | None = None  # the scanned receipt's dossier (hub's reply)
    offer: str | None = None               # service code of the ticket the receipt calls for
    offer_kind: str | None = None          # "return" | "supplement" | "ask"
    booking: dict[str, Any] | None = None  # the redeemed booking (hub's reply): code, service, slot_at
    walk_in: bool = False                  # the booking came too late: an ordinary number


class Controller:
    """State + decisions. ``issue_fn(service, priority)`` starts an issue off the UI thread."""

    def __init__(self, services: list[ServiceView], ask_priority: bool, lang: str = "vi",
                 on_change: Callable[[], None] = lambda: None,
                 issue_fn: Callable[[str, str], None] | None = None,
                 set_timer: Callable[[float, Callable[[], None]], Any] | None = None,
                 idle_timeout_s: float = 15, print_timeout_s: float = 8, has_printer: bool = True,
                 categories: list[tuple[str, str, str | None]] | None = None,
                 next_open: Callable[[str, bool], datetime | None] | None = None,
                 now: Callable[[], datetime] | None = None,
                 hours: Callable[[str], list[str]] | None = None,
                 lookup_fn: Callable[[str, int], None] | None = None,
                 return_service: str | None = None,
                 supplement_for: Callable[[str | None], str | None] | None = None,
                 today: Callable[[], Any] | None = None,
                 extra_services: list[ServiceView] | None = None,
                 redeem_fn: Callable[[str, int], None] | None = None) -> None:
        self.services = {s.code: s for s in services}
        # services a receipt can lead to without a button on the home screen
        for s in extra_services or []:
            self.services.setdefault(s.code, s)
        self.lookup_fn = lookup_fn
        self.redeem_fn = redeem_fn  # bookings: ask the hub to redeem a code once
        self.keyboard: Any = None   # the booking code's touch keyboard (set by the app)
        self.typed_error = ""
        self.return_service = return_service
        self.supplement_for = supplement_for or (lambda fld: None)
        self.today = today
        self._lookup_seq = 0
        self.person: CardToken | None = None  # the ID card scanned for the next ticket
        #: (wire value, Vietnamese name, English name) offered on the priority screen
        self.categories = list(categories if categories is not None else DEFAULT_CATEGORIES)
        #: (service code, not today) -> when the service issues numbers next (None: unknown)
        self.next_open = next_open or (lambda code, not_today: None)
        self.now = now or (lambda: datetime.now().astimezone())
        #: lang -> the office's ticket hours, one line per group of days
        self.hours = hours or (lambda lang: [])
        self.order = [s.code for s in services]
        self.ask_priority = ask_priority
        self.lang = lang
        self.view = View()
        self._day: str | None = None  # queue/state's day: a new one resets the quota marks
        self.printer: dict[str, Any] = {}
        self.engine_online: bool | None = None
        self.on_change = on_change
        self.issue_fn = issue_fn
        self.set_timer = set_timer
        self.idle_timeout_s = idle_timeout_s
        self.print_timeout_s = print_timeout_s
        self.has_printer = has_printer  # a kiosk without a printer shows the number only
        self._timer: Any = None
        self._print_timer: Any = None

    # ------------------------------------------------------------------ knowledge
    def printer_problem(self) -> str | None:
        """offline / paper_out / cover_open, or None when the printer can take a ticket."""
        st = self.printer
        if not self.has_printer:
            return None
        if not st:
            return "offline"  # never heard from it: do not promise a ticket
        if st.get("online") is False:
            return "offline"
        if st.get("state") == "error":
            prob = (st.get("detail") or {}).get("problem")
            return prob if prob in ("paper_out", "offline", "cover_open") else "offline"
        return None

    def all_closed(self) -> bool:
        """Every service offered here is closed now (out of hours, holiday, switched off)."""
        return bool(self.services) and not any(s.open for s in self.services.values())

    def reopens(self) -> str | None:
        """When the first of this kiosk's services issues numbers again, in the kiosk's language."""
        times = [t for code in self.order if (t := self.next_open(code, False)) is not None]
        return when_text(self.lang, min(times), self.now()) if times else None

    def priority_label(self, priority: str) -> str:
        cat = next((c for c in self.categories if c[0] == priority), None)
        if cat is None:
            return priority
        return cat[2] if self.lang == "en" and cat[2] else cat[1]

    def blocked(self) -> str | None:
        """Why no ticket can be issued at all right now (texts key), or None."""
        if self.engine_online is False:
            return "engine_down"
        return self.printer_problem()

    def set_printer_status(self, status: dict[str, Any]) -> None:
        self.printer = status
        v = self.view
        if v.screen == Screen.TICKET and v.printed is None and self.printer_problem():
            self._print_failed()
        self.on_change()

    def set_engine_status(self, status: dict[str, Any]) -> None:
        self.engine_online = bool(status.get("online"))
        self.on_change()

    def set_queue_state(self, state: dict[str, Any]) -> None:
        day = state.get("day")
        if day and self._day and day != self._day:
            for sv in self.services.values():
                sv.full = False  # numbering restarted: quotas too
        self._day = day or self._day
        for s in state.get("services") or []:
            sv = self.services.get(s.get("code"))
            if sv is not None:
                sv.open = bool(s.get("open", True))
                sv.waiting = s.get("waiting")
        self.on_change()

    # ------------------------------------------------------------------ input
    def toggle_lang(self) -> None:
        self.lang = "en" if self.lang == "vi" else "vi"
        self._arm_idle()
        self.on_change()

    def choose_service(self, code: str) -> None:
        if self.view.screen != Screen.HOME:
            return
        self._start(code, None)

    def _start(self, code: str, dossier: dict[str, Any] | None) -> None:
        """Refuse with a notice, ask the priority, or issue: a ticket for ``code`` (for ``dossier``)."""
        svc = self.services.get(code)
        if svc is None:
            return self._notice("unknown_service")
        why = self.blocked()
        if why:
            return self._notice(why)
        if not svc.open:
            return self._closed_notice(svc)
        if self.person is not None and self.person.elderly and any(c[0] == "elderly" for c in self.categories):
            self.view = View(screen=Screen.HOME, service=code, dossier=dossier)
            self.choose_priority("elderly", code)  # the card says so: no need to ask
        elif self.ask_priority and self.categories:
            self.view = View(screen=Screen.PRIORITY, service=code, dossier=dossier)
            self._arm_idle()
            self.on_change()
        else:
            self.choose_priority("none", code)

    def choose_priority(self, priority: str, code: str | None = None) -> None:
        code = code or self.view.service
        if code is None or self.view.screen not in (Screen.HOME, Screen.PRIORITY, Screen.RECEIPT,
                                                     Screen.REDEEMING):
            return
        why = self.blocked()
        if why:
            return self._notice(why)
        dossier, booking, late = self.view.dossier, self.view.booking, self.view.walk_in
        self.view = View(screen=Screen.ISSUING, service=code, priority=priority, dossier=dossier,
                         booking=booking, walk_in=late)
        self._cancel_idle()
        self.on_change()
        if self.issue_fn is not None:
            extra: dict[str, Any] = {"dossier": dossier["code"]} if dossier else {}
            if booking and not late:
                extra.update(appointment=booking["code"], slot_at=booking["slot_at"])
            if self.person is not None:
                extra.update(person=self.person.person, age_bracket=self.person.bracket)
            self.issue_fn(code, priority, **extra)

    def home(self) -> None:
        if self.view.screen == Screen.ISSUING:
            return  # never abandon an issue in flight: its reply decides the next screen
        self._lookup_seq += 1  # a receipt lookup still on its way is no longer wanted
        self.person = None
        self.view = View()
        self._cancel_idle()
        self.on_change()

    # ------------------------------------------------------------------ results (UI thread)
    def issued(self, reply: dict[str, Any], job_id: str) -> None:
        self.view = View(screen=Screen.TICKET, service=self.view.service, priority=self.view.priority,
                         ticket=reply.get("ticket"), waiting_ahead=reply.get("waiting_ahead"),
                         estimated_wait_s=reply.get("estimated_wait_s"), job_id=job_id,
                         dossier=self.view.dossier, booking=self.view.booking, walk_in=self.view.walk_in)
        self.person = None  # one scan of a card, one ticket
        if not self.has_printer:
            self.view.printed = False
            self.view.notice = "no_printer"
            self.view.notice_args = {"number": (self.view.ticket or {}).get("number", "")}
        elif self.printer_problem():
            self._print_failed()
        elif self.set_timer:
            self._print_timer = self.set_timer(self.print_timeout_s, self._print_timeout)
        self._arm_idle()
        self.on_change()

    def print_result(self, result: dict[str, Any]) -> None:
        v = self.view
        if v.job_id is None or result.get("job_id") != v.job_id:
            return
        outcome = result.get("outcome")
        if outcome == "printed":
            v.printed = True
            if self._print_timer is not None:
                self._print_timer.cancel()
            self._arm_idle()
        elif outcome in ("expired", "rejected", "failed"):
            self._print_failed()
        self.on_change()

    def refused(self, code: str, message: str | None = None) -> None:
        svc = self.services.get(self.view.service or "")
        name = svc.name if svc else ""
        if code == "service_closed" and svc:
            svc.open = False
            self._closed_notice(svc)
        elif code == "quota_reached" and svc:
            svc.full = True
            when = self._when(svc.code, True)
            self._notice("quota_next", service=svc.label(self.lang), when=when) if when else \
                self._notice("quota_reached", service=svc.label(self.lang))
        elif code == "rate_limited" and self.person is not None:
            self.person = None
            self._notice("person_limit", message=message or "")
        elif code in ("quota_reached", "service_closed"):
            self._notice(code, service=name)
        elif code in ("engine_down", "unknown_service", "paper_out", "offline", "cover_open"):
            self._notice(code)
        else:
            self._notice("error", message=message or code)

    # ------------------------------------------------------------------ receipts (issue 16)
    def scanned(self, text: str) -> None:
        """A code from the kiosk's reader: a dossier receipt is looked up on the hub."""
        from hub.codes import CodeError, parse
        if self.view.screen in (Screen.ISSUING, Screen.PRIORITY) or self.lookup_fn is None:
            return  # a ticket is being taken: a stray scan must not change what it is for
        card = parse_token(text)
        if card is not None:
            self.person = card
            if self.view.screen not in (Screen.HOME, Screen.RECEIPT):
                self.view = View()
            self._arm_idle()
            self.on_change()
            return
        try:
            code = parse(text, self.today() if self.today else None).code
        except CodeError as exc:
            if self.redeem_fn is not None:  # not a receipt: a booking's QR, which the hub decides on
                return self.redeem(text)
            return self._notice("bad_scan", detail=exc.message)
        why = self.blocked()
        if why:
            return self._notice(why)
        self._lookup_seq += 1
        self.view = View(screen=Screen.LOOKING, dossier={"code": code})
        self._arm_idle(factor=2)
        self.on_change()
        self.lookup_fn(code, self._lookup_seq)

    def looked_up(self, seq: int, reply: dict[str, Any]) -> None:
        """The hub's answer to a receipt lookup: offer the ticket the dossier calls for."""
        if seq != self._lookup_seq or self.view.screen != Screen.LOOKING:
            log.info("dropping a late receipt lookup reply")
            return
        code = (self.view.dossier or {}).get("code", "")
        if not reply.get("ok"):
            err = (reply.get("error") or {}).get("code")
            return self._notice("receipt_not_found" if err == "not_found" else "receipt_unavailable", code=code)
        d = reply.get("dossier") or {}
        try:
            status = int(d.get("status", 0))
        except (TypeError, ValueError):
            status = 0
        d = {**d, "code": d.get("code") or code, "status": status}
        if status == 9 and self._usable(self.return_service):
            offer, kind = self.return_service, "return"
        elif status == 5 and self._usable(self.supplement_for(d.get("field"))):
            offer, kind = self.supplement_for(d.get("field")), "supplement"
        else:
            svc = self.supplement_for(d.get("field"))
            offer, kind = (svc, "ask") if self._usable(svc) else (None, None)
        self.view = View(screen=Screen.RECEIPT, dossier=d, offer=offer, offer_kind=kind, service=offer)
        self._arm_idle(factor=2)
        self.on_change()

    def lookup_failed(self, seq: int) -> None:
        if seq == self._lookup_seq and self.view.screen == Screen.LOOKING:
            self._notice("receipt_unavailable", code=(self.view.dossier or {}).get("code", ""))

    def take_receipt_ticket(self) -> None:
        """The citizen accepts the ticket the receipt screen offers; it carries the dossier code."""
        v = self.view
        if v.screen != Screen.RECEIPT or not v.offer:
            return
        self._start(v.offer, v.dossier)

    # ------------------------------------------------------------------ bookings (issue 16)
    def open_booking(self) -> None:
        """'Đã đặt lịch hẹn' on the home screen: type the booking code (or scan its QR)."""
        if self.view.screen != Screen.HOME or self.redeem_fn is None:
            return
        self.typed_error = ""
        if self.keyboard is not None:
            self.keyboard.text = ""
            self.keyboard.ok_label = self.text("booking_ok")
        self.view = View(screen=Screen.BOOKING)
        self._arm_idle(factor=2)
        self.on_change()

    def typed_booking(self) -> None:
        text = (self.keyboard.text if self.keyboard is not None else "").strip()
        if len(text) < 3:
            self.typed_error = self.text("booking_short")
            self._arm_idle(factor=2)
            return self.on_change()
        self.redeem(text)

    def key_pressed(self) -> None:
        self.typed_error = ""
        self._arm_idle(factor=2)
        self.on_change()

    def redeem(self, text: str) -> None:
        """Ask the hub to redeem a booking (the hub refuses a second redemption)."""
        if self.redeem_fn is None:
            return
        why = self.blocked()
        if why:
            return self._notice(why)
        self._lookup_seq += 1
        self.view = View(screen=Screen.REDEEMING)
        self._cancel_idle()
        self.on_change()
        self.redeem_fn(text, self._lookup_seq)

    def redeemed(self, seq: int, reply: dict[str, Any]) -> None:
        """The hub's answer: issue the booking's ticket (or, too late, an ordinary one)."""
        if seq != self._lookup_seq or self.view.screen != Screen.REDEEMING:
            return
        if not reply.get("ok"):
            err = reply.get("error") or {}
            return self._notice("booking_refused", message=err.get("message") or "")
        booking = reply.get("appointment") or {}
        svc = self.services.get(str(booking.get("service") or ""))
        if svc is None:
            return self._notice("unknown_service")
        self.view = View(screen=Screen.REDEEMING, service=svc.code, booking=booking,
                         walk_in=bool(reply.get("walk_in")))
        prio = "elderly" if self.person is not None and self.person.elderly and \
            any(c[0] == "elderly" for c in self.categories) else "none"
        self.choose_priority(prio, svc.code)

    def redeem_failed(self, seq: int) -> None:
        if seq == self._lookup_seq and self.view.screen == Screen.REDEEMING:
            self._notice("booking_unavailable")

    def greeting(self) -> str | None:
        """'Kính chào bà! …' after an ID card was scanned (no name: the kiosk never has it)."""
        p = self.person
        if p is None:
            return None
        args = {"title": p.title, "Title": p.title.capitalize()}
        if p.elderly and any(c[0] == "elderly" for c in self.categories):
            return self.text("greet_elderly", category=self.priority_label("elderly"), **args)
        return self.text("greet", **args)

    def _usable(self, code: str | None) -> bool:
        return bool(code) and code in self.services

    # ------------------------------------------------------------------ helpers
    def _print_timeout(self) -> None:
        if self.view.screen == Screen.TICKET and self.view.printed is None:
            self._print_failed()
            self.on_change()

    def _print_failed(self) -> None:
        v = self.view
        v.printed = False
        v.notice = "print_failed"
        v.notice_args = {"number": (v.ticket or {}).get("number", "")}
        self._arm_idle(factor=2)

    def _closed_notice(self, svc: ServiceView) -> None:
        when = self._when(svc.code, False)
        if when:
            self._notice("service_closed_next", service=svc.label(self.lang), when=when)
        else:
            self._notice("service_closed", service=svc.label(self.lang))

    def _when(self, code: str, not_today: bool) -> str | None:
        at = self.next_open(code, not_today)
        return when_text(self.lang, at, self.now()) if at is not None else None

    def _notice(self, key: str, **args: Any) -> None:
        self.view = View(screen=Screen.NOTICE, service=self.view.service, notice=key, notice_args=args)
        self._arm_idle()
        self.on_change()

    def _cancel_idle(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm_idle(self, factor: float = 1) -> None:
        self._cancel_idle()
        if self.set_timer:
            self._timer = self.set_timer(self.idle_timeout_s * factor, self.home)

    def text(self, key: str, **kw: Any) -> str:
        return tr(self.lang, key, **kw)

