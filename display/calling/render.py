"""Painting the waiting-room board: one function per region, so a tick redraws only its region.

Layout scales with the screen (1920x1080 TV by default; portrait screens stack the
regions). Every region records the texts it drew in `drawn`, which tests read instead of
guessing from pixels.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime

import pygame

from display.calling.model import CounterView, LatestCall, ServiceView, Snapshot, en_date, vn_clock, vn_date
from edge.ui import blit_text, font, nfc

log = logging.getLogger(__name__)

BG = (10, 31, 58)
PANEL = (20, 52, 92)
PANEL_DIM = (24, 36, 52)
HEADER = (142, 12, 12)
RED = (190, 26, 26)
YELLOW = (255, 214, 0)
WHITE = (245, 245, 245)
GREY = (150, 160, 175)
ORANGE = (255, 152, 0)
GREEN = (102, 214, 120)
SKY = (120, 200, 255)
TICKER = (6, 20, 40)

LABELS: dict[str, tuple[str, str]] = {
    "calling": ("XIN MỜI CÔNG DÂN CÓ SỐ", "Now calling"),
    "to": ("ĐẾN", "to"),
    "recall": ("Gọi lại", "Recall"),
    "none": ("Chưa gọi số", "No call yet"),
    "counters": ("Các quầy", "Counters"),
    "serving": ("Đang phục vụ", "Serving"),
    "paused": ("Tạm dừng", "Paused"),
    "closed": ("Đóng", "Closed"),
    "idle": ("Sẵn sàng", "Ready"),
    "page": ("Trang", "Page"),
    "recent": ("Số vừa gọi", "Recent calls"),
    "waiting": ("Số người đang chờ", "People waiting"),
    "not_issuing": ("ngừng lấy số", "not issuing"),
    "offline": ("Mất kết nối", "Offline"),
    "hint": ("Xin vui lòng chú ý số thứ tự trên màn hình và loa gọi số.",
             "Please watch the screen and listen for your number."),
    "loading": ("Đang tải dữ liệu…", "Loading…"),
}


#: Readable from 5 m: a tile's ticket number is at least 4 % of the screen's short side
#: (43 px at 1080p; DejaVu Sans Bold capitals 0.73 em: 1.5 cm high on a 43" TV, 2.0 cm on a
#: 55") and a counter name 2.6 % (28 px: capitals 1.0 cm on 43", 1.3 cm on 55"), against the
#: signage rule of about 1 cm of capital height per 5 m of distance (1 inch per 40 feet) as
#: the limit of legibility. Tiles never shrink below these: more counters mean more pages.
NUMBER_MIN = 0.040
NAME_MIN = 0.026
#: Above this many counters the tiles take more of the screen (the "waiting" panel less).
DENSE_FROM = 12


class Painter:
    """Draws a Snapshot onto a surface of the given size."""

    def __init__(self, size: tuple[int, int], office_name: str = "", english: bool = False,
                 counters: int = 0) -> None:
        self.w, self.h = size
        self.office_name = nfc(office_name)
        self.english = english
        self.dense = counters > DENSE_FROM
        self.rects = self._layout()
        self.number_min = round(min(self.w, self.h) * NUMBER_MIN)
        self.name_min = round(min(self.w, self.h) * NAME_MIN)
        self.page = 0  # the page of counters drawn last, and how many there were
        self.page_count = 1
        self.drawn: dict[str, list[str]] = {}
        self.sizes: dict[str, list[tuple[str, int]]] = {}  # (text, font size) per region, for tests
        self._cache: dict[tuple, pygame.Surface] = {}
        self._ticker_surface: tuple[str, pygame.Surface] | None = None

    # ------------------------------------------------------------------ layout

    def _layout(self) -> dict[str, pygame.Rect]:
        w, h = self.w, self.h
        short = min(w, h)
        header_h = round(short * (0.10 if w >= h else 0.17))
        ticker_h = round(short * 0.085)
        top, bottom = header_h, h - ticker_h
        body = bottom - top
        r: dict[str, pygame.Rect] = {"header": pygame.Rect(0, 0, w, header_h),
                                     "ticker": pygame.Rect(0, bottom, w, ticker_h)}
        pad = max(6, round(min(w, h) * 0.012))
        if w >= h:  # landscape TV
            left_w = round(w * 0.40)
            hero_h = round(body * 0.60)
            counters_h = round(body * (0.70 if self.dense else 0.60))
            r["hero"] = pygame.Rect(pad, top + pad, left_w - 2 * pad, hero_h - 2 * pad)
            r["recent"] = pygame.Rect(pad, top + hero_h, left_w - 2 * pad, body - hero_h - pad)
            r["counters"] = pygame.Rect(left_w, top + pad, w - left_w - pad, counters_h - 2 * pad)
            r["services"] = pygame.Rect(left_w, top + counters_h, w - left_w - pad, body - counters_h - pad)
        else:  # portrait screen
            hero_h, counters_h = (0.24, 0.50) if self.dense else (0.30, 0.38)
            hero_h, counters_h = round(body * hero_h), round(body * counters_h)
            r["hero"] = pygame.Rect(pad, top + pad, w - 2 * pad, hero_h - 2 * pad)
            r["counters"] = pygame.Rect(pad, top + hero_h, w - 2 * pad, counters_h - pad)
            rest = top + hero_h + counters_h
            half = w // 2
            r["services"] = pygame.Rect(pad, rest, half - pad - pad // 2, bottom - rest - pad)
            r["recent"] = pygame.Rect(half + pad // 2, rest, w - half - pad - pad // 2, bottom - rest - pad)
        return r

    # ------------------------------------------------------------------ text helpers

    def label(self, key: str) -> str:
        vi, en = LABELS[key]
        return f"{vi} / {en}" if self.english else vi

    def _text(self, text: str, size: int, color: tuple[int, int, int], bold: bool = False) -> pygame.Surface:
        key = (text, size, color, bold)
        surf = self._cache.get(key)
        if surf is None:
            if len(self._cache) > 600:
                self._cache.clear()
            surf = font(size, bold).render(nfc(text), True, color)
            self._cache[key] = surf
        return surf

    def _put(self, surface: pygame.Surface, region: str, text: str, rect: pygame.Rect, size: int,
             color: tuple[int, int, int], bold: bool = False, align: str = "center") -> pygame.Rect:
        """One line shrunk to fit `rect`, aligned inside it; recorded under `region`."""
        text = nfc(text)
        size = _fit_size(text, rect.width, size, bold)
        surf = self._text(text, size, color, bold)
        x = {"left": rect.left, "right": rect.right - surf.get_width()}.get(
            align, rect.centerx - surf.get_width() // 2)
        y = rect.centery - surf.get_height() // 2
        self.drawn.setdefault(region, []).append(text)
        self.sizes.setdefault(region, []).append((text, size))
        return surface.blit(surf, (x, y))

    def _begin(self, surface: pygame.Surface, region: str, color: tuple[int, int, int]) -> pygame.Rect:
        rect = self.rects[region]
        surface.fill(BG, rect.inflate(4, 4).clip(surface.get_rect()))
        if color != BG:
            pygame.draw.rect(surface, color, rect, border_radius=max(4, rect.height // 40))
        self.drawn[region] = []
        self.sizes[region] = []
        return rect

    # ------------------------------------------------------------------ regions

    def draw_all(self, surface: pygame.Surface, snap: Snapshot, now: datetime, blink_on: bool,
                 connected: bool, ticker_offset: float = 0.0) -> None:
        surface.fill(BG)
        self.draw_header(surface, now, connected)
        self.draw_hero(surface, snap.latest, blink_on, snap.has_queue_state or snap.latest is not None)
        self.draw_counters(surface, snap.counters, snap.latest if snap.latest and snap.latest.live else None,
                           self.page)
        self.draw_recent(surface, snap.recent)
        self.draw_services(surface, snap.services)
        self.draw_ticker(surface, snap.notice, ticker_offset)

    def draw_header(self, surface: pygame.Surface, now: datetime, connected: bool) -> pygame.Rect:
        rect = self.rects["header"]
        surface.fill(HEADER, rect)
        self.drawn["header"] = []
        pad = rect.height // 5
        if self.w < self.h:  # portrait: the office name on its own line above the clock
            pad = rect.height // 10
            name_line = pygame.Rect(rect.left + pad, rect.top, rect.width - 2 * pad, rect.height * 2 // 5)
            self._put(surface, "header", self.office_name.upper(), name_line, round(name_line.height * 0.6),
                      YELLOW, True)
            rect = pygame.Rect(rect.left, name_line.bottom, rect.width, rect.height - name_line.height)
        clock_w = round(self.w * 0.14) if self.w >= self.h else round(self.w * 0.25)
        date_w = round(self.w * 0.24) if self.w >= self.h else round(self.w * 0.45)
        clock = pygame.Rect(rect.right - clock_w - pad, rect.top, clock_w, rect.height)
        date = pygame.Rect(clock.left - date_w - pad, rect.top, date_w, rect.height)
        self._put(surface, "header", vn_clock(now), clock, round(rect.height * 0.62), YELLOW, True, "right")
        if self.english:
            self._put(surface, "header", vn_date(now), date.inflate(0, -rect.height // 2).move(0, -rect.height // 6),
                      round(rect.height * 0.32), WHITE, False, "right")
            self._put(surface, "header", en_date(now), date.inflate(0, -rect.height // 2).move(0, rect.height // 5),
                      round(rect.height * 0.22), GREY, False, "right")
        else:
            self._put(surface, "header", vn_date(now), date, round(rect.height * 0.34), WHITE, False, "right")
        name_rect = pygame.Rect(rect.left + pad, rect.top, date.left - 2 * pad - rect.left, rect.height)
        if not connected:
            badge_w = round(rect.width * 0.12)
            badge = pygame.Rect(date.left - badge_w - pad, rect.top + pad, badge_w, rect.height - 2 * pad)
            pygame.draw.rect(surface, ORANGE, badge, border_radius=badge.height // 3)
            self._put(surface, "header", LABELS["offline"][0], badge.inflate(-pad, -pad),
                      round(rect.height * 0.3), (40, 20, 0), True)
            name_rect.width = badge.left - pad - name_rect.left
        if self.w >= self.h:
            self._put(surface, "header", self.office_name.upper(), name_rect, round(rect.height * 0.4),
                      YELLOW, True, "left")
        return self.rects["header"]

    def draw_hero(self, surface: pygame.Surface, latest: LatestCall | None, blink_on: bool,
                  loaded: bool = True) -> pygame.Rect:
        inverted = latest is not None and latest.live and not blink_on
        bg, fg, accent = (YELLOW, RED, RED) if inverted else (RED, YELLOW, WHITE)
        rect = self._begin(surface, "hero", bg)
        inner = rect.inflate(-rect.width // 16, -rect.height // 16)
        title = pygame.Rect(inner.left, inner.top, inner.width, round(inner.height * 0.16))
        big = pygame.Rect(inner.left, title.bottom, inner.width, round(inner.height * 0.50))
        foot = pygame.Rect(inner.left, big.bottom, inner.width, inner.bottom - big.bottom)
        if latest is None:
            self._put(surface, "hero", self.label("calling"), title, round(title.height * 0.6), accent, True)
            self._put(surface, "hero", self.label("none" if loaded else "loading"), big,
                      round(big.height * 0.25), accent)
            return rect
        self._put(surface, "hero", self.label("calling"), title, round(title.height * 0.6), accent, True)
        self._put(surface, "hero", latest.number, big, round(big.height * 0.95), fg, True)
        to = f"{LABELS['to'][0]} {latest.counter_name.upper()}"
        line = pygame.Rect(foot.left, foot.top, foot.width, round(foot.height * 0.62))
        self._put(surface, "hero", to, line, round(line.height * 0.7), fg, True)
        if latest.recall:
            sub = pygame.Rect(foot.left, line.bottom, foot.width, foot.bottom - line.bottom)
            self._put(surface, "hero", f"({self.label('recall')})", sub, round(sub.height * 0.7), accent)
        return rect

    def counters_area(self) -> pygame.Rect:
        rect = self.rects["counters"]
        title_h = round(rect.height * (0.09 if self.dense else 0.11))
        return pygame.Rect(rect.left, rect.top + title_h, rect.width, rect.height - title_h)

    def pages(self, counters: tuple[CounterView, ...]) -> list[tuple[CounterView, ...]]:
        """The counters split into pages of readable tiles (see NUMBER_MIN, NAME_MIN).

        All counters on one page if they fit; else the closed ones give way; open and paused
        counters that still do not fit are spread over pages of equal size that rotate.
        """
        area = self.counters_area()
        shown = tuple(counters)
        if not shown or self._fits(shown, len(shown), area):
            return [shown]
        shown = tuple(c for c in shown if c.status != "closed") or shown
        per = len(shown)
        while per > 1 and not self._fits(shown, per, area):
            per -= 1
        count = math.ceil(len(shown) / per)
        per = math.ceil(len(shown) / count)  # balanced pages: 20 + 20, not 24 + 16
        return [shown[i:i + per] for i in range(0, len(shown), per)]

    def _tile_size(self, n: int, area: pygame.Rect) -> tuple[int, int, int, int]:
        """Columns, rows, tile width and height for n tiles in `area`."""
        cols, rows = grid(n, area.width, area.height)
        gap = self._gap(area)
        return (cols, rows, (area.width - gap * (cols - 1)) // max(1, cols),
                (area.height - gap * (rows - 1)) // max(1, rows))

    @staticmethod
    def _gap(area: pygame.Rect) -> int:
        return max(4, area.width // 120)

    def _fits(self, counters: tuple[CounterView, ...], n: int, area: pygame.Rect) -> bool:
        """Whether n tiles fit with every name and number at its readable size or larger."""
        _, _, tw, th = self._tile_size(n, area)
        name, number, _ = _tile_rows(pygame.Rect(0, 0, tw, th))
        if round(name.height * 0.8) < self.name_min or round(number.height * 0.95) < self.number_min:
            return False
        widest_name = max(font(self.name_min, True).size(nfc(c.name))[0] for c in counters)
        widest_number = max((font(self.number_min, True).size(c.shown_number or "")[0] for c in counters),
                            default=0)
        return widest_name <= name.width and max(widest_number, font(self.number_min, True).size("A000")[0]) \
            <= number.width

    def draw_counters(self, surface: pygame.Surface, counters: tuple[CounterView, ...],
                      highlight: LatestCall | None = None, page: int = 0) -> pygame.Rect:
        rect = self._begin(surface, "counters", BG)
        area = self.counters_area()
        title = pygame.Rect(rect.left, rect.top, rect.width, area.top - rect.top)
        pages = self.pages(counters)
        self.page, self.page_count = page % len(pages), len(pages)
        self._put(surface, "counters", self.label("counters"), title, round(title.height * 0.7), WHITE, True, "left")
        if len(pages) > 1:
            self._put(surface, "counters", f"{self.label('page')} {self.page + 1}/{len(pages)}", title,
                      round(title.height * 0.6), YELLOW, True, "right")
        shown = pages[self.page]
        cols, _rows, tw, th = self._tile_size(len(shown), area)
        gap = self._gap(area)
        for i, c in enumerate(shown):
            x, y = area.left + (i % cols) * (tw + gap), area.top + (i // cols) * (th + gap)
            self._tile(surface, pygame.Rect(x, y, tw, th), c,
                       highlight is not None and highlight.counter == c.number)
        return rect

    def page_of(self, counters: tuple[CounterView, ...], counter: int) -> int | None:
        """The page a counter's tile is on (None: not on this board)."""
        for i, page in enumerate(self.pages(counters)):
            if any(c.number == counter for c in page):
                return i
        return None

    def _tile(self, surface: pygame.Surface, tile: pygame.Rect, c: CounterView, hot: bool) -> None:
        """Name, number, state. An open counter keeps its last number until it calls the next:
        "Đang phục vụ" while it serves, "Sẵn sàng" (number dimmed) once it has finished."""
        closed = c.status == "closed"
        pygame.draw.rect(surface, PANEL_DIM if closed else PANEL, tile, border_radius=max(4, tile.height // 12))
        if hot:
            pygame.draw.rect(surface, YELLOW, tile, width=max(3, tile.height // 30),
                             border_radius=max(4, tile.height // 12))
        name, num, status = _tile_rows(tile)
        self._put(surface, "counters", c.name, name, round(name.height * 0.8), GREY if closed else WHITE, True)
        if c.status == "open":
            self._put(surface, "counters", c.shown_number or "—", num, round(num.height * 0.95),
                      YELLOW if c.serving else (WHITE if c.last else GREY), True)
            self._put(surface, "counters", self.label("serving" if c.serving else "idle"), status,
                      round(status.height * 0.65), GREEN if c.serving else SKY, True)
        elif c.status == "paused":
            self._put(surface, "counters", c.shown_number or "—", num, round(num.height * 0.95), GREY, True)
            self._put(surface, "counters", self.label("paused"), status, round(status.height * 0.65), ORANGE, True)
        else:
            self._put(surface, "counters", self.label("closed"), num, round(num.height * 0.5), GREY)

    def draw_recent(self, surface: pygame.Surface, recent: tuple[tuple[str, int, str], ...]) -> pygame.Rect:
        rect = self._begin(surface, "recent", PANEL)
        inner = rect.inflate(-rect.width // 20, -rect.height // 14)
        title_h = self._title(surface, "recent", inner)
        rows = 5 if self.w >= self.h else 6
        rows = max(2, min(rows, (inner.height - title_h) // round(min(self.w, self.h) * 0.045)))
        row_h = (inner.height - title_h) // rows
        name_size = min((_fit_size(f"→ {r[2]}", inner.width * 0.58, round(row_h * 0.6), False)
                         for r in recent[:rows]), default=round(row_h * 0.6))
        for i, (number, _counter, name) in enumerate(recent[:rows]):
            y = inner.top + title_h + i * row_h
            color = YELLOW if i == 0 else WHITE
            self._put(surface, "recent", number, pygame.Rect(inner.left, y, inner.width * 0.42, row_h),
                      round(row_h * 0.72), color, True, "left")
            self._put(surface, "recent", f"→ {name}", pygame.Rect(inner.left + inner.width * 0.42, y,
                                                                   inner.width * 0.58, row_h),
                      name_size, color, False, "left")
        return rect

    def draw_services(self, surface: pygame.Surface, services: tuple[ServiceView, ...]) -> pygame.Rect:
        rect = self._begin(surface, "services", PANEL)
        inner = rect.inflate(-rect.width // 30, -rect.height // 14)
        title_h = self._title(surface, "services", inner)
        rows, cols = max(4, min(len(services), 8)), 1
        min_row = round(min(self.w, self.h) * 0.042)
        if (inner.height - title_h) // rows < min_row and len(services) > 1:  # low panel: side by side
            fit = max(1, (inner.height - title_h) // min_row)
            cols = min(3, math.ceil(len(services) / fit))
            rows = math.ceil(len(services) / cols)
        row_h = (inner.height - title_h) // rows
        col_w = (inner.width - (cols - 1) * inner.width // 25) // cols
        names = [nfc(s.name if s.open else f"{s.name} ({self.label('not_issuing')})") for s in services[:rows * cols]]
        floor = round(row_h * 0.36)  # below this, long names wrap onto two lines instead
        size = max(floor, min((_fit_size(n, col_w * 0.8, round(row_h * 0.55), False) for n in names),
                              default=floor))
        for i, (s, name) in enumerate(zip(services, names)):
            y = inner.top + title_h + (i % rows) * row_h
            left = inner.left + (i // rows) * (col_w + inner.width // 25)
            cell = pygame.Rect(left, y, col_w * 0.8, row_h)
            color = WHITE if s.open else GREY
            if font(size).size(name)[0] <= cell.width:
                self._put(surface, "services", name, cell, size, color, False, "left")
            else:
                blit_text(surface, name, cell, size, color, align="left", wrap=True, min_size=10)
                self.drawn["services"].append(name)
            self._put(surface, "services", str(s.waiting), pygame.Rect(left + col_w * 0.8, y, col_w * 0.2, row_h),
                      round(row_h * 0.75), YELLOW if s.waiting else GREY, True, "right")
        return rect

    def _title(self, surface: pygame.Surface, region: str, inner: pygame.Rect) -> int:
        """A panel heading of the same size in every panel; returns its height."""
        title_h = round(min(self.w, self.h) * 0.055)
        key = {"recent": "recent", "services": "waiting"}[region]
        self._put(surface, region, self.label(key), pygame.Rect(inner.left, inner.top, inner.width, title_h),
                  round(title_h * 0.62), WHITE, True, "left")
        return title_h

    # ------------------------------------------------------------------ ticker

    def ticker_text(self, notice: str) -> str:
        return nfc(notice) if notice else self.label("hint")  # bounded, like every text drawn

    def ticker_scrolls(self, notice: str) -> bool:
        """Only a notice wider than the screen scrolls; anything else stands still (no CPU)."""
        return self._ticker(notice).get_width() > self.rects["ticker"].width * 0.96

    def _ticker(self, notice: str) -> pygame.Surface:
        text = self.ticker_text(notice)
        if self._ticker_surface is None or self._ticker_surface[0] != text:
            size = round(self.rects["ticker"].height * 0.55)
            self._ticker_surface = (text, font(size, False).render(nfc(text), True, WHITE))
        return self._ticker_surface[1]

    def ticker_period(self, notice: str) -> float:
        """Pixels the ticker scrolls before it repeats."""
        return self._ticker(notice).get_width() + self.rects["ticker"].width * 0.3

    def draw_ticker(self, surface: pygame.Surface, notice: str, offset: float) -> pygame.Rect:
        rect = self.rects["ticker"]
        surface.fill(TICKER, rect)
        pygame.draw.line(surface, YELLOW, rect.topleft, rect.topright, max(2, rect.height // 20))
        surf = self._ticker(notice)
        y = rect.centery - surf.get_height() // 2
        self.drawn["ticker"] = [self.ticker_text(notice)]
        if not self.ticker_scrolls(notice):
            surface.blit(surf, (rect.centerx - surf.get_width() // 2, y))
            return rect
        period = self.ticker_period(notice)
        x = rect.left + rect.height // 3 - (offset % period)  # offset 0: the notice's start is visible
        clip = surface.get_clip()
        surface.set_clip(rect)
        surface.blit(surf, (round(x), y))
        if x + period < rect.right:
            surface.blit(surf, (round(x + period), y))
        surface.set_clip(clip)
        return rect


def _tile_rows(tile: pygame.Rect) -> tuple[pygame.Rect, pygame.Rect, pygame.Rect]:
    """A tile's name, number and state lines."""
    inner = tile.inflate(-tile.width // 12, -tile.height // 10)
    name = pygame.Rect(inner.left, inner.top, inner.width, round(inner.height * 0.32))
    num = pygame.Rect(inner.left, name.bottom, inner.width, round(inner.height * 0.43))
    return name, num, pygame.Rect(inner.left, num.bottom, inner.width, inner.bottom - num.bottom)


def grid(n: int, width: int, height: int, aspect: float = 1.5) -> tuple[int, int]:
    """Columns and rows for n tiles in width x height, tiles as close to `aspect` as fits."""
    if n <= 0:
        return 1, 1
    best, best_score = (1, n), -1.0
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        tw, th = width / cols, height / rows
        score = min(tw / aspect, th)  # the usable tile height at that aspect
        if score > best_score:
            best, best_score = (cols, rows), score
    return best


def _fit_size(text: str, width: float, size: int, bold: bool) -> int:
    """Largest size not above `size` whose rendering fits `width` (cached fonts)."""
    size = max(8, int(size))
    text = nfc(text)  # bounded before fitting
    while size > 8 and font(size, bold).size(text)[0] > width:
        size = max(8, int(size * 0.92))
    return size
