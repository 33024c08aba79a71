"""The dossier status board (the >= 40" screen): results ready, dossiers needing documents, today's counts.

Data comes only over MQTT: the hub's retained `DossierBoard` on `Topics.dossier_board` and
the hub's device status (a board whose hub is gone says so instead of showing old lists as
if they were live). Long lists are paged: each column turns its page every `PAGE_S`
seconds on its own. `BoardView` holds the state and the paging without pygame; `draw`
paints it; the UI thread wakes only for a new snapshot, a page turn or the minute.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pygame
from pydantic import ValidationError

from edge import protocol as P
from edge.daemon import DaemonContext
from edge.ui import UiLoop, UiThread, device_loop
from edge.ui.fonts import nfc
from edge.ui.text import blit_text, fit_font

log = logging.getLogger(__name__)

PAGE_S = 10.0

TEXTS = {
    "title": "TÌNH TRẠNG GIẢI QUYẾT HỒ SƠ",
    "ready": "MỜI NHẬN KẾT QUẢ",
    "ready_hint": "Xin mang giấy hẹn đến {counter}",
    "needs": "CẦN BỔ SUNG GIẤY TỜ",
    "needs_hint": "Xin liên hệ quầy tiếp nhận",
    "received": "Tiếp nhận hôm nay",
    "finished": "Giải quyết xong hôm nay",
    "returned": "Đã trả kết quả hôm nay",
    "overdue": "Hồ sơ quá hạn",
    "page": "Trang {i}/{n}",
    "empty_ready": "Chưa có kết quả mới",
    "empty_needs": "Không có hồ sơ cần bổ sung",
    "waiting": "Đang chờ dữ liệu từ máy chủ hồ sơ…",
    "stale": "Hệ thống của tỉnh đang gián đoạn: số liệu cập nhật lúc {t}",
    "hub_offline": "Mất kết nối với máy chủ hồ sơ: số liệu cập nhật lúc {t}",
    "more": "và {n} hồ sơ khác",
    "due": "Hẹn {d}",
    "return_counter": "quầy trả kết quả",
}
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


def hm(ts: str | None) -> str:
    """'16:30 21/11' from an RFC 3339 time."""
    if not ts:
        return "—"
    try:
        return datetime.fromisoformat(ts).strftime("%H:%M %d/%m")
    except ValueError:
        return ts


class BoardView:
    """What the board shows now: the last snapshot, whether the hub is online, the page of each list."""

    def __init__(self, rows_per_page: int = 8) -> None:
        self.board: P.DossierBoard | None = None
        self.hub_online = True
        self.rows_per_page = rows_per_page
        self.ticks = 0  # page turns so far

    def set_board(self, data: dict[str, Any]) -> bool:
        try:
            self.board = P.DossierBoard.model_validate(data)
        except ValidationError as exc:
            log.warning("ignoring a malformed dossier board: %s", P.describe_validation(exc))
            return False
        return True

    def set_hub_status(self, data: dict[str, Any]) -> bool:
        online = bool(data.get("online", False))
        changed = online != self.hub_online
        self.hub_online = online
        return changed

    def pages(self, items: list[P.BoardDossier]) -> int:
        return max(1, -(-len(items) // self.rows_per_page))

    def page(self, items: list[P.BoardDossier]) -> tuple[list[P.BoardDossier], int, int]:
        """(rows on the current page, page number from 1, page count)."""
        n = self.pages(items)
        i = self.ticks % n
        return items[i * self.rows_per_page:(i + 1) * self.rows_per_page], i + 1, n

    def needs_paging(self) -> bool:
        b = self.board
        return bool(b) and (self.pages(b.ready) > 1 or self.pages(b.needs_documents) > 1)

    def banner(self) -> str | None:
        b = self.board
        if b is None:
            return None
        if not self.hub_online:
            return TEXTS["hub_offline"].format(t=hm(b.ts))
        if b.stale:
            return TEXTS["stale"].format(t=hm(b.ts))
        return None


# ==================================================================== drawing

NAVY = (12, 35, 64)
PANEL = (22, 52, 92)
WHITE = (255, 255, 255)
SOFT = (190, 208, 230)
GREEN = (40, 170, 90)
AMBER = (235, 160, 30)
RED = (220, 60, 60)


def draw(surface: pygame.Surface, v: BoardView, office: str, now: datetime, return_counter: str | None) -> None:
    W, H = surface.get_size()
    m = max(16, W // 80)
    surface.fill(NAVY)
    head = pygame.Rect(0, 0, W, H // 9)
    pygame.draw.rect(surface, PANEL, head)
    blit_text(surface, office, pygame.Rect(m, m // 2, W * 2 // 3, head.h // 3), head.h // 4, SOFT,
              align="left", wrap=False)
    blit_text(surface, TEXTS["title"], pygame.Rect(m, head.h // 3, W * 2 // 3, head.h * 2 // 3 - m // 2),
              head.h // 2, WHITE, bold=True, align="left", wrap=False)
    blit_text(surface, now.strftime("%H:%M"), pygame.Rect(W * 2 // 3, m // 2, W // 3 - m, head.h * 3 // 5),
              head.h // 2, WHITE, bold=True, align="right", wrap=False)
    blit_text(surface, f"{WEEKDAYS[now.weekday()]}, {now.strftime('%d/%m/%Y')}",
              pygame.Rect(W * 2 // 3, head.h * 3 // 5, W // 3 - m, head.h * 2 // 5 - m // 2),
              head.h // 4, SOFT, align="right", wrap=False)
    b = v.board
    if b is None:
        blit_text(surface, TEXTS["waiting"], pygame.Rect(0, head.bottom, W, H - head.bottom), H // 20, SOFT)
        return
    # today's counts
    tiles = pygame.Rect(m, head.bottom + m, W - 2 * m, H // 7)
    counts = [(TEXTS["received"], b.today.received, WHITE), (TEXTS["finished"], b.today.finished, GREEN),
              (TEXTS["returned"], b.today.returned, SOFT),
              (TEXTS["overdue"], b.today.overdue, RED if b.today.overdue else SOFT)]
    tw = (tiles.w - 3 * m) // 4
    for i, (label, n, colour) in enumerate(counts):
        r = pygame.Rect(tiles.x + i * (tw + m), tiles.y, tw, tiles.h)
        pygame.draw.rect(surface, PANEL, r, border_radius=12)
        blit_text(surface, str(n), pygame.Rect(r.x, r.y + 4, r.w, r.h * 3 // 5), r.h // 2, colour, bold=True, wrap=False)
        blit_text(surface, label, pygame.Rect(r.x + 8, r.y + r.h * 3 // 5, r.w - 16, r.h * 2 // 5 - 6), r.h // 6,
                  SOFT, wrap=False)
    banner = v.banner()
    bottom = H - m
    if banner:
        br = pygame.Rect(0, H - H // 16, W, H // 16)
        pygame.draw.rect(surface, AMBER, br)
        blit_text(surface, banner, br.inflate(-2 * m, -8), br.h // 2, NAVY, bold=True, wrap=False)
        bottom = br.top - m // 2
    cols = pygame.Rect(m, tiles.bottom + m, W - 2 * m, bottom - tiles.bottom - m)
    cw = (cols.w - m) // 2
    counter = return_counter or TEXTS["return_counter"]
    _column(surface, v, pygame.Rect(cols.x, cols.y, cw, cols.h), TEXTS["ready"],
            TEXTS["ready_hint"].format(counter=counter), b.ready, b.ready_total, GREEN, TEXTS["empty_ready"])
    _column(surface, v, pygame.Rect(cols.x + cw + m, cols.y, cw, cols.h), TEXTS["needs"], TEXTS["needs_hint"],
            b.needs_documents, b.needs_documents_total, AMBER, TEXTS["empty_needs"])


def rows_for(height: int, W: int, H: int) -> int:
    """How many dossier rows fit a column of this height on a W x H screen."""
    head = H // 9 + H // 7 + 3 * max(16, W // 80)
    col_h = height - head - H // 16
    return max(3, (col_h - H // 9) // max(40, H // 14))


def _column(surface: pygame.Surface, v: BoardView, rect: pygame.Rect, title: str, hint: str,
            items: list[P.BoardDossier], total: int, colour: tuple[int, int, int], empty: str) -> None:
    H = surface.get_height()
    pygame.draw.rect(surface, PANEL, rect, border_radius=14)
    th = H // 11
    top = pygame.Rect(rect.x, rect.y, rect.w, th)
    pygame.draw.rect(surface, colour, top, border_top_left_radius=14, border_top_right_radius=14)
    blit_text(surface, title, pygame.Rect(top.x + 16, top.y + 4, top.w - 32, th * 3 // 5), th * 2 // 5, NAVY,
              bold=True, align="left", wrap=False)
    blit_text(surface, hint, pygame.Rect(top.x + 16, top.y + th * 3 // 5, top.w - 32, th * 2 // 5 - 4), th // 4,
              NAVY, align="left", wrap=False)
    rows, i, n = v.page(items)
    if n > 1:
        blit_text(surface, TEXTS["page"].format(i=i, n=n), pygame.Rect(top.x, top.y + 4, top.w - 16, th * 3 // 5),
                  th // 4, NAVY, bold=True, align="right", wrap=False)
    if not items:
        blit_text(surface, empty, rect.inflate(0, -th).move(0, th // 2), H // 28, SOFT)
        return
    rh = max(40, H // 14)
    y = top.bottom + 6
    code_w = rect.w * 9 // 20
    for d in rows:
        r = pygame.Rect(rect.x + 12, y, rect.w - 24, rh - 6)
        name = d.applicant or ""
        f = fit_font(d.code, code_w - 10, rh * 2 // 5, bold=True)
        surface.blit(f.render(nfc(d.code), True, WHITE), (r.x, r.y + 2))
        blit_text(surface, name, pygame.Rect(r.x + code_w, r.y, r.w - code_w, rh // 2), rh * 2 // 5, WHITE,
                  bold=True, align="left", wrap=False)
        sub = d.procedure or ""
        if d.overdue:
            sub = f"{sub} · QUÁ HẠN"
        elif d.due_at and d.status == 5:
            sub = f"{sub} · {TEXTS['due'].format(d=hm(d.due_at))}"
        blit_text(surface, sub, pygame.Rect(r.x, r.y + rh // 2, r.w, rh // 2 - 6), rh // 4,
                  RED if d.overdue else SOFT, align="left", wrap=False)
        pygame.draw.line(surface, NAVY, (r.x, r.bottom + 2), (r.right, r.bottom + 2), 2)
        y += rh
    if total > len(items) and i == n:
        blit_text(surface, TEXTS["more"].format(n=total - len(items)), pygame.Rect(rect.x, y, rect.w, rh // 2),
                  rh // 4, SOFT, wrap=False)


# ==================================================================== daemon

class DossierBoardDaemon:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.dev = ctx.device
        self.bus = ctx.bus()
        self.view = BoardView()
        self.loop: UiLoop | None = None
        self.screen_seq = 0
        self.page_s = PAGE_S
        hub = getattr(ctx.cfg, "hub", None)
        self.return_counter = getattr(hub, "return_counter", None)
        self._ui = UiThread(f"dossiers-{ctx.device_id}", self._ui_main)
        self._page_timer: Any = None

    def start(self) -> None:
        self._ui.start("dossier board UI")
        self.bus.subscribe(self.ctx.topics.dossier_board, self._on(self._board, P.DossierBoard))
        self.bus.subscribe(self.ctx.topics.device_status("hub"), self._on(self._hub_status))
        self.bus.start(wait=5)
        self.bus.set_status("ok", {"mode": "dossiers"})

    def stop(self) -> None:
        self._ui.stop(self.loop)
        self.bus.stop()

    def healthy(self) -> bool:
        return self._ui.alive()

    # ---------------------------------------------------------------- UI thread
    def _ui_main(self) -> None:
        loop = device_loop(self.ctx, self.ctx.cfg.office.name)
        self.loop = loop
        self.view.rows_per_page = rows_for(loop.size[1], *loop.size)

        def on_draw(surface: pygame.Surface) -> None:
            draw(surface, self.view, self.ctx.cfg.office.name, self.ctx.clock.now(), self.return_counter)
            self.screen_seq += 1

        loop.on_draw = on_draw
        self._minute()
        self._ui.ready.set()
        try:
            loop.run()
        finally:
            pygame.display.quit()

    def _minute(self) -> None:
        assert self.loop is not None
        self.loop.invalidate()
        now = self.ctx.clock.now()
        self.loop.call_later(60.5 - now.second - now.microsecond / 1e6, self._minute)

    def _turn_page(self) -> None:
        self._page_timer = None
        if self.view.needs_paging():
            self.view.ticks += 1
            self.loop.invalidate()
            self._schedule_paging()

    def _schedule_paging(self) -> None:
        if self._page_timer is None and self.view.needs_paging() and self.loop is not None:
            self._page_timer = self.loop.call_later(self.page_s, self._turn_page)

    def _board(self, data: dict[str, Any]) -> None:
        if self.view.set_board(data):
            self.loop.invalidate()
            self._schedule_paging()

    def _hub_status(self, data: dict[str, Any]) -> None:
        if self.view.set_hub_status(data):
            self.loop.invalidate()

    def _on(self, fn: Any, model: type[P.Payload] | None = None) -> Any:
        def handler(topic: str, payload: bytes) -> None:
            if not payload:
                return  # a cleared retained topic
            try:
                data = P.decode_json(payload)
                if model is not None:
                    model.model_validate(data)
            except P.BadPayload as exc:
                self.bus.report_bad(topic, str(exc))
                return
            except ValidationError as exc:
                self.bus.report_bad(topic, f"{model.__name__}: {P.describe_validation(exc)}")
                return
            if self.loop is not None:
                self.loop.call_soon(fn, data)
        return handler


def create_board(ctx: DaemonContext) -> DossierBoardDaemon:
    return DossierBoardDaemon(ctx)
