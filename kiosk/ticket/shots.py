"""Render every ticket-kiosk screen (and an 80 mm ticket) to PNG, headless.

    SDL_VIDEODRIVER=dummy python -m kiosk.ticket.shots [CONFIG] [OUTDIR]

Defaults: config/examples/ward.toml, docs/screenshots. Files: ``kiosk-<screen>-<orient>.png``
and ``ticket-80mm.png`` / ``ticket-58mm.png``. No broker needed: the screens are drawn from
a ``Controller`` put into each state, exactly as the running kiosk draws them.
"""
from __future__ import annotations

import logging
import os
import sys
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

SHOT_TIME = datetime(2026, 11, 23, 12, 5)  # a Monday's lunch break: the afternoon window is next

SAMPLE_REPLY = {"ticket": {"ticket_id": "20261121-HT-0023", "number": "2023", "seq": 23, "service": "HT",
                           "service_name": "", "priority": "none", "day": "2026-11-21",
                           "issued_at": "2026-11-21T08:15:02+07:00", "status": "waiting", "counter": None},
                "waiting_ahead": 5, "estimated_wait_s": 900}


def _states(ctrl, cfg):
    from kiosk.ticket.controller import Screen, View
    first = ctrl.order[0]
    svc = ctrl.services[first]
    reply = {**SAMPLE_REPLY, "ticket": {**SAMPLE_REPLY["ticket"], "service": first, "service_name": svc.name}}
    ok = {"online": True, "state": "ok", "detail": {"paper": "ok"}}
    yield "home", ok, lambda: None
    yield "home-paper-out", {"online": True, "state": "error", "detail": {"problem": "paper_out"}}, lambda: None
    yield "priority", ok, lambda: setattr(ctrl, "view", View(screen=Screen.PRIORITY, service=first))
    yield "issuing", ok, lambda: setattr(ctrl, "view", View(screen=Screen.ISSUING, service=first))

    def ticket(printed):
        def go():
            ctrl.view = View(screen=Screen.TICKET, service=first, ticket=reply["ticket"], waiting_ahead=5,
                             estimated_wait_s=900, job_id="x", printed=printed,
                             notice="print_failed" if printed is False else None,
                             notice_args={"number": "2023"})
        return go
    yield "ticket-printing", ok, ticket(None)
    yield "ticket-printed", ok, ticket(True)
    yield "ticket-print-failed", ok, ticket(False)
    for key, args in (("paper_out", {}), ("offline", {}), ("cover_open", {}), ("engine_down", {})):
        yield f"notice-{key.replace('_', '-')}", ok, (lambda k=key, a=args: setattr(
            ctrl, "view", View(screen=Screen.NOTICE, service=first, notice=k, notice_args=a)))
    # the refusals as the engine gives them, so the notice says when to come back
    yield "notice-quota-reached", ok, lambda: (setattr(ctrl, "view", View(screen=Screen.ISSUING, service=first)),
                                               ctrl.refused("quota_reached"))
    yield "notice-service-closed", ok, lambda: (setattr(ctrl, "view", View(screen=Screen.ISSUING, service=first)),
                                                ctrl.refused("service_closed"))

    def all_closed():
        for sv in ctrl.services.values():
            sv.open = False
    yield "home-closed", ok, all_closed
    yield from _receipt_states(ctrl, ok)


def _receipt_states(ctrl, ok):
    """Receipts scanned at a kiosk with a reader (issue 16); the dossier is the simulator's kind."""
    from kiosk.ticket.controller import Screen, View
    codes = ctrl.order
    ret = next((c for c in codes if "trả kết quả" in ctrl.services[c].name.lower()), codes[-1])
    sup = next(c for c in codes if c != ret)
    code = "000.17.22.H56-261120-0042"
    base = {"code": code, "procedure": "Đăng ký khai sinh", "field": "Hộ tịch",
            "due_at": "2026-11-26T17:00:00+07:00", "status_text": ""}

    def with_reader():
        ctrl.lookup_fn = lambda c, seq: None
        ctrl.return_service = ret
    yield "home-reader", ok, with_reader

    def card(title, elderly):
        from kiosk.ticket.cccd import CardToken
        with_reader()
        ctrl.person = CardToken("70-79" if elderly else "30-39", title, elderly, "0" * 32)
    yield "home-card-elderly", ok, lambda: card("ông", True)
    yield "home-card", ok, lambda: card("bà", False)
    yield "receipt-looking", ok, lambda: (with_reader(), setattr(ctrl, "view", View(screen=Screen.LOOKING,
                                                                                    dossier={"code": code})))
    for name, status, text, offer, kind in (("ready", 9, "Đã có kết quả", ret, "return"),
                                            ("missing", 5, "Yêu cầu bổ sung giấy tờ", sup, "supplement"),
                                            ("in-process", 4, "Đang xử lý", sup, "ask")):
        yield f"receipt-{name}", ok, (lambda st=status, tx=text, of=offer, k=kind: (with_reader(), setattr(
            ctrl, "view", View(screen=Screen.RECEIPT, service=of, offer=of, offer_kind=k,
                               dossier={**base, "status": st, "status_text": tx}))))
    reply_ticket = {**SAMPLE_REPLY["ticket"], "service": ret, "service_name": ctrl.services[ret].name,
                    "dossier": code, "number": "1008"}
    yield "receipt-ticket", ok, lambda: (with_reader(), setattr(ctrl, "view", View(
        screen=Screen.TICKET, service=ret, ticket=reply_ticket, waiting_ahead=2, estimated_wait_s=300,
        job_id="x", printed=True, dossier=base)))
    yield from _booking_states(ctrl, ok, with_reader, sup)


def _booking_states(ctrl, ok, with_reader, code):
    """Bookings (issue 16): the home entry, the code keyboard, the check, the tickets."""
    from kiosk.ticket.controller import Screen, View

    def bookings(view=None, typed=""):
        with_reader()
        ctrl.redeem_fn = lambda text, seq: None
        ctrl.keyboard.text = typed
        if view is not None:
            ctrl.view = view
    booking = {"code": "LH-20261123-0012", "service": code, "slot_at": "2026-11-23T13:45:00+07:00", "minutes": 15}
    ticket = {**SAMPLE_REPLY["ticket"], "service": code, "service_name": ctrl.services[code].name,
              "appointment": booking["code"], "slot_at": booking["slot_at"], "number": "2031"}
    yield "home-bookings", ok, bookings
    yield "booking-code", ok, lambda: bookings(View(screen=Screen.BOOKING), "LH-20261123-00")
    yield "booking-checking", ok, lambda: bookings(View(screen=Screen.REDEEMING))
    yield "booking-ticket", ok, lambda: bookings(View(screen=Screen.TICKET, service=code, ticket=ticket,
                                                      waiting_ahead=0, estimated_wait_s=600, job_id="x",
                                                      printed=True, booking=booking))
    late = {k: v for k, v in ticket.items() if k not in ("appointment", "slot_at")}
    yield "booking-walk-in", ok, lambda: bookings(View(screen=Screen.TICKET, service=code, ticket=late,
                                                       waiting_ahead=4, estimated_wait_s=1200, job_id="x",
                                                       printed=True, booking=booking, walk_in=True))


def render_all(config: str | Path, outdir: str | Path) -> list[Path]:
    """Write every screen in portrait and landscape, plus 58/80 mm tickets; return the paths."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    from edge.config import load
    from edge.ui import save_screenshot
    from kiosk.ticket.controller import Controller, ServiceView
    from kiosk.ticket.hours import office_hours
    from kiosk.ticket.screens import draw
    from printer.decode import decode
    from printer.layout import PAPER_DOTS, TicketInfo, build_ticket, service_places

    cfg = load(Path(config))
    out = Path(outdir)
    pygame.font.init()
    paths: list[Path] = []
    for orient, size in (("portrait", (1080, 1920)), ("landscape", (1920, 1080))):
        surface = pygame.Surface(size)
        ctrl = Controller([ServiceView(s.code, s.name, s.field, True, i * 3 % 11, s.name_en,
                                       service_places(cfg, s.code)) for i, s in enumerate(cfg.services)],
                          ask_priority=True, **office_hours(cfg, lambda: SHOT_TIME.replace(tzinfo=cfg.office.tz)))
        ctrl.engine_online = True
        from edge.ui.keyboard import Keyboard
        w, h = size
        ctrl.keyboard = Keyboard(pygame.Rect(16, h * 11 // 20, w - 32, h * 7 // 20), "code", max_len=40,
                                 ok_label=ctrl.text("booking_ok"))
        for name, printer, setup in list(_states(ctrl, cfg)):
            ctrl.view = type(ctrl.view)()
            ctrl.lookup_fn, ctrl.person, ctrl.redeem_fn = None, None, None
            for sv in ctrl.services.values():
                sv.open, sv.full = True, False
            ctrl.set_printer_status(printer)
            setup()
            draw(surface, ctrl, cfg.office.name)
            paths.append(save_screenshot(surface, out / f"kiosk-{name}-{orient}.png"))
    svc = cfg.services[0]
    info = TicketInfo(office_name=cfg.office.name, number="2008", service_name=svc.name,
                      issued_at=datetime(2026, 11, 21, 8, 15, 2, tzinfo=cfg.office.tz),
                      qr_data=(cfg.office.tracking_url or "{ticket_id}").replace("{ticket_id}", "20261121-HT-0023"),
                      counters=service_places(cfg, svc.code), waiting_ahead=5, estimated_wait_s=900,
                      priority="elderly", priority_name=cfg.priority_name("elderly"), footer=cfg.office.footer)
    for mm in (80, 58):
        dec = decode(build_ticket(info, mm, native_qr=True), PAPER_DOTS[mm])
        p = out / f"ticket-{mm}mm.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        dec.image.save(p)
        paths.append(p)
    return paths


def render_ticket(config: str | Path, service: str, number: str, path: str | Path, mm: int = 80) -> Path:
    """One printed ticket of `service` in `config`, decoded from its ESC/POS bytes to PNG."""
    from edge.config import load
    from printer.decode import decode
    from printer.layout import PAPER_DOTS, TicketInfo, build_ticket, service_places
    cfg = load(Path(config))
    svc = cfg.service(service)
    assert svc is not None, service
    info = TicketInfo(office_name=cfg.office.name, number=number, service_name=svc.name,
                      issued_at=SHOT_TIME.replace(tzinfo=cfg.office.tz),
                      qr_data=(cfg.office.tracking_url or "{ticket_id}").replace("{ticket_id}", f"20261123-{service}-0008"),
                      counters=service_places(cfg, service), waiting_ahead=12, estimated_wait_s=2700,
                      priority="other", priority_name=cfg.priority_name("other"), footer=cfg.office.footer)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    decode(build_ticket(info, mm, native_qr=True), PAPER_DOTS[mm]).image.save(p)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    config = argv[0] if argv else "config/examples/ward.toml"
    outdir = argv[1] if len(argv) > 1 else "docs/screenshots"
    for p in render_all(config, outdir):
        print(p)
    if not argv:  # the default set also shows a large centre's ticket: zone, floor, counter range
        print(render_ticket("config/examples/province.toml", "KH", "D008", Path(outdir) / "ticket-80mm-province.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
