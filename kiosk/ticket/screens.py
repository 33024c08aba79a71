"""Drawing of each ticket-kiosk screen. ``draw(surface, ctrl, title)`` returns the touch targets.

Button values are actions: ("service", code), ("priority", p), ("home",), ("lang",),
("receipt",) (take the ticket a scanned receipt calls for), ("booking",) ("Đã đặt lịch hẹn").
Works portrait and landscape: the service grid has 2 columns when the screen is taller
than wide, else 3; button heights shrink to fit but stay at least 90 px.
"""
from __future__ import annotations

import logging
from datetime import datetime

import pygame

from edge.ui import Button, blit_text
from edge.ui.fonts import nfc
from edge.ui.text import fit_font
from kiosk.ticket.controller import Controller, Screen
from kiosk.ticket.texts import minutes_text

log = logging.getLogger(__name__)

BG = (245, 247, 250)
HEAD = (0, 70, 127)
INK = (20, 24, 28)
RED = (176, 0, 32)
GREEN = (0, 120, 60)
PRIO = (150, 80, 0)
GREY = (110, 110, 110)


def _header(s: pygame.Surface, title: str, sub: str, buttons: list[Button], ctrl: Controller) -> int:
    w, h = s.get_size()
    hh = max(120, h // 9)
    pygame.draw.rect(s, HEAD, (0, 0, w, hh))
    blit_text(s, title, pygame.Rect(20, 8, w - 240, hh * 11 // 20), max(26, hh // 4), (255, 255, 255), bold=True)
    blit_text(s, sub, pygame.Rect(20, hh * 11 // 20, w - 240, hh * 9 // 20 - 6), max(22, hh // 5), (255, 230, 150), bold=True)
    lang = Button(pygame.Rect(w - 200, hh // 2 - 40, 180, 80), ctrl.text("lang"), value=("lang",),
                  bg=(255, 255, 255), fg=HEAD, size=26)
    buttons.append(lang)
    return hh


def _closed_all(s: pygame.Surface, ctrl: Controller, title: str, buttons: list[Button]) -> None:
    """Every service closed: no buttons to press, the hours and when numbers start again."""
    w, h = s.get_size()
    top = _header(s, title, ctrl.text("closed_all"), buttons, ctrl) + 40
    buttons[0].draw(s)
    pygame.draw.rect(s, (255, 255, 255), (30, top, w - 60, h - top - 40), border_radius=20)
    y = blit_text(s, ctrl.text("hours_title"), pygame.Rect(60, top + 30, w - 120, 80), 52, HEAD, bold=True)
    for line in ctrl.hours(ctrl.lang):
        y = blit_text(s, line, pygame.Rect(60, y + 10, w - 120, 70), 40, INK)
    when = ctrl.reopens()
    if when:
        blit_text(s, ctrl.text("reopens", when=when), pygame.Rect(60, y + 50, w - 120, 140), 46, GREEN, bold=True)


def _home(s: pygame.Surface, ctrl: Controller, title: str, buttons: list[Button]) -> None:
    w, h = s.get_size()
    if ctrl.all_closed():
        return _closed_all(s, ctrl, title, buttons)
    top = _header(s, title, ctrl.text("choose"), buttons, ctrl) + 16
    blocked = ctrl.blocked()
    hint = ctrl.lookup_fn is not None and not blocked  # a reader: say receipts can be scanned
    bottom = h - (130 if blocked or hint else 16)
    if ctrl.redeem_fn is not None:  # bookings: their own entry, under the services
        bottom -= 126
        buttons.append(Button(pygame.Rect(16, bottom + 10, w - 32, 110), ctrl.text("booking"), value=("booking",),
                              sublabel=ctrl.text("booking_sub"), size=38,
                              bg=GREEN if not blocked else (150, 150, 150)))
    cols = 2 if h > w else 3
    groups: dict[str, list[str]] = {}
    for code in ctrl.order:
        groups.setdefault(ctrl.services[code].field or "", []).append(code)
    head_h = 54
    gap = 16
    rows = sum(-(-len(v) // cols) for v in groups.values())
    heads = sum(1 for k in groups if k)
    if top + heads * head_h + rows * (90 + gap) > bottom:
        # too many fields to head each one: one flat grid in field order, field as sublabel
        groups = {"": [c for v in groups.values() for c in v]}
        while cols < 4 and top + -(-len(ctrl.order) // cols) * (90 + gap) > bottom:
            cols += 1
        rows, heads = -(-len(ctrl.order) // cols), 0
    bh = (bottom - top - heads * head_h - rows * gap) // max(1, rows)
    bh = max(90, min(220, bh))
    y = top
    for fld, codes in groups.items():
        if fld:
            blit_text(s, fld, pygame.Rect(gap, y, w - 2 * gap, head_h - 6), 30, HEAD, bold=True, align="left")
            y += head_h
        ncols = min(cols, len(codes))  # a field with one service gets a full-width button
        bw = (w - gap * (ncols + 1)) // ncols
        for i, code in enumerate(codes):
            sv = ctrl.services[code]
            r, c = divmod(i, ncols)
            rect = pygame.Rect(gap + c * (bw + gap), y + r * (bh + gap), bw, bh)
            sub = ctrl.text("closed") if not sv.open else ctrl.text("full") if sv.full else (
                ctrl.text("waiting", n=sv.waiting) if sv.waiting is not None else "")
            b = Button(rect, sv.label(ctrl.lang), value=("service", code), sublabel=sub, size=36,
                       bg=(0, 94, 160) if sv.open and not sv.full and not blocked else (150, 150, 150))
            buttons.append(b)
        y += -(-len(codes) // ncols) * (bh + gap)
    for b in buttons[1:]:
        b.draw(s)
    buttons[0].draw(s)
    if hint:
        pygame.draw.rect(s, (225, 236, 246) if ctrl.person is None else (255, 243, 214), (0, h - 120, w, 120))
        blit_text(s, ctrl.greeting() or ctrl.text("scan_hint"), pygame.Rect(20, h - 116, w - 40, 112), 32,
                  HEAD if ctrl.person is None else PRIO, bold=True)
    if blocked:
        pygame.draw.rect(s, RED, (0, h - 120, w, 120))
        blit_text(s, ctrl.text(blocked), pygame.Rect(20, h - 116, w - 40, 112), 30, (255, 255, 255), bold=True)


def _priority(s: pygame.Surface, ctrl: Controller, title: str, buttons: list[Button]) -> None:
    w, h = s.get_size()
    sv = ctrl.services.get(ctrl.view.service or "")
    top = _header(s, sv.label(ctrl.lang) if sv else title, ctrl.text("priority_title"), buttons, ctrl) + 30
    gap = 24
    cols = 1 if h > w else 2
    avail = h - top - 180
    none_h = max(110, avail // 4)
    buttons.append(Button(pygame.Rect(gap, top, w - 2 * gap, none_h), ctrl.text("priority_none"),
                          value=("priority", "none"), size=44))
    y = top + none_h + gap
    rows = max(1, -(-len(ctrl.categories) // cols))
    bh = max(90, (avail - none_h - gap - rows * gap) // rows)
    bw = (w - gap * (cols + 1)) // cols
    for i, (key, _, _) in enumerate(ctrl.categories):
        r, c = divmod(i, cols)
        buttons.append(Button(pygame.Rect(gap + c * (bw + gap), y + r * (bh + gap), bw, bh),
                              ctrl.priority_label(key), value=("priority", key), bg=PRIO, size=36))
    buttons.append(Button(pygame.Rect(gap, h - 140, w // 3, 110), ctrl.text("back"), value=("home",),
                          bg=GREY, size=34))
    for b in buttons:
        b.draw(s)


def _ticket(s: pygame.Surface, ctrl: Controller, title: str, buttons: list[Button]) -> None:
    w, h = s.get_size()
    v = ctrl.view
    t = v.ticket or {}
    top = _header(s, title, t.get("service_name", ""), buttons, ctrl)
    y = top + 30
    y = blit_text(s, ctrl.text("your_number"), pygame.Rect(20, y, w - 40, 70), 44, INK, bold=True)
    num = nfc(t.get("number", ""))
    f = fit_font(num, w - 80, min(h // 4, 340), bold=True)
    surf = f.render(num, True, HEAD)
    s.blit(surf, ((w - surf.get_width()) // 2, y))
    y += surf.get_height() + 10
    if v.priority != "none":
        y = blit_text(s, ctrl.priority_label(v.priority), pygame.Rect(20, y, w - 40, 50), 32, PRIO, bold=True)
    sv = ctrl.services.get(v.service or "")
    if sv is not None and sv.places:
        y = blit_text(s, ctrl.text("places", places="; ".join(sv.places)), pygame.Rect(20, y, w - 40, 60), 34,
                      HEAD, bold=True)
    if t.get("dossier"):
        y = blit_text(s, ctrl.text("dossier_line", code=t["dossier"]), pygame.Rect(20, y, w - 40, 50), 30, INK)
    booking = v.booking or {}
    if booking.get("slot_at"):
        hm = datetime.fromisoformat(booking["slot_at"]).strftime("%H:%M")
        y = blit_text(s, ctrl.text("walk_in" if v.walk_in else "slot_line", hm=hm), pygame.Rect(20, y, w - 40, 90),
                      32, PRIO if v.walk_in else GREEN, bold=True)
    if v.waiting_ahead is not None and not (booking and not v.walk_in):
        y = blit_text(s, ctrl.text("ahead", n=v.waiting_ahead), pygame.Rect(20, y, w - 40, 60), 38, INK)
    eta = minutes_text(ctrl.lang, v.estimated_wait_s)
    if eta:
        y = blit_text(s, ctrl.text("eta", t=eta), pygame.Rect(20, y, w - 40, 60), 34, INK)
    y += 20
    if v.printed is None:
        msg, color = ctrl.text("printing"), GREY
    elif v.printed:
        msg, color = ctrl.text("printed"), GREEN
    else:
        msg, color = ctrl.text(v.notice or "print_failed", **v.notice_args), RED
    blit_text(s, msg, pygame.Rect(30, y, w - 60, max(80, h - y - 170)), 40, color, bold=True)
    b = Button(pygame.Rect(w // 2 - 180, h - 150, 360, 120), ctrl.text("done"), value=("home",), size=40)
    buttons.append(b)
    for b in buttons:
        b.draw(s)


def _notice(s: pygame.Surface, ctrl: Controller, title: str, buttons: list[Button]) -> None:
    w, h = s.get_size()
    top = _header(s, title, ctrl.text("notice_title"), buttons, ctrl)
    pygame.draw.rect(s, (255, 235, 235), (30, top + 40, w - 60, h - top - 240), border_radius=20)
    blit_text(s, ctrl.text(ctrl.view.notice or "error", **ctrl.view.notice_args),
              pygame.Rect(60, top + 60, w - 120, h - top - 280), 48, RED, bold=True)
    buttons.append(Button(pygame.Rect(w // 2 - 180, h - 170, 360, 130), ctrl.text("ok"), value=("home",), size=42))
    for b in buttons:
        b.draw(s)


def _issuing(s: pygame.Surface, ctrl: Controller, title: str, buttons: list[Button]) -> None:
    w, h = s.get_size()
    top = _header(s, title, "", buttons, ctrl)
    buttons.clear()  # nothing to press while a ticket is being issued
    blit_text(s, ctrl.text("issuing"), pygame.Rect(40, top, w - 80, h - top), 48, HEAD, bold=True)


def _looking(s: pygame.Surface, ctrl: Controller, title: str, buttons: list[Button]) -> None:
    w, h = s.get_size()
    top = _header(s, title, "", buttons, ctrl)
    code = (ctrl.view.dossier or {}).get("code", "")
    blit_text(s, ctrl.text("looking", code=code), pygame.Rect(40, top, w - 80, h - top - 180), 44, HEAD, bold=True)
    buttons.append(Button(pygame.Rect(24, h - 140, w // 3, 110), ctrl.text("back"), value=("home",), bg=GREY, size=34))
    for b in buttons:
        b.draw(s)


def _booking(s: pygame.Surface, ctrl: Controller, title: str, buttons: list[Button]) -> None:
    """Type the booking code on the touch keyboard (the reader works on this screen too)."""
    from edge.ui.keyboard import draw_field
    w, h = s.get_size()
    top = _header(s, title, ctrl.text("booking"), buttons, ctrl) + 20
    kb = ctrl.keyboard
    y = blit_text(s, ctrl.text("booking_title"), pygame.Rect(30, top, w - 60, 110), 36, INK, bold=True)
    field = pygame.Rect(30, y + 10, w - 60, 100)
    draw_field(s, field, kb.text if kb is not None else "", "LH-…", size=44)
    if ctrl.typed_error:
        blit_text(s, ctrl.typed_error, pygame.Rect(30, field.bottom + 8, w - 60, 60), 30, RED, align="left")
    buttons.append(Button(pygame.Rect(24, field.bottom + 80, w // 3, 100), ctrl.text("back"), value=("home",),
                          bg=GREY, size=32))
    for b in buttons:
        b.draw(s)
    if kb is not None:
        kb.draw(s)


def _redeeming(s: pygame.Surface, ctrl: Controller, title: str, buttons: list[Button]) -> None:
    w, h = s.get_size()
    top = _header(s, title, ctrl.text("booking"), buttons, ctrl)
    buttons.clear()  # the hub decides; nothing to press meanwhile
    blit_text(s, ctrl.text("redeeming"), pygame.Rect(40, top, w - 80, h - top), 44, HEAD, bold=True)


def _date(ts: str | None) -> str:
    if not ts:
        return "—"
    try:
        return datetime.fromisoformat(ts).strftime("%d/%m/%Y")
    except ValueError:
        return ts


def _receipt(s: pygame.Surface, ctrl: Controller, title: str, buttons: list[Button]) -> None:
    """The scanned receipt's dossier: its state in plain words and, if it needs one, a ticket button."""
    w, h = s.get_size()
    v = ctrl.view
    d = v.dossier or {}
    top = _header(s, title, ctrl.text("receipt_title", code=d.get("code", "")), buttons, ctrl)
    y = top + 30
    if d.get("procedure"):
        y = blit_text(s, d["procedure"], pygame.Rect(30, y, w - 60, 110), 38, INK, bold=True) + 10
    status = int(d.get("status") or 0)
    if status == 9:
        msg, color = ctrl.text("receipt_ready"), GREEN
    elif status == 5:
        msg, color = ctrl.text("receipt_missing"), PRIO
    else:
        msg, color = ctrl.text("receipt_other", status=d.get("status_text", "")), HEAD
    y = blit_text(s, msg, pygame.Rect(30, y, w - 60, 200), 42, color, bold=True) + 10
    if status not in (9, 10) and d.get("due_at"):
        y = blit_text(s, ctrl.text("receipt_due", due=_date(d.get("due_at"))), pygame.Rect(30, y, w - 60, 60), 34, INK)
    sv = ctrl.services.get(v.offer or "")
    if sv is not None:
        bh = max(130, min(220, (h - y - 200) // 2))
        by = min(y + 60, h - 200 - bh)
        blocked = ctrl.blocked() or not sv.open
        buttons.append(Button(pygame.Rect(40, by, w - 80, bh), ctrl.text(f"take_{v.offer_kind}"), value=("receipt",),
                              sublabel=sv.label(ctrl.lang), size=44,
                              bg=(150, 150, 150) if blocked else GREEN if v.offer_kind != "ask" else (0, 94, 160)))
    buttons.append(Button(pygame.Rect(24, h - 140, w // 3, 110), ctrl.text("back"), value=("home",), bg=GREY, size=34))
    for b in buttons:
        b.draw(s)


DRAW = {Screen.LOOKING: _looking, Screen.RECEIPT: _receipt, Screen.BOOKING: _booking,
        Screen.REDEEMING: _redeeming, Screen.HOME: _home, Screen.PRIORITY: _priority, Screen.TICKET: _ticket,
        Screen.NOTICE: _notice, Screen.ISSUING: _issuing}


def draw(surface: pygame.Surface, ctrl: Controller, title: str, pressed: tuple | None = None) -> list[Button]:
    """Paint the current screen; return its buttons (for hit-testing taps).

    ``pressed`` is the action of the button under a finger right now: drawn darker as feedback.
    """
    surface.fill(BG)
    buttons: list[Button] = []
    DRAW[ctrl.view.screen](surface, ctrl, title, buttons)
    for b in buttons:
        if pressed is not None and b.value == pressed:
            b.pressed = True
            b.draw(surface)
    return buttons
