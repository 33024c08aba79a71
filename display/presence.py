"""The in/out board (`display` mode `presence`): which officials are at their counter, paused
with a reason, left, or away today.

Everything comes from retained or live topics, never from a side channel: the engine's
counter state (``status``, ``staff`` — the name signed in at the counter desk — and the
pause ``reason``) and, where a camera watches a desk, its presence events
(``event/camera/presence``: ``absent`` once the desk has been empty too long, ``present``
when someone is back). An official of the device's ``roster`` who has not signed in at any
counter today is shown away; the board forgets who came at the office's local midnight.

``PresenceView`` keeps the state without pygame (tested directly); ``draw`` paints it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable

import pygame

from edge import protocol as P
from display.screen import ScreenDaemon
from edge.daemon import DaemonContext
from edge.ui.text import blit_text

log = logging.getLogger(__name__)

BG = (18, 28, 44)
PANEL = (30, 44, 66)
WHITE = (255, 255, 255)
GREY = (150, 160, 175)
GREEN = (30, 160, 90)
AMBER = (220, 150, 20)
RED = (200, 60, 60)


@dataclass
class Row:
    counter: int
    name: str
    status: str = "closed"
    staff: str | None = None
    reason: str | None = None
    absent_since: datetime | None = None  # the camera saw the desk empty (an open counter)
    left_at: datetime | None = None       # the counter closed after someone had signed in today
    last_staff: str | None = None


class PresenceView:
    """Rows per counter, from counter states and camera presence; who was seen today."""

    def __init__(self, counters: list[tuple[int, str]], roster: list[str], today: Callable[[], date]) -> None:
        self.rows = {n: Row(n, name) for n, name in counters}
        self.roster = [P.nfc(r.strip()) for r in roster if r.strip()]
        self.today = today
        self.day = today()
        self.seen: dict[str, int] = {}   # official -> counter they signed in at today

    def _roll(self) -> None:
        d = self.today()
        if d != self.day:
            self.day = d
            self.seen.clear()
            for r in self.rows.values():
                r.left_at = r.last_staff = None

    def counter_state(self, st: P.CounterState, now: datetime) -> bool:
        """Apply a counter state; True when the board changed."""
        self._roll()
        row = self.rows.get(st.counter)
        if row is None:
            return False
        before = (row.status, row.staff, row.reason, row.left_at)
        staff = P.nfc(st.staff.strip()) if st.staff and st.staff.strip() else None
        if st.status == "closed":
            if row.status != "closed" and (row.staff or row.last_staff):
                row.left_at = now
            row.absent_since = None
        else:
            row.left_at = None
            if staff:
                row.last_staff = staff
                self.seen[staff] = st.counter
        row.status, row.staff = st.status, staff
        row.reason = P.nfc(st.reason.strip()) if st.status == "paused" and st.reason else None
        return before != (row.status, row.staff, row.reason, row.left_at)

    def camera(self, ev: P.CameraEvent, now: datetime) -> bool:
        """Apply a desk camera's presence event; True when the board changed."""
        row = self.rows.get(ev.counter or -1)
        if row is None or ev.state not in ("absent", "present"):
            return False
        if ev.state == "absent" and row.status != "closed":
            try:
                at = datetime.fromisoformat(ev.ts)
            except ValueError:
                at = now
            row.absent_since = at if ev.absent_s is None else at - timedelta(seconds=ev.absent_s)
        else:
            row.absent_since = None
        return True

    def away(self) -> list[str]:
        """Officials of the roster not signed in at any counter today."""
        self._roll()
        return [name for name in self.roster if name not in self.seen]

    def line(self, row: Row, now: datetime) -> tuple[str, str, tuple[int, int, int]]:
        """(who, what they are doing, colour) for one counter."""
        who = row.staff or row.last_staff or "—"
        if row.status == "open":
            if row.absent_since is not None:
                minutes = max(1, int((now - row.absent_since).total_seconds() // 60))
                return who, f"Tạm vắng tại bàn ({minutes} phút)", AMBER
            return who, "Đang làm việc tại quầy", GREEN
        if row.status == "paused":
            return who, f"Tạm nghỉ: {row.reason}" if row.reason else "Tạm nghỉ", AMBER
        if row.left_at is not None:
            return who, f"Đã rời quầy lúc {row.left_at.strftime('%H:%M')}", GREY
        return "—", "Quầy chưa mở", GREY


def draw(surface: pygame.Surface, v: PresenceView, office: str, now: datetime) -> None:
    W, H = surface.get_size()
    m = max(16, W // 60)
    surface.fill(BG)
    head = pygame.Rect(0, 0, W, max(80, H // 9))
    pygame.draw.rect(surface, (0, 94, 160), head)
    blit_text(surface, "BẢNG RA VÀO CỦA CÁN BỘ", pygame.Rect(m, 6, W * 2 // 3, head.h * 3 // 5), head.h // 2, WHITE,
              bold=True, align="left", wrap=False)
    blit_text(surface, office, pygame.Rect(m, head.h * 3 // 5, W * 2 // 3, head.h * 2 // 5 - 6), head.h // 4,
              (210, 225, 245), align="left", wrap=False)
    blit_text(surface, now.strftime("%H:%M  %d/%m/%Y"), pygame.Rect(W * 2 // 3, 0, W // 3 - m, head.h), head.h // 3,
              WHITE, bold=True, align="right", wrap=False)
    away = v.away()
    side_w = W // 4 if v.roster else 0
    area = pygame.Rect(m, head.bottom + m, W - 2 * m - (side_w + m if side_w else 0), H - head.bottom - 2 * m)
    rows = sorted(v.rows.values(), key=lambda r: r.counter)
    rh = min(max(48, area.h // max(1, len(rows))), H // 6)
    size = max(18, rh * 2 // 5)
    for i, row in enumerate(rows):
        r = pygame.Rect(area.x, area.y + i * rh, area.w, rh - m // 2)
        if r.bottom > area.bottom:
            break
        who, what, colour = v.line(row, now)
        pygame.draw.rect(surface, PANEL, r, border_radius=10)
        pygame.draw.rect(surface, colour, pygame.Rect(r.x, r.y, m // 2 + 4, r.h), border_radius=6)
        c1 = pygame.Rect(r.x + m, r.y, r.w * 2 // 9, r.h)
        c2 = pygame.Rect(c1.right + m // 2, r.y, r.w * 3 // 9, r.h)
        c3 = pygame.Rect(c2.right + m // 2, r.y, r.right - c2.right - m, r.h)
        blit_text(surface, row.name, c1, size, WHITE, bold=True, align="left", wrap=False)
        blit_text(surface, who, c2, size, WHITE, bold=True, align="left", wrap=False)
        blit_text(surface, what, c3, size, colour, bold=True, align="left", wrap=False)
    if side_w:
        side = pygame.Rect(W - m - side_w, area.y, side_w, area.h)
        pygame.draw.rect(surface, PANEL, side, border_radius=10)
        y = blit_text(surface, "Vắng hôm nay", pygame.Rect(side.x + m, side.y + m // 2, side.w - 2 * m, size + 16),
                      size, AMBER, bold=True, align="left", wrap=False)
        for name in away:
            y = blit_text(surface, name, pygame.Rect(side.x + m, y + 6, side.w - 2 * m, size + 8), max(16, size - 4),
                          WHITE, align="left", wrap=False)
            if y > side.bottom - size:
                break
        if not away:
            blit_text(surface, "Đủ cán bộ", pygame.Rect(side.x + m, y + 6, side.w - 2 * m, size + 8), max(16, size - 4),
                      GREEN, align="left", wrap=False)


class PresenceBoard(ScreenDaemon):
    """The in/out board daemon: bus thread in, UI thread out; redrawn each minute for the times."""

    what = "presence"

    def __init__(self, ctx: DaemonContext) -> None:
        super().__init__(ctx)
        self.view = PresenceView([(c.number, c.label) for c in ctx.cfg.counters], self.dev.roster,
                                 lambda: ctx.clock.now().date())

    def subscribe(self) -> None:
        t = self.ctx.topics
        self.bus.subscribe(t.counter_state_all, self._on(P.CounterState, self.view.counter_state))
        self.bus.subscribe(t.camera_event("presence"), self._on(P.CameraEvent, self.view.camera))

    def paint(self, surface: pygame.Surface) -> None:
        draw(surface, self.view, self.ctx.cfg.office.name, self.ctx.clock.now())

    def _on(self, model: Any, fn: Callable[[Any, datetime], bool]) -> Any:
        def handler(topic: str, payload: bytes) -> None:
            msg = self.bus.parse_payload(topic, payload, model) if payload else None  # bad ones reported
            if msg is not None and self.loop is not None:
                self.loop.call_soon(self._apply, fn, msg)
        return handler

    def _apply(self, fn: Callable[[Any, datetime], bool], msg: Any) -> None:
        if fn(msg, self.ctx.clock.now()) and self.loop is not None:
            self.loop.invalidate()


def create_presence(ctx: DaemonContext) -> PresenceBoard:
    return PresenceBoard(ctx)
