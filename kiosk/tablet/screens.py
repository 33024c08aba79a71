"""The tablet's screens as an explicit state machine, drawn with edge.ui.

REST (counter, clerk, number being served) -> RATE (three large choices) when a ticket is
finished at the counter -> REASONS (chips from config, optional comment) for "Không hài
lòng" -> COMMENT (on-screen keyboard) -> THANKS -> REST. Any screen but REST goes back to
REST after `idle_timeout_s` without a touch. No pygame state lives outside the UI thread.
"""
from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import pygame

from edge.i18n import N_, language_name, t
from edge.protocol import nfc
from edge.ui.keyboard import Keyboard, draw_field
from edge.ui.text import blit_text
from edge.ui.widgets import Button, hit_test

log = logging.getLogger(__name__)

BG = (244, 246, 250)
INK = (20, 30, 45)
BLUE = (0, 94, 160)
LEVEL_COLOURS = {"very_satisfied": (27, 120, 50), "satisfied": (90, 150, 40), "unsatisfied": (190, 40, 40)}
#: The default reasons of edge.config.devices.TabletDevice, marked for the catalogue so the
#: English screen shows them in English; an office's own reasons show as written. The
#: rating sent keeps the Vietnamese reason.
DEFAULT_REASONS = (N_("Chậm"), N_("Hướng dẫn sai"), N_("Thái độ"), N_("Đòi thêm giấy tờ"), N_("Khác"))
LEVEL_TEXTS = {"very_satisfied": N_("Rất hài lòng"), "satisfied": N_("Hài lòng"), "unsatisfied": N_("Không hài lòng")}
THANKS_S = 4.0

class Screen(enum.Enum):
    REST = "rest"
    RATE = "rate"
    REASONS = "reasons"
    COMMENT = "comment"
    THANKS = "thanks"


@dataclass
class CounterView:
    label: str
    status: str = "closed"
    staff: str | None = None
    serving: str | None = None  # number being served


@dataclass
class Draft:
    ticket_id: str | None
    number: str | None
    level: str | None = None
    reasons: list[str] = field(default_factory=list)
    comment: str = ""


class TabletScreens:
    """Screen logic. `schedule(delay, fn)` returns an object with cancel(); `submit(fields)` stores a rating."""

    def __init__(self, size: tuple[int, int], counter: int, counter_label: str, reasons: list[str],
                 idle_timeout_s: float, submit: Callable[[dict[str, Any]], None],
                 schedule: Callable[[float, Callable[[], None]], Any], locale: str = "vi") -> None:
        self.w, self.h = size
        self.counter = counter
        self.view = CounterView(counter_label)
        self.reasons = [nfc(r) for r in reasons]
        self.idle_s = idle_timeout_s
        self.submit = submit
        self.schedule = schedule
        self.default_locale = locale
        self.locale = locale
        self.screen = Screen.REST
        self.draft: Draft | None = None
        self.buttons: list[Button] = []
        self.keyboard: Keyboard | None = None
        self._timer: Any = None
        self.dirty = True

    # ------------------------------------------------------------------ inputs
    def on_counter(self, status: str, staff: str | None, serving: str | None) -> None:
        self.view.status, self.view.staff, self.view.serving = status, staff, serving
        self.dirty = True

    def on_done(self, ticket_id: str, number: str) -> None:
        """A ticket was finished here: invite a rating (a pending draft of another ticket is dropped)."""
        self.draft = Draft(ticket_id, number)
        self._go(Screen.RATE)

    def tap(self, pos: tuple[int, int]) -> None:
        if self.screen == Screen.COMMENT and self.keyboard is not None:
            result = self.keyboard.tap(pos)
            if result is not None:
                self._arm()
                if result == "enter":
                    assert self.draft is not None
                    self.draft.comment = self.keyboard.text[:500]
                    self._go(Screen.REASONS)
                self.dirty = True
                return
        b = hit_test(self.buttons, pos)
        if b is None:
            return
        self._arm()
        action, _, arg = str(b.value).partition(":")
        if action == "lang":
            self.locale = "en" if self.locale == "vi" else "vi"
            self._go(self.screen)
        elif action == "level" and self.draft is not None:
            self.draft.level = arg
            if arg == "unsatisfied":
                self._go(Screen.REASONS)
            else:
                self._send()
        elif action == "reason" and self.draft is not None:
            r = self.reasons[int(arg)]
            self.draft.reasons.remove(r) if r in self.draft.reasons else self.draft.reasons.append(r)
            self._go(Screen.REASONS)
        elif action == "comment":
            self._go(Screen.COMMENT)
        elif action == "send" and self.draft is not None and self.draft.reasons:
            self._send()
        elif action == "back":
            self._go(Screen.RATE)

    # ------------------------------------------------------------------ transitions
    def _send(self) -> None:
        d = self.draft
        assert d is not None and d.level is not None
        fields = {"counter": self.counter, "ticket_id": d.ticket_id, "level": d.level,
                  "reasons": list(d.reasons) if d.level == "unsatisfied" else []}
        if d.level == "unsatisfied" and d.comment.strip():
            fields["comment"] = nfc(d.comment.strip())[:500]
        self.submit(fields)
        self.draft = None
        self._go(Screen.THANKS)

    def _go(self, screen: Screen) -> None:
        self.screen = screen
        self.keyboard = None
        if screen == Screen.COMMENT:
            kb_rect = pygame.Rect(10, self.h * 2 // 5, self.w - 20, self.h * 3 // 5 - 10)
            self.keyboard = Keyboard(kb_rect, layout="text", max_len=500,
                                     text=self.draft.comment if self.draft else "", ok_label=t("Xong", self.locale))
        if screen == Screen.REST:
            self.locale = self.default_locale
        self._layout()
        self._arm()
        self.dirty = True

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.screen == Screen.THANKS:
            self._timer = self.schedule(THANKS_S, self._rest)
        elif self.screen != Screen.REST:
            self._timer = self.schedule(self.idle_s, self._rest)

    def _rest(self) -> None:
        self._timer = None
        if self.screen not in (Screen.REST, Screen.THANKS):
            log.info("rating of %s abandoned after %.0f s", self.draft.number if self.draft else "?", self.idle_s)
        self.draft = None
        self._go(Screen.REST)

    # ------------------------------------------------------------------ layout and drawing
    def _layout(self) -> None:
        w, h = self.w, self.h
        self.buttons = []
        lang = Button(pygame.Rect(w - 170, 10, 160, 56), language_name("en" if self.locale == "vi" else "vi"), "lang", size=20, bg=(90, 100, 120))
        if self.screen == Screen.RATE:
            gap = 16
            bw = (w - 4 * gap) // 3
            for i, lv in enumerate(("very_satisfied", "satisfied", "unsatisfied")):
                self.buttons.append(Button(pygame.Rect(gap + i * (bw + gap), h * 2 // 5, bw, h * 9 // 20),
                                           t(LEVEL_TEXTS[lv], self.locale), f"level:{lv}", bg=LEVEL_COLOURS[lv], size=40))
            self.buttons.append(lang)
        elif self.screen == Screen.REASONS:
            cols = 2 if len(self.reasons) > 3 else 1
            gap = 12
            top = h // 5
            rows = (len(self.reasons) + cols - 1) // cols
            ch = min(90, (h * 3 // 5 - gap * rows) // max(1, rows))
            cw = (w - (cols + 1) * gap) // cols
            chosen = self.draft.reasons if self.draft else []
            for i, r in enumerate(self.reasons):
                x = gap + (i % cols) * (cw + gap)
                y = top + (i // cols) * (ch + gap)
                label = t(r, self.locale) if r in DEFAULT_REASONS else r
                self.buttons.append(Button(pygame.Rect(x, y, cw, ch), ("✓ " if r in chosen else "") + label,
                                           f"reason:{i}", bg=(190, 40, 40) if r in chosen else (120, 130, 150),
                                           size=28))
            by = h - 100
            bw = (w - 4 * gap) // 3
            self.buttons.append(Button(pygame.Rect(gap, by, bw, 88), t("Quay lại", self.locale), "back", size=26, bg=(90, 100, 120)))
            self.buttons.append(Button(pygame.Rect(2 * gap + bw, by, bw, 88), t("Viết ý kiến", self.locale), "comment", size=26))
            self.buttons.append(Button(pygame.Rect(3 * gap + 2 * bw, by, bw, 88), t("Gửi đánh giá", self.locale), "send", size=28,
                                       bg=(27, 120, 50), enabled=bool(chosen)))
        elif self.screen == Screen.REST:
            self.buttons = []

    def draw(self, surface: pygame.Surface) -> None:
        surface.fill(BG)
        w, h = self.w, self.h
        if self.screen == Screen.REST:
            pygame.draw.rect(surface, BLUE, pygame.Rect(0, 0, w, h // 5))
            blit_text(surface, self.view.label, pygame.Rect(20, 0, w - 40, h // 5), 52, (255, 255, 255), bold=True)
            if self.view.status != "open":
                closed = t("Quầy tạm nghỉ", self.locale) if self.view.status == "closed" else t("Quầy tạm dừng", self.locale)
                blit_text(surface, closed,
                          pygame.Rect(20, h // 4, w - 40, h // 2), 64, INK, bold=True)
            else:
                if self.view.serving:
                    blit_text(surface, t("Đang phục vụ số", self.locale), pygame.Rect(20, h // 5 + 10, w - 40, h // 8), 36, INK)
                    blit_text(surface, self.view.serving, pygame.Rect(20, h // 3, w - 40, h * 2 // 5), 170, BLUE, bold=True)
                else:
                    blit_text(surface, t("Chưa có số đang phục vụ", self.locale), pygame.Rect(20, h // 4, w - 40, h // 2), 44, INK)
            if self.view.staff:
                blit_text(surface, t("Cán bộ: {name}", self.locale, name=self.view.staff),
                          pygame.Rect(20, h * 4 // 5, w - 40, h // 6), 36, INK, bold=True)
        elif self.screen == Screen.RATE:
            number = self.draft.number if self.draft else ""
            blit_text(surface, t("Số {number}", self.locale, number=number), pygame.Rect(20, 10, w - 220, h // 8), 40, BLUE, bold=True)
            blit_text(surface, t("Mời ông/bà đánh giá mức độ hài lòng", self.locale),
                      pygame.Rect(20, h // 7, w - 40, h // 4), 44, INK, bold=True)
        elif self.screen == Screen.REASONS:
            blit_text(surface, t("Ông/bà chưa hài lòng vì điều gì? (chọn một hoặc nhiều)", self.locale),
                      pygame.Rect(20, 10, w - 40, h // 6), 34, INK, bold=True)
            if self.draft and self.draft.comment:
                blit_text(surface, f"“{self.draft.comment}”", pygame.Rect(20, h - 150, w - 40, 44), 24, INK, wrap=False)
        elif self.screen == Screen.COMMENT:
            blit_text(surface, t("Ý kiến của ông/bà (không bắt buộc)", self.locale), pygame.Rect(20, 8, w - 40, h // 10), 30, INK, bold=True)
            if self.keyboard is not None:
                draw_field(surface, pygame.Rect(20, h // 8, w - 40, h // 4), self.keyboard.text,
                           t("Nhập ý kiến…", self.locale), size=30)
                self.keyboard.draw(surface)
        elif self.screen == Screen.THANKS:
            blit_text(surface, t("Cảm ơn ông/bà!", self.locale), pygame.Rect(20, h // 5, w - 40, h // 3), 80, (27, 120, 50), bold=True)
            blit_text(surface, t("Ý kiến của ông/bà giúp chúng tôi phục vụ tốt hơn.", self.locale),
                      pygame.Rect(20, h // 2 + 20, w - 40, h // 4), 34, INK)
        for b in self.buttons:
            b.draw(surface)
        self.dirty = False
