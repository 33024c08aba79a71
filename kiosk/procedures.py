"""The procedure kiosk: browse by field, search by typing, read a procedure in large type,
print its checklist, show its portal QR, and take a queue number for it.

It is a ticket kiosk underneath (``TicketKiosk``): same printer and engine status, same issue
path with retried ids, same ticket screens. "Lấy số cho thủ tục này" hands the citizen to that
flow for the procedure's service (the hub resolves procedure -> service from the office
config) and comes back to the procedure when the ticket flow returns home.

``ProcedureController`` holds the procedure screens' state without pygame (its rules are
tested directly); ``draw`` paints it. Catalogue requests (``procedures/search`` and
``procedures/get`` to the hub) run on named worker threads; a newer request makes the reply
to an older one stale, and it is dropped. Idle: home after ``idle_timeout_s``.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

import pygame
import qrcode

from edge import protocol as P
from edge.bus import RequestTimeout
from edge.daemon import DaemonContext
from edge.ui import Tap, device_loop
from edge.ui.fonts import font
from edge.ui.keyboard import Keyboard, draw_field
from edge.ui.text import blit_text, wrap_lines
from edge.ui.widgets import Button, hit_test
from kiosk.ticket.app import TicketKiosk
from kiosk.ticket.controller import Screen as TicketScreen

log = logging.getLogger(__name__)

TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "HƯỚNG DẪN THỦ TỤC HÀNH CHÍNH",
        "search": "Tìm thủ tục",
        "search_hint": "Gõ tên thủ tục, có dấu hoặc không dấu",
        "fields": "Chọn lĩnh vực",
        "all": "Tất cả thủ tục",
        "count": "{n} thủ tục",
        "results": "Kết quả tìm “{q}”: {n} thủ tục",
        "none": "Không tìm thấy thủ tục nào. Xin thử từ khác hoặc hỏi cán bộ hướng dẫn.",
        "loading": "Đang tải…",
        "unavailable": "Chưa lấy được danh mục thủ tục. Xin thử lại sau ít phút hoặc hỏi cán bộ hướng dẫn.",
        "back": "Quay lại",
        "home": "Trang đầu",
        "prev": "◀ Trang trước",
        "next": "Trang sau ▶",
        "page": "Trang {i}/{n}",
        "code": "Mã thủ tục",
        "field": "Lĩnh vực",
        "documents": "Giấy tờ cần mang theo",
        "fees": "Phí, lệ phí",
        "time": "Thời hạn giải quyết",
        "submit": "Nơi nộp hồ sơ",
        "collect": "Nơi nhận kết quả",
        "online": "Dịch vụ công trực tuyến",
        "forms": "Biểu mẫu",
        "print": "In hướng dẫn",
        "qr": "Mã QR trên Cổng Dịch vụ công",
        "ticket": "Lấy số cho thủ tục này",
        "printing": "Đang in hướng dẫn, xin chờ…",
        "printed": "Đã in xong. Mời ông/bà nhận giấy ở khe máy in.",
        "print_failed": "Chưa in được. Xin hỏi cán bộ hướng dẫn.",
        "qr_title": "Quét mã bằng điện thoại để xem thủ tục",
        "qr_hint": "Trên trang này có thể nộp hồ sơ trực tuyến và tải biểu mẫu.",
        "ok": "Tìm",
        "lang": "English",
        "copies": "{n:02d} {kind}",
    },
    "en": {
        "title": "ADMINISTRATIVE PROCEDURES GUIDE",
        "search": "Search procedures",
        "search_hint": "Type a procedure's name, with or without Vietnamese marks",
        "fields": "Choose a field",
        "all": "All procedures",
        "count": "{n} procedures",
        "results": "Results for “{q}”: {n}",
        "none": "No procedure found. Try other words or ask a clerk.",
        "loading": "Loading…",
        "unavailable": "The procedure list is unavailable. Please try again later or ask a clerk.",
        "back": "Back",
        "home": "Home",
        "prev": "◀ Previous",
        "next": "Next ▶",
        "page": "Page {i}/{n}",
        "code": "Code",
        "field": "Field",
        "documents": "Documents to bring",
        "fees": "Fees",
        "time": "Time limit",
        "submit": "Where to submit",
        "collect": "Where to collect",
        "online": "Online service",
        "forms": "Forms",
        "print": "Print this guide",
        "qr": "QR code of the portal page",
        "ticket": "Take a number for this",
        "printing": "Printing, please wait…",
        "printed": "Printed. Please take the paper from the printer.",
        "print_failed": "Could not print. Please ask a clerk.",
        "qr_title": "Scan with your phone to open the procedure",
        "qr_hint": "On that page you can apply online and download the forms.",
        "ok": "Search",
        "lang": "Tiếng Việt",
        "copies": "{n:02d} {kind}",
    },
}

Screen = str  # "home" | "list" | "search" | "detail" | "qr"
FIELDS_RETRY_S = 20.0


@dataclass
class ListView:
    title: str = ""
    query: str = ""
    field: str | None = None
    total: int = 0
    offset: int = 0
    rows: list[dict[str, Any]] | None = None   # None: loading
    error: bool = False


class ProcedureController:
    """Screens and transitions of the procedure kiosk; no pygame, no MQTT.

    ``search_fn(query, field, offset, seq)`` and ``get_fn(code, seq)`` start requests; their
    answers come back through ``listed``/``got`` with the same ``seq``. ``print_fn(procedure)``
    sends a checklist job and returns its id; ``ticket_fn(service)`` starts the ticket flow.
    """

    def __init__(self, search_fn: Callable[[str, str | None, int, int], None],
                 get_fn: Callable[[str, int], None], print_fn: Callable[[dict[str, Any]], str | None],
                 ticket_fn: Callable[[str], None], idle_timeout_s: float = 60, lang: str = "vi",
                 page_size: int = 6, can_print: bool = True) -> None:
        self.search_fn, self.get_fn, self.print_fn, self.ticket_fn = search_fn, get_fn, print_fn, ticket_fn
        self.idle_timeout_s = idle_timeout_s
        self.default_lang = self.lang = lang
        self.page_size = page_size
        self.can_print = can_print
        self.screen: Screen = "home"
        self.fields: list[dict[str, Any]] = []
        self.fields_error = False
        self.list = ListView()
        self.live: list[dict[str, Any]] = []     # results under the keyboard while typing
        self.procedure: dict[str, Any] | None = None
        self.detail_page = 0
        self.detail_pages = 1
        self.print_job: str | None = None
        self.print_state: str | None = None      # printing | printed | print_failed
        self.keyboard: Keyboard | None = None
        self.on_change: Callable[[], None] = lambda: None
        self.set_timer: Callable[[float, Callable[[], None]], Any] | None = None
        self._seq = 0
        self._live_seq = 0
        self._timer: Any = None
        self._history: list[Screen] = []

    def t(self, key: str, **kw: Any) -> str:
        return P.nfc(TEXTS[self.lang][key].format(**kw))

    # ---------------------------------------------------------------- navigation
    def start(self) -> None:
        """Ask for the fields (the home screen's buttons)."""
        self._seq += 1
        self.search_fn("", None, 0, -self._seq)  # negative seq: the home screen's own request

    def home(self) -> None:
        self._seq += 1
        self.screen = "home"
        self.procedure = None
        self.print_job = self.print_state = None
        self.lang = self.default_lang
        self._history.clear()
        self._cancel()
        if not self.fields:
            self.start()
        self.on_change()

    def back(self) -> None:
        self._arm()
        self.screen = self._history.pop() if self._history else "home"
        self.on_change()

    def _go(self, screen: Screen) -> None:
        if self.screen != screen:
            self._history.append(self.screen)
        self.screen = screen
        self._arm()
        self.on_change()

    def open_field(self, field: str | None) -> None:
        self._seq += 1
        title = field or self.t("all")
        self.list = ListView(title=title, field=field)
        self._go("list")
        self.search_fn("", field, 0, self._seq)

    def open_search(self) -> None:
        if self.keyboard is not None:
            self.keyboard.text = ""
            self.keyboard.ok_label = self.t("ok")
        self.live = []
        self._go("search")

    def typed(self) -> None:
        """A key on the keyboard: refresh the live results."""
        self._arm()
        self._live_seq += 1
        text = self.keyboard.text.strip() if self.keyboard else ""
        if text:
            self.search_fn(text, None, 0, 1_000_000 + self._live_seq)
        else:
            self.live = []
        self.on_change()

    def submit_search(self) -> None:
        text = self.keyboard.text.strip() if self.keyboard else ""
        if not text:
            return
        self._seq += 1
        self.list = ListView(title=text, query=text)
        self._go("list")
        self.search_fn(text, None, 0, self._seq)

    def page(self, delta: int) -> None:
        self._arm()
        if self.screen == "detail":
            self.detail_page = max(0, min(self.detail_pages - 1, self.detail_page + delta))
            self.on_change()
            return
        lv = self.list
        new = lv.offset + delta * self.page_size
        if new < 0 or new >= max(1, lv.total):
            return
        self._seq += 1
        lv.offset, lv.rows = new, None
        self.on_change()
        self.search_fn(lv.query, lv.field, new, self._seq)

    def open_procedure(self, code: str) -> None:
        self._seq += 1
        self.procedure = {"code": code}
        self.detail_page, self.detail_pages = 0, 1
        self.print_job = self.print_state = None
        self._go("detail")
        self.get_fn(code, self._seq)

    def open_qr(self) -> None:
        if self.procedure and self.procedure.get("url"):
            self._go("qr")

    def print_checklist(self) -> None:
        self._arm()
        if not self.procedure or "name" not in self.procedure or self.print_state == "printing":
            return
        job = self.print_fn(self.procedure)
        if job is None:
            self.print_state = "print_failed"
        else:
            self.print_job, self.print_state = job, "printing"
        self.on_change()

    def take_ticket(self) -> None:
        service = (self.procedure or {}).get("service")
        if service:
            self._cancel()  # the ticket flow has its own idle timer
            self.ticket_fn(service)

    def toggle_lang(self) -> None:
        self.lang = "en" if self.lang == "vi" else "vi"
        self._arm()
        self.on_change()

    # ---------------------------------------------------------------- replies
    def listed(self, seq: int, reply: dict[str, Any] | None) -> None:
        """A search reply (None: no answer in time)."""
        ok = bool(reply and reply.get("ok"))
        if ok and reply.get("fields") is not None:
            self.fields = list(reply["fields"])
        if seq < 0:
            self.fields_error = not ok
            if not ok and self.set_timer is not None:  # the hub is away: ask again, nobody has to touch
                self.set_timer(FIELDS_RETRY_S, self.start)
            self.on_change()
            return
        if seq >= 1_000_000:
            if seq - 1_000_000 == self._live_seq and ok:
                self.live = list(reply.get("procedures") or [])[:4]
                self.on_change()
            return
        if seq != self._seq or self.screen != "list":
            log.debug("dropping a late search reply (%d, now %d)", seq, self._seq)
            return
        if not ok:
            self.list.error, self.list.rows = True, []
        else:
            self.list.rows = list(reply.get("procedures") or [])
            self.list.total = int(reply.get("total") or 0)
            self.list.error = False
        self.on_change()

    def got(self, seq: int, reply: dict[str, Any] | None) -> None:
        if seq != self._seq or self.screen not in ("detail", "qr"):
            return
        if reply and reply.get("ok"):
            try:
                self.procedure = P.Procedure.model_validate(reply.get("procedure") or {}).wire()
            except Exception as exc:  # noqa: BLE001 - a malformed reply shows the error, not garbage
                log.warning("malformed procedure reply: %s", exc)
                self.procedure = {"code": (self.procedure or {}).get("code", ""), "error": True}
        else:
            self.procedure = {"code": (self.procedure or {}).get("code", ""), "error": True}
        self.on_change()

    def print_result(self, result: dict[str, Any]) -> None:
        if self.print_job is None or result.get("job_id") != self.print_job:
            return
        outcome = result.get("outcome")
        if outcome == "printed":
            self.print_state = "printed"
        elif outcome in ("expired", "rejected"):
            self.print_state = "print_failed"
        self.on_change()

    def print_timed_out(self, job: str) -> None:
        if job == self.print_job and self.print_state == "printing":
            self.print_state = "print_failed"
            self.on_change()

    # ---------------------------------------------------------------- timers
    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        self._cancel()
        if self.set_timer is not None:
            self._timer = self.set_timer(self.idle_timeout_s, self.home)

    def touched(self) -> None:
        """Any touch keeps a reading citizen's screen (the idle timer starts again)."""
        if self.screen != "home":
            self._arm()


# ==================================================================== drawing

BG = (240, 244, 248)
BLUE = (0, 94, 160)
GREEN = (0, 120, 60)
AMBER = (170, 100, 0)
RED = (190, 30, 30)
INK = (20, 24, 32)
GREY = (90, 96, 110)
WHITE = (255, 255, 255)


def detail_blocks(c: ProcedureController) -> list[tuple[str, int, bool, tuple[int, int, int]]]:
    """The procedure as (text, size step, bold, colour) paragraphs; size step 0 = body."""
    p = c.procedure or {}
    blocks: list[tuple[str, int, bool, tuple[int, int, int]]] = []

    def section(key: str, lines: list[str]) -> None:
        if lines:
            blocks.append((c.t(key), 0, True, BLUE))
            blocks.extend((ln, 0, False, INK) for ln in lines)

    docs = []
    for d in p.get("documents") or []:
        extra = c.t("copies", n=d["copies"], kind=(d.get("kind") or "bản").lower()) if d.get("copies") else \
            (d.get("kind") or "").lower()
        docs.append(f"☐ {d['name']}" + (f" ({extra})" if extra else ""))
    section("documents", docs)
    section("fees", [f"• {f['name']}: {f['amount']}" for f in p.get("fees") or []])
    section("time", [p["time_limit"]] if p.get("time_limit") else [])
    section("submit", [p["submit_at"]] if p.get("submit_at") else [])
    if p.get("collect_at") and p.get("collect_at") != p.get("submit_at"):
        section("collect", [p["collect_at"]])
    section("online", [p["online"]] if p.get("online") else [])
    section("forms", [f"• {f['name']}" for f in p.get("forms") or []])
    return blocks


def paginate(blocks: list[tuple[str, int, bool, Any]], width: int, height: int, size: int) -> list[list[tuple]]:
    """Blocks cut into pages of `height` pixels (a paragraph never splits across pages
    unless it is taller than a page by itself)."""
    pages: list[list[tuple]] = [[]]
    y = 0
    for text, step, bold, colour in blocks:
        f = font(size + step, bold)
        lines = wrap_lines(text, f, width)
        h = len(lines) * f.get_linesize() + size // 3
        if y + h > height and pages[-1]:
            pages.append([])
            y = 0
        pages[-1].append((lines, size + step, bold, colour))
        y += h
    return pages


def _qr_surface(data: str, side: int) -> pygame.Surface:
    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=2)
    q.add_data(data)
    q.make(fit=True)
    img = q.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    surf = pygame.image.frombytes(img.tobytes(), img.size, "RGB")
    return pygame.transform.scale(surf, (side, side))


def draw(surface: pygame.Surface, c: ProcedureController, office: str, printer_problem: str | None = None) -> list[Button]:
    """Paint the current procedure screen; returns its buttons for hit-testing."""
    W, H = surface.get_size()
    m = max(20, W // 40)
    surface.fill(BG)
    header = pygame.Rect(0, 0, W, max(100, H // 13))
    pygame.draw.rect(surface, BLUE, header)
    blit_text(surface, office, pygame.Rect(m, 8, W - 2 * m, header.h // 3), max(20, header.h // 5), (220, 235, 255), wrap=False)
    blit_text(surface, c.t("title"), pygame.Rect(m, header.h // 3, W - 2 * m, header.h * 2 // 3 - 8),
              max(26, header.h // 3), WHITE, bold=True, wrap=False)
    body = pygame.Rect(m, header.bottom + m, W - 2 * m, H - header.bottom - 2 * m)
    bh = max(84, min(H // 14, 130))
    size = max(26, min(W, H) // 26)
    buttons: list[Button] = []
    foot = pygame.Rect(body.x, body.bottom - bh, body.w, bh)
    if c.screen == "home":
        buttons.append(Button(pygame.Rect(body.x, body.y, body.w, bh + bh // 3), c.t("search"), ("search",),
                              sublabel=c.t("search_hint"), bg=GREEN, size=max(30, bh // 3)))
        y = body.y + bh + bh // 3 + m
        y = blit_text(surface, c.t("fields"), pygame.Rect(body.x, y, body.w, bh // 2), size, GREY, bold=True, align="left")
        fields = list(c.fields)
        if not fields and c.fields_error:
            blit_text(surface, c.t("unavailable"), pygame.Rect(body.x, y + m, body.w, bh * 2), size, RED)
        cols = 2 if W >= 900 or W > H else 1
        rows_room = (foot.y - m - y) // (bh + m // 2)
        cells = fields[: max(0, rows_room * cols - 1)] + [{"name": None, "count": sum(f["count"] for f in fields)}]
        cw = (body.w - (cols - 1) * m // 2) // cols
        for i, f in enumerate(cells if fields else []):
            r, col = divmod(i, cols)
            rect = pygame.Rect(body.x + col * (cw + m // 2), y + m // 2 + r * (bh + m // 2), cw, bh)
            buttons.append(Button(rect, f["name"] or c.t("all"), ("field", f["name"]),
                                  sublabel=c.t("count", n=f["count"]), size=max(24, bh // 4),
                                  bg=BLUE if f["name"] else GREY))
        buttons.append(Button(pygame.Rect(body.right - body.w // 3, foot.y, body.w // 3, bh * 4 // 5), c.t("lang"),
                              ("lang",), bg=GREY, size=max(20, bh // 4)))
    elif c.screen == "list":
        lv = c.list
        head = c.t("results", q=lv.query, n=lv.total) if lv.query else f"{lv.title} — {c.t('count', n=lv.total)}"
        y = blit_text(surface, head, pygame.Rect(body.x, body.y, body.w, bh), size + 4, INK, bold=True, align="left")
        if lv.rows is None:
            blit_text(surface, c.t("loading"), pygame.Rect(body.x, y + m, body.w, bh), size, GREY)
        elif lv.error:
            blit_text(surface, c.t("unavailable"), pygame.Rect(body.x, y + m, body.w, bh * 2), size, RED)
        elif not lv.rows:
            blit_text(surface, c.t("none"), pygame.Rect(body.x, y + m, body.w, bh * 2), size, INK)
        room = foot.y - bh - 2 * m - y
        rh = max(bh, room // max(1, c.page_size) - m // 3)
        for i, row in enumerate((lv.rows or [])[: c.page_size]):
            rect = pygame.Rect(body.x, y + m // 2 + i * (rh + m // 3), body.w, rh)
            sub = " · ".join(x for x in (row.get("field") if not lv.field else "", row.get("time_limit")) if x)
            sub = sub if len(sub) <= 60 else sub[:58].rsplit(" ", 1)[0] + " …"
            buttons.append(Button(rect, row["name"], ("procedure", row["code"]), sublabel=sub,
                                  size=max(24, size), bg=WHITE, fg=INK, radius=12))
        pages = max(1, -(-lv.total // c.page_size))
        if pages > 1:
            i = lv.offset // c.page_size + 1
            pr = pygame.Rect(body.x, foot.y - bh - m // 2, body.w, bh * 4 // 5)
            blit_text(surface, c.t("page", i=i, n=pages), pr, size, GREY)
            buttons.append(Button(pygame.Rect(pr.x, pr.y, pr.w // 3, pr.h), c.t("prev"), ("page", -1),
                                  enabled=i > 1, size=max(20, bh // 4)))
            buttons.append(Button(pygame.Rect(pr.right - pr.w // 3, pr.y, pr.w // 3, pr.h), c.t("next"), ("page", 1),
                                  enabled=i < pages, size=max(20, bh // 4)))
        buttons.append(Button(pygame.Rect(foot.x, foot.y, foot.w // 3, foot.h), c.t("back"), ("back",), bg=GREY,
                              size=max(22, bh // 4)))
        buttons.append(Button(pygame.Rect(foot.right - foot.w // 3, foot.y, foot.w // 3, foot.h), c.t("home"),
                              ("home",), bg=GREY, size=max(22, bh // 4)))
    elif c.screen == "search":
        kb = c.keyboard
        y = blit_text(surface, c.t("search_hint"), pygame.Rect(body.x, body.y, body.w, bh // 2), size, GREY, align="left")
        fieldr = pygame.Rect(body.x, y + m // 2, body.w, bh)
        draw_field(surface, fieldr, kb.text if kb else "", "", size=max(28, bh * 2 // 5))
        kb_top = kb.rect.y if kb else H
        y = fieldr.bottom + m // 2
        if kb and kb.rect.right < W * 3 // 4:  # landscape: the results beside the keyboard
            lx, lw, room = kb.rect.right + m, W - m - kb.rect.right - m, H - m - kb_top
            y = kb_top
        else:
            lx, lw, room = body.x, body.w, kb_top - bh - m - y
        lh = max(bh * 4 // 5, room // 4 - m // 3)
        for i, row in enumerate(c.live[: max(0, room // (lh + m // 3))]):
            rect = pygame.Rect(lx, y + i * (lh + m // 3), lw, lh)
            buttons.append(Button(rect, row["name"], ("procedure", row["code"]), size=max(22, size - 2),
                                  bg=WHITE, fg=INK, radius=10))
        if kb:
            kb.draw(surface)
        buttons.append(Button(pygame.Rect(body.x, kb_top - bh * 4 // 5 - m // 2, body.w // 3, bh * 4 // 5), c.t("back"),
                              ("back",), bg=GREY, size=max(22, bh // 4)))
    elif c.screen == "detail":
        _draw_detail(surface, c, body, foot, bh, size, m, buttons, printer_problem)
    elif c.screen == "qr":
        p = c.procedure or {}
        y = blit_text(surface, p.get("name", ""), pygame.Rect(body.x, body.y, body.w, bh * 2), size + 6, INK, bold=True)
        y = blit_text(surface, c.t("qr_title"), pygame.Rect(body.x, y + m, body.w, bh), size + 2, BLUE, bold=True)
        side = min(body.w * 3 // 4, foot.y - y - 3 * bh)
        qr = _qr_surface(p.get("url", ""), side)
        surface.blit(qr, (W // 2 - side // 2, y + m))
        y = y + m + side + m
        y = blit_text(surface, c.t("qr_hint"), pygame.Rect(body.x, y, body.w, bh), size, INK)
        blit_text(surface, p.get("url", ""), pygame.Rect(body.x, y + 4, body.w, bh // 2), max(16, size * 2 // 3), GREY,
                  wrap=False)
        buttons.append(Button(pygame.Rect(foot.x, foot.y, foot.w // 3, foot.h), c.t("back"), ("back",), bg=GREY,
                              size=max(22, bh // 4)))
    for b in buttons:
        b.draw(surface)
    return buttons


def _draw_detail(surface: pygame.Surface, c: ProcedureController, body: pygame.Rect, foot: pygame.Rect, bh: int,
                 size: int, m: int, buttons: list[Button], printer_problem: str | None) -> None:
    p = c.procedure or {}
    if "name" not in p:
        text = c.t("unavailable") if p.get("error") else c.t("loading")
        blit_text(surface, text, pygame.Rect(body.x, body.y + bh, body.w, bh * 2), size, RED if p.get("error") else GREY)
        buttons.append(Button(pygame.Rect(foot.x, foot.y, foot.w // 3, foot.h), c.t("back"), ("back",), bg=GREY,
                              size=max(22, bh // 4)))
        return
    y = blit_text(surface, p["name"], pygame.Rect(body.x, body.y, body.w, bh * 2), size + 10, INK, bold=True, align="left",
                  valign="top")
    meta = f"{c.t('code')}: {p['code']}" + (f"   ·   {c.t('field')}: {p['field']}" if p.get("field") else "")
    y = blit_text(surface, meta, pygame.Rect(body.x, y + 4, body.w, size + 12), max(20, size - 4), GREY, align="left",
                  wrap=False) + m // 2
    status = c.print_state
    band: pygame.Rect | None = None
    if surface.get_width() > surface.get_height():  # landscape: the actions in a column on the right
        col = pygame.Rect(body.right - body.w * 3 // 10, y, body.w * 3 // 10, foot.y - m // 2 - y)
        tall = min(bh * 5 // 4, (col.h - 3 * m) // 4)
        print_r, qr_r, ticket_r = (pygame.Rect(col.x, col.y + i * (tall + m // 2), col.w, tall) for i in range(3))
        if status:
            band = pygame.Rect(col.x, ticket_r.bottom + m, col.w, tall)
        area = pygame.Rect(body.x, y, col.x - m - body.x, foot.y - m // 2 - y - bh * 2 // 3)
    else:
        actions = pygame.Rect(body.x, foot.y - 2 * (bh + m // 2), body.w, 2 * bh + m // 2)
        half = (actions.w - m // 2) // 2
        print_r = pygame.Rect(actions.x, actions.y, half, bh)
        qr_r = pygame.Rect(actions.x + half + m // 2, actions.y, half, bh)
        ticket_r = pygame.Rect(actions.x, actions.y + bh + m // 2, actions.w, bh)
        bottom = actions.y - m // 2
        if status:
            band = pygame.Rect(body.x, actions.y - bh * 2 // 3 - m // 2, body.w, bh * 2 // 3)
            bottom = band.y - m // 2
        area = pygame.Rect(body.x, y, body.w, bottom - y - bh * 2 // 3)
    if status and band is not None:
        colour = {"printing": BLUE, "printed": GREEN}.get(status, RED)
        pygame.draw.rect(surface, colour, band, border_radius=10)
        blit_text(surface, c.t(status), band.inflate(-20, -8), max(22, size - 2), WHITE, bold=True)
    pages = paginate(detail_blocks(c), area.w, area.h, size)
    c.detail_pages = len(pages)
    c.detail_page = min(c.detail_page, len(pages) - 1)
    ty = area.y
    for lines, sz, bold, colour in pages[c.detail_page]:
        f = font(sz, bold)
        for ln in lines:
            surface.blit(f.render(ln, True, colour), (area.x, ty))
            ty += f.get_linesize()
        ty += size // 3
    if len(pages) > 1:
        pr = pygame.Rect(area.x, area.bottom + 4, area.w, bh * 2 // 3 - 8)
        blit_text(surface, c.t("page", i=c.detail_page + 1, n=len(pages)), pr, max(20, size - 4), GREY)
        buttons.append(Button(pygame.Rect(pr.x, pr.y, pr.w // 3, pr.h), c.t("prev"), ("page", -1),
                              enabled=c.detail_page > 0, size=max(20, bh // 4)))
        buttons.append(Button(pygame.Rect(pr.right - pr.w // 3, pr.y, pr.w // 3, pr.h), c.t("next"), ("page", 1),
                              enabled=c.detail_page < len(pages) - 1, size=max(20, bh // 4)))
    buttons.append(Button(print_r, c.t("print"), ("print",),
                          enabled=c.can_print and printer_problem is None and status != "printing",
                          size=max(24, bh // 3)))
    buttons.append(Button(qr_r, c.t("qr"), ("qr",), enabled=bool(p.get("url")), size=max(22, bh // 4)))
    buttons.append(Button(ticket_r, c.t("ticket"), ("ticket",), enabled=bool(p.get("service")), bg=GREEN,
                          size=max(28, bh // 3)))
    buttons.append(Button(pygame.Rect(foot.x, foot.y, foot.w // 3, foot.h), c.t("back"), ("back",), bg=GREY,
                          size=max(22, bh // 4)))
    buttons.append(Button(pygame.Rect(foot.right - foot.w // 3, foot.y, foot.w // 3, foot.h), c.t("home"), ("home",),
                          bg=GREY, size=max(22, bh // 4)))


# ==================================================================== daemon

class ProcedureKiosk(TicketKiosk):
    """The procedure screens over a ticket kiosk (its bus, printer status and issue path)."""

    def __init__(self, ctx: DaemonContext) -> None:
        super().__init__(ctx)
        self.pc = ProcedureController(self._search, self._get, self._print, self._ticket,
                                      idle_timeout_s=self.dev.idle_timeout_s, lang=ctx.cfg.office.locale,
                                      can_print=bool(self.dev.printer))
        self.mode = "procedures"  # or "ticket" while the ticket flow runs
        self.request_timeout_s = 2.0
        self._checklists = 0

    def start(self) -> None:
        super().start()
        if self.dev.printer:  # one handler per topic: ticket results and checklist results
            self.bus.subscribe(self.ctx.topics.print_result(self.dev.printer), self._on_print_result)
        self.bus.set_status("ok", {"mode": "procedures", "printer": self.dev.printer})
        assert self.loop is not None
        self.loop.call_soon(self.pc.start)

    # ---------------------------------------------------------------- UI thread
    def _ui_main(self) -> None:
        from kiosk.ticket.screens import draw as draw_ticket
        loop = device_loop(self.ctx, self.title)
        self.loop = loop
        w, h = loop.size
        kb_rect = (pygame.Rect(16, h * 9 // 20, w * 3 // 5, h * 10 // 20) if w > h  # landscape: results beside it
                   else pygame.Rect(16, h * 12 // 20, w - 32, h * 7 // 20))
        self.pc.keyboard = Keyboard(kb_rect, "text", max_len=60, ok_label=self.pc.t("ok"))
        self.pc.page_size = max(3, min(8, (h - 600) // 170))
        self.pc.on_change = loop.invalidate
        self.pc.set_timer = loop.call_later
        self.ctrl.on_change = self._ticket_changed
        self.ctrl.set_timer = loop.call_later

        def on_draw(surface: pygame.Surface) -> None:
            if self.mode == "ticket":
                self.buttons = draw_ticket(surface, self.ctrl, self.title, self.pressed)
            else:
                self.buttons = draw(surface, self.pc, self.title, self.ctrl.printer_problem())
            self.screen_seq += 1

        loop.on_draw = on_draw
        loop.on_tap = self._on_tap
        loop.on_press = self._on_press
        loop.on_event = self._on_key
        self._ui.ready.set()
        try:
            loop.run()
        finally:
            pygame.display.quit()

    def _ticket_changed(self) -> None:
        if self.mode == "ticket" and self.ctrl.view.screen == TicketScreen.HOME:
            self.mode = "procedures"  # the ticket flow is over: back to the procedure
            self.pc.touched()
        if self.loop is not None:
            self.loop.invalidate()

    def _on_tap(self, tap: Tap) -> None:
        if self.mode == "ticket":
            super()._on_tap(tap)
            return
        c = self.pc
        c.touched()
        if c.screen == "search" and c.keyboard is not None:
            result = c.keyboard.tap(tap.pos)
            if result == "enter":
                c.submit_search()
                return
            if result is not None:
                c.typed()
                return
        if self.pressed is not None and self.loop is not None:
            self.pressed = None
            self.loop.invalidate()
        b = hit_test(self.buttons, tap.pos)
        if b is None or not b.hit(tap.up):
            return
        action = b.value
        if action[0] == "search":
            c.open_search()
        elif action[0] == "field":
            c.open_field(action[1])
        elif action[0] == "procedure":
            c.open_procedure(action[1])
        elif action[0] == "page":
            c.page(action[1])
        elif action[0] == "back":
            c.back()
        elif action[0] == "home":
            c.home()
        elif action[0] == "print":
            c.print_checklist()
        elif action[0] == "qr":
            c.open_qr()
        elif action[0] == "ticket":
            c.take_ticket()
        elif action[0] == "lang":
            c.toggle_lang()

    def _on_key(self, event: pygame.event.Event) -> None:
        c = self.pc
        if self.mode != "procedures" or c.screen != "search" or c.keyboard is None \
                or event.type not in (pygame.TEXTINPUT, pygame.KEYDOWN):
            return
        result = c.keyboard.handle(event)
        if result == "enter":
            c.submit_search()
        elif result is not None:
            c.typed()

    def _ticket(self, service: str) -> None:
        """Hand over to the ticket flow for `service` (its screens until it returns home)."""
        self.ctrl.home()
        self.mode = "ticket"
        self.ctrl.choose_service(service)
        if self.ctrl.view.screen == TicketScreen.HOME:  # refused at once and back home: stay here
            self.mode = "procedures"
        if self.loop is not None:
            self.loop.invalidate()

    # ---------------------------------------------------------------- requests (worker threads)
    def _search(self, query: str, field: str | None, offset: int, seq: int) -> None:
        fields: dict[str, Any] = {"query": query, "limit": self.pc.page_size, "offset": offset}
        if field:
            fields["field"] = field
        self._ask(self.ctx.topics.procedures_search, fields, self.pc.listed, seq)

    def _get(self, code: str, seq: int) -> None:
        self._ask(self.ctx.topics.procedures_get, {"code": code}, self.pc.got, seq)

    def _ask(self, topic: str, fields: dict[str, Any], done: Callable[[int, Any], None], seq: int) -> None:
        def work() -> None:
            try:
                reply = self.bus.request(topic, fields, timeout=self.request_timeout_s, retries=1)
            except RequestTimeout:
                log.warning("the hub did not answer %s", topic)
                reply = None
            if self.loop is not None:
                self.loop.call_soon(done, seq, reply)
        threading.Thread(target=work, name=f"procedures-{self.dev.id}", daemon=True).start()

    def _print(self, procedure: dict[str, Any]) -> str | None:
        if not self.dev.printer or self.ctrl.printer_problem():
            return None
        with self._lock:
            self._checklists += 1
            n = self._checklists
        now = self.ctx.clock.now()
        job_id = f"{self.dev.id}-tt-{now.strftime('%Y%m%d%H%M%S')}-{n}"[:64]
        job = P.ChecklistPrintJob(job_id=job_id, kind="checklist", procedure=procedure, source=self.dev.id,
                                  created_at=P.rfc3339(now))
        self.bus.publish(self.ctx.topics.print_job(self.dev.printer), job)
        if self.loop is not None:
            self.loop.call_later(self.dev.print_timeout_s * 2, lambda: self.pc.print_timed_out(job_id))
        return job_id

    def _on_print_result(self, topic: str, payload: bytes) -> None:
        res = self.bus.parse_payload(topic, payload, P.PrintResult)  # a bad one is reported
        if res is not None and self.loop is not None:
            data = res.wire()
            self.loop.call_soon(self.ctrl.print_result, data)  # a ticket job's, or
            self.loop.call_soon(self.pc.print_result, data)    # a checklist's


def create_procedures(ctx: DaemonContext) -> ProcedureKiosk:
    return ProcedureKiosk(ctx)
