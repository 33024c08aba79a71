"""The dossier lookup kiosk: scan the receipt (or type its code) and read where the dossier stands.

MQTT on the bus thread, pygame on its own UI thread (``UiLoop``), lookups on a named worker
thread (``bus.request`` to PROTOCOL.md's ``dossier/lookup``, retried with the same id). The
``LookupController`` holds every screen's state without pygame, so its rules are tested
directly; ``draw`` paints it. A result or an error is cleared after ``idle_timeout_s``.
A newer scan replaces an older lookup still in flight: its late reply is ignored.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any, Callable

import pygame

from edge import protocol as P
from edge.bus import RequestTimeout
from edge.daemon import DaemonContext
from edge.ui import Tap, UiLoop, UiThread, device_loop
from edge.ui.keyboard import Keyboard, draw_field
from edge.ui.text import blit_text
from edge.ui.widgets import Button, hit_test
from hub.codes import CodeError, agency_code, example, parse

log = logging.getLogger(__name__)

TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "TRA CỨU HỒ SƠ",
        "scan": "Xin đưa mã vạch hoặc mã QR trên giấy hẹn trả kết quả vào máy quét",
        "scan_hint": "Giữ giấy hẹn cách máy quét khoảng 10 cm",
        "type": "Nhập mã hồ sơ",
        "type_title": "Nhập mã hồ sơ trên giấy hẹn",
        "example": "Ví dụ: {code}, hoặc chỉ phần sau: {short}",
        "search": "Tra cứu",
        "back": "Quay lại",
        "searching": "Đang tra cứu hồ sơ, xin chờ trong giây lát…",
        "code": "Mã hồ sơ",
        "procedure": "Thủ tục",
        "applicant": "Người nộp",
        "unit": "Đơn vị xử lý",
        "status": "Tình trạng",
        "received": "Ngày tiếp nhận",
        "due": "Ngày hẹn trả kết quả",
        "returned": "Ngày trả kết quả",
        "next": "Việc cần làm",
        "overdue": "Hồ sơ đã quá ngày hẹn trả kết quả. Theo quy định, cơ quan giải quyết hồ sơ phải gửi "
                   "ông/bà Phiếu xin lỗi và hẹn lại ngày trả kết quả. Nếu chưa nhận được phiếu này, "
                   "xin hỏi tại {counter}.",
        "history": "Quá trình xử lý",
        "docs_asked": "Giấy tờ cần bổ sung",
        "docs_due": "Hạn nộp bổ sung",
        "docs_step": "Xin mang giấy tờ cần bổ sung đến {counter}{by}. Thời gian chờ bổ sung không tính "
                     "vào thời hạn giải quyết.",
        "docs_by": " trước {t}",
        "docs_unknown": "Xin xem thông báo yêu cầu bổ sung đã nhận, hoặc hỏi {counter} giấy tờ cần bổ sung. "
                        "Thời gian chờ bổ sung không tính vào thời hạn giải quyết.",
        "ask_counter": "quầy tiếp nhận và trả kết quả",
        "overdue_step": "Xin quay lại nhận kết quả theo ngày hẹn mới ghi trên Phiếu xin lỗi và hẹn lại ngày "
                         "trả kết quả.",
        "stale": "Hệ thống của tỉnh đang gián đoạn: thông tin cập nhật lúc {t}.",
        "done": "Xong",
        "lang": "English",
        "return_counter": "quầy trả kết quả",
        "err_title": "Chưa tra cứu được",
        "bad_request": "Mã vừa đọc không phải mã hồ sơ. {detail}",
        "not_found": "Không tìm thấy hồ sơ có mã {code}. Xin kiểm tra lại mã trên giấy hẹn hoặc hỏi cán bộ tại quầy hướng dẫn.",
        "rate_limited": "Máy tra cứu đang nhận quá nhiều yêu cầu. Xin chờ ít giây rồi thử lại.",
        "unavailable": "Hệ thống tra cứu đang tạm gián đoạn. Xin thử lại sau ít phút hoặc hỏi cán bộ tại quầy.",
        "internal": "Có lỗi trong hệ thống tra cứu. Xin báo cán bộ tại quầy hướng dẫn.",
        "at": "{hm} ngày {d}",
    },
    "en": {
        "title": "DOSSIER LOOKUP",
        "scan": "Hold the barcode or QR code of your appointment receipt under the reader",
        "scan_hint": "Keep the receipt about 10 cm from the reader",
        "type": "Type the dossier code",
        "type_title": "Type the dossier code printed on your receipt",
        "example": "Example: {code}, or just the end: {short}",
        "search": "Look up",
        "back": "Back",
        "searching": "Looking up your dossier…",
        "code": "Dossier code",
        "procedure": "Procedure",
        "applicant": "Applicant",
        "unit": "Handled by",
        "status": "Status",
        "received": "Received",
        "due": "Results due",
        "returned": "Results returned",
        "next": "What to do next",
        "overdue": "This dossier is past its appointment date. The rules require the agency handling it to "
                   "send you a letter of apology with a new appointment date (Phiếu xin lỗi và hẹn lại ngày "
                   "trả kết quả). If you have not received it, please ask at {counter}.",
        "history": "What happened so far",
        "docs_asked": "Documents to add",
        "docs_due": "Documents due",
        "docs_step": "Please bring the documents asked for to {counter}{by}. The waiting time does not count "
                     "towards the processing time.",
        "docs_by": " by {t}",
        "docs_unknown": "Please see the request for documents you received, or ask {counter} which documents "
                        "are needed. The waiting time does not count towards the processing time.",
        "ask_counter": "the reception and results counter",
        "overdue_step": "Please come back for the result on the new date given in the letter of apology.",
        "stale": "The provincial system is unreachable: information as of {t}.",
        "done": "Done",
        "lang": "Tiếng Việt",
        "return_counter": "the results counter",
        "err_title": "Lookup failed",
        "bad_request": "That is not a dossier code. {detail}",
        "not_found": "No dossier has the code {code}. Please check your receipt or ask a clerk.",
        "rate_limited": "Too many lookups right now. Please wait a few seconds and try again.",
        "unavailable": "The lookup system is temporarily unavailable. Please try again later or ask a clerk.",
        "internal": "The lookup system had an error. Please tell a clerk.",
        "at": "{hm} on {d}",
    },
}

#: Per portal status: (what it means, what to do next), in plain Vietnamese.
STATUS_PLAIN: dict[int, tuple[str, str]] = {
    1: ("Hồ sơ mới đăng ký, đang chờ cán bộ kiểm tra và tiếp nhận.",
        "Xin chờ cán bộ tiếp nhận hồ sơ; nếu quá một ngày làm việc, xin hỏi quầy tiếp nhận."),
    2: ("Hồ sơ đã được tiếp nhận và sẽ được chuyển đến bộ phận giải quyết.",
        "Xin quay lại nhận kết quả theo ngày hẹn trên giấy hẹn."),
    3: ("Hồ sơ không được tiếp nhận.",
        "Xin đến quầy tiếp nhận để biết lý do và được hướng dẫn làm lại hồ sơ."),
    4: ("Hồ sơ đang được giải quyết.",
        "Chưa cần làm gì thêm. Xin quay lại nhận kết quả theo ngày hẹn."),
    5: ("Hồ sơ cần bổ sung thêm giấy tờ.",
        "Xin mang giấy tờ cần bổ sung đến quầy tiếp nhận. Thời gian chờ bổ sung không tính vào thời hạn giải quyết."),
    6: ("Cần nộp phí, lệ phí hoặc thuế trước khi nhận kết quả.",
        "Xin nộp tiền theo thông báo, rồi mang chứng từ đã nộp đến quầy tiếp nhận."),
    7: ("Hồ sơ đã được rút theo yêu cầu của người nộp.",
        "Không cần làm gì thêm. Nếu muốn nộp lại, xin đến quầy tiếp nhận."),
    8: ("Hồ sơ đã dừng giải quyết.",
        "Xin đến quầy tiếp nhận để được giải thích lý do."),
    9: ("Đã có kết quả. Mời ông/bà đến nhận.",
        "Mời ông/bà mang giấy hẹn và giấy tờ tùy thân đến {counter} để nhận kết quả."),
    10: ("Kết quả đã được trả.",
         "Hồ sơ đã hoàn tất, không cần làm gì thêm."),
}

Screen = str  # "scan" | "keyboard" | "searching" | "result" | "error"


def when(ts: str | None, lang: str = "vi", time_too: bool = True) -> str:
    """'08:15 ngày 31/05/2021' from an RFC 3339 time (the office's offset kept), '—' when absent."""
    if not ts:
        return "—"
    try:
        dt = datetime.fromisoformat(ts)
    except ValueError:
        return ts
    d = dt.strftime("%d/%m/%Y")
    return TEXTS[lang]["at"].format(hm=dt.strftime("%H:%M"), d=d) if time_too else d


class LookupController:
    """Screens and transitions of the lookup kiosk; no pygame, no MQTT."""

    def __init__(self, lookup_fn: Callable[[str, int], None], idle_timeout_s: float = 15,
                 return_counter: str | None = None, lang: str = "vi",
                 today: Callable[[], Any] | None = None, agency: str | None = None) -> None:
        self.lookup_fn = lookup_fn
        self.agency = agency          # this office's agency code: fills in a typed short form
        self.idle_timeout_s = idle_timeout_s
        self.return_counter = return_counter
        self.default_lang = self.lang = lang
        self.today = today
        self.screen: Screen = "scan"
        self.code = ""
        self.dossier: dict[str, Any] | None = None
        self.error_code = ""
        self.error_text = ""
        self.typed_error = ""
        self.keyboard: Keyboard | None = None
        self.on_change: Callable[[], None] = lambda: None
        self.set_timer: Callable[[float, Callable[[], None]], Any] | None = None
        self._seq = 0
        self._timer: Any = None

    def t(self, key: str, **kw: Any) -> str:
        return P.nfc(TEXTS[self.lang][key].format(**kw))

    def example(self) -> str:
        """'Ví dụ: <this office's code>, hoặc chỉ phần sau: <date-sequence>'."""
        code = example(self.agency, self.today() if self.today else None)
        return self.t("example", code=code, short=code.rsplit("-", 2)[-2] + "-" + code.rsplit("-", 1)[-1])

    def _parse(self, text: str) -> str:
        return parse(text, self.today() if self.today else None, agency=self.agency).code

    # ---------------------------------------------------------------- inputs
    def scanned(self, text: str) -> None:
        """A code from the reader: look it up from whichever screen is showing."""
        try:
            code = self._parse(text)
        except CodeError as exc:
            self._error("bad_request", self.t("bad_request", detail=exc.message))
            return
        self._lookup(code)

    def open_keyboard(self) -> None:
        self.typed_error = ""
        self.screen = "keyboard"
        if self.keyboard is not None:
            self.keyboard.text = ""
            self.keyboard.ok_label = self.t("search")
        self._arm()
        self.on_change()

    def typed(self) -> None:
        """OK on the keyboard: check the code here first, so a typo is explained on the spot."""
        text = self.keyboard.text if self.keyboard else ""
        try:
            code = self._parse(text)
        except CodeError as exc:
            self.typed_error = exc.message
            self._arm()
            self.on_change()
            return
        self._lookup(code)

    def key_pressed(self) -> None:
        self.typed_error = ""
        self._arm()
        self.on_change()

    def home(self) -> None:
        self._seq += 1  # a reply still on its way is no longer wanted
        self.screen = "scan"
        self.dossier = None
        self.lang = self.default_lang
        self._cancel()
        self.on_change()

    def toggle_lang(self) -> None:
        self.lang = "en" if self.lang == "vi" else "vi"
        self.on_change()

    # ---------------------------------------------------------------- replies
    def replied(self, seq: int, reply: dict[str, Any]) -> None:
        if seq != self._seq or self.screen != "searching":
            log.info("dropping a late lookup reply (%d, now %d)", seq, self._seq)
            return
        if reply.get("ok"):
            try:
                raw = reply.get("dossier") or {}
                # the hub adds `return_place` and `unit` (extra fields): keep them
                self.dossier = {**raw, **P.Dossier.model_validate(raw).wire()}
            except Exception as exc:  # noqa: BLE001 - a malformed reply is an internal error
                log.warning("malformed lookup reply: %s", exc)
                self._error("internal", self.t("internal"))
                return
            self.screen = "result"
            self._arm()
            self.on_change()
            return
        err = reply.get("error") or {}
        code = err.get("code", "internal")
        if code == "bad_request":
            text = self.t("bad_request", detail=err.get("message", ""))
        elif code in ("not_found", "rate_limited", "unavailable"):
            text = self.t(code, code=self.code)
        else:
            text = self.t("internal")
        self._error(code, text)

    def timed_out(self, seq: int) -> None:
        if seq == self._seq and self.screen == "searching":
            self._error("unavailable", self.t("unavailable"))

    # ---------------------------------------------------------------- views
    def where(self) -> str:
        """Where the citizen asks or brings things: upstream's place, the configured counter, else generic."""
        d = self.dossier or {}
        return d.get("return_place") or self.return_counter or self.t("ask_counter")

    def overdue(self) -> bool:
        """The overdue notice applies: never while waiting for documents (the clock is stopped)."""
        d = self.dossier or {}
        return bool(d.get("overdue")) and int(d.get("status", 0)) not in (3, 5, 7, 8, 9, 10)

    def status_lines(self) -> tuple[str, str]:
        """(plain meaning, next step) of the dossier on screen."""
        d = self.dossier or {}
        status = int(d.get("status", 0))
        meaning, step = STATUS_PLAIN.get(status, (d.get("status_text", ""), ""))
        if status == 5:
            if d.get("docs_asked"):
                by = self.t("docs_by", t=when(d["docs_due_at"], self.lang)) if d.get("docs_due_at") else ""
                step = self.t("docs_step", counter=self.where(), by=by)
            else:
                step = self.t("docs_unknown", counter=self.where())
            return P.nfc(meaning), P.nfc(step)
        if self.overdue():
            return P.nfc(meaning), self.t("overdue_step")
        counter = d.get("return_place") or self.return_counter or TEXTS["vi"]["return_counter"]
        return P.nfc(meaning), P.nfc(step.format(counter=counter))

    def history_lines(self, n: int = 4) -> list[str]:
        """The newest ``n`` steps of "what happened so far", oldest first, one line each."""
        out = []
        for h in ((self.dossier or {}).get("history") or [])[-n:]:
            if not isinstance(h, dict):
                continue
            what = h.get("text") or h.get("status_text") or ""
            unit = f" ({h['unit']})" if h.get("unit") else ""
            out.append(P.nfc(f"{when(h.get('at'), self.lang)}: {what}{unit}"))
        return out

    # ---------------------------------------------------------------- internals
    def _lookup(self, code: str) -> None:
        self._seq += 1
        self.code = code
        self.screen = "searching"
        self._cancel()
        self.on_change()
        self.lookup_fn(code, self._seq)

    def _error(self, code: str, text: str) -> None:
        self.error_code = code
        self.error_text = P.nfc(text.strip())
        self.screen = "error"
        self._arm()
        self.on_change()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        self._cancel()
        if self.set_timer is not None:
            self._timer = self.set_timer(self.idle_timeout_s, self.home)


# ==================================================================== drawing

BG = (240, 244, 248)
BLUE = (0, 94, 160)
RED = (190, 30, 30)
GREEN = (0, 120, 60)
AMBER = (170, 100, 0)
INK = (20, 24, 32)
GREY = (90, 96, 110)


def _status_colour(status: int, overdue: bool) -> tuple[int, int, int]:
    if overdue or status in (3, 8):
        return RED
    if status in (5, 6):
        return AMBER
    if status in (9, 10):
        return GREEN
    return BLUE


def _barcode_icon(surface: pygame.Surface, rect: pygame.Rect) -> None:
    pygame.draw.rect(surface, (255, 255, 255), rect, border_radius=12)
    x = rect.x + rect.w // 10
    widths = [3, 1, 2, 1, 1, 3, 2, 1, 1, 2, 3, 1, 2, 1, 1, 2, 1, 3, 1, 2]
    unit = max(2, (rect.w * 8 // 10) // (sum(widths) * 2))
    for i, w in enumerate(widths):
        if i % 2 == 0:
            pygame.draw.rect(surface, INK, (x, rect.y + rect.h // 6, w * unit, rect.h * 2 // 3))
        x += w * unit + unit


def draw(surface: pygame.Surface, c: LookupController, office: str) -> list[Button]:
    """Paint the current screen; returns its buttons for hit-testing."""
    W, H = surface.get_size()
    m = max(24, W // 30)
    surface.fill(BG)
    header = pygame.Rect(0, 0, W, max(110, H // 12))
    pygame.draw.rect(surface, BLUE, header)
    blit_text(surface, office, header.inflate(-2 * m, -header.h // 2).move(0, -header.h // 5),
              max(22, header.h // 5), (220, 235, 255), wrap=False)
    blit_text(surface, c.t("title"), header.inflate(-2 * m, -header.h // 2).move(0, header.h // 6),
              max(30, header.h // 3), (255, 255, 255), bold=True, wrap=False)
    body = pygame.Rect(m, header.bottom + m, W - 2 * m, H - header.bottom - 2 * m)
    bh = max(90, H // 16)
    buttons: list[Button] = []
    if c.screen == "scan":
        y = blit_text(surface, c.t("scan"), pygame.Rect(body.x, body.y, body.w, body.h // 4),
                      max(34, W // 18), INK, bold=True)
        icon = pygame.Rect(0, 0, min(body.w * 2 // 3, 700), min(body.h // 5, 300))
        icon.center = (W // 2, y + m + icon.h // 2)
        _barcode_icon(surface, icon)
        blit_text(surface, c.t("scan_hint"), pygame.Rect(body.x, icon.bottom + m // 2, body.w, 80),
                  max(24, W // 36), GREY)
        buttons.append(Button(pygame.Rect(body.x, body.bottom - 2 * bh - m, body.w, bh), c.t("type"),
                              ("keyboard",), size=max(30, bh // 3)))
        buttons.append(Button(pygame.Rect(body.right - body.w // 3, body.bottom - bh, body.w // 3, bh * 4 // 5),
                              c.t("lang"), ("lang",), bg=GREY, size=max(22, bh // 4)))
    elif c.screen == "keyboard":
        kb = c.keyboard
        top = blit_text(surface, c.t("type_title"), pygame.Rect(body.x, body.y, body.w, bh),
                        max(30, W // 26), INK, bold=True)
        top = blit_text(surface, c.example(), pygame.Rect(body.x, top + 8, body.w, bh // 2),
                        max(22, W // 40), GREY)
        field = pygame.Rect(body.x, top + m // 2, body.w, bh)
        draw_field(surface, field, kb.text if kb else "", "", size=max(30, bh * 2 // 5))
        if c.typed_error:
            blit_text(surface, c.typed_error, pygame.Rect(body.x, field.bottom + 8, body.w, bh),
                      max(24, W // 36), RED, align="left")
        if kb:
            kb.draw(surface)
        buttons.append(Button(pygame.Rect(body.x, body.bottom - bh * 4 // 5, body.w // 3, bh * 4 // 5),
                              c.t("back"), ("home",), bg=GREY, size=max(22, bh // 4)))
    elif c.screen == "searching":
        blit_text(surface, c.t("searching"), body.inflate(0, -body.h // 2), max(34, W // 20), INK)
        blit_text(surface, c.code, pygame.Rect(body.x, body.centery + body.h // 5, body.w, bh),
                  max(26, W // 30), GREY, wrap=False)
    elif c.screen == "result":
        _draw_result(surface, c, body, bh)
        buttons.append(Button(pygame.Rect(body.x, body.bottom - bh, body.w, bh), c.t("done"),
                              ("home",), size=max(30, bh // 3)))
    else:  # error
        box = pygame.Rect(body.x, body.y + body.h // 8, body.w, body.h // 2)
        pygame.draw.rect(surface, (255, 255, 255), box, border_radius=16)
        pygame.draw.rect(surface, RED, box, width=4, border_radius=16)
        y = blit_text(surface, c.t("err_title"), pygame.Rect(box.x + m, box.y + m, box.w - 2 * m, bh),
                      max(34, W // 20), RED, bold=True)
        blit_text(surface, c.error_text, pygame.Rect(box.x + m, y + m, box.w - 2 * m, box.bottom - y - 2 * m),
                  max(30, W // 26), INK)
        buttons.append(Button(pygame.Rect(body.x, body.bottom - 2 * bh - m, body.w, bh), c.t("type"),
                              ("keyboard",), size=max(30, bh // 3)))
        buttons.append(Button(pygame.Rect(body.x, body.bottom - bh, body.w, bh), c.t("done"),
                              ("home",), bg=GREY, size=max(30, bh // 3)))
    for b in buttons:
        b.draw(surface)
    return buttons


def _draw_result(surface: pygame.Surface, c: LookupController, body: pygame.Rect, bh: int) -> None:
    d = c.dossier or {}
    W = surface.get_width()
    status = int(d.get("status", 0))
    overdue = c.overdue()
    colour = _status_colour(status, overdue)
    meaning, step = c.status_lines()
    size = max(26, W // 26)
    y = body.y
    band = pygame.Rect(body.x, y, body.w, bh + bh // 2)
    pygame.draw.rect(surface, colour, band, border_radius=16)
    blit_text(surface, d.get("status_text", ""), band.inflate(-40, -20), max(34, W // 18), (255, 255, 255), bold=True)
    y = band.bottom + 16
    y = blit_text(surface, meaning, pygame.Rect(body.x, y, body.w, bh), size + 4, INK, bold=True) + 16
    rows = [(c.t("code"), d.get("code", "")), (c.t("procedure"), d.get("procedure") or "—"),
            (c.t("applicant"), d.get("applicant") or "—")]
    if d.get("unit"):
        rows.append((c.t("unit"), d["unit"]))
    rows += [
            (c.t("received"), when(d.get("received_at"), c.lang)),
            (c.t("due"), when(d.get("due_at"), c.lang))]
    if d.get("returned_at"):
        rows.append((c.t("returned"), when(d.get("returned_at"), c.lang)))
    if status == 5 and d.get("docs_asked"):
        rows.append((c.t("docs_asked"), d["docs_asked"]))
        if d.get("docs_due_at"):
            rows.append((c.t("docs_due"), when(d["docs_due_at"], c.lang)))
    label_w = body.w * 2 // 5
    for label, value in rows:
        lh = size * 2 + 10
        blit_text(surface, label, pygame.Rect(body.x, y, label_w - 10, lh), size, GREY, align="left", valign="top")
        y = max(y + size + 14, blit_text(surface, str(value), pygame.Rect(body.x + label_w, y, body.w - label_w, lh),
                                         size, INK, bold=True, align="left", valign="top")) + 6
    history = c.history_lines()
    if history:
        small = max(20, size - 6)
        y = blit_text(surface, c.t("history"), pygame.Rect(body.x, y + 6, body.w, small + 10), small, GREY,
                      align="left", valign="top")
        for line in history:
            y = blit_text(surface, "• " + line, pygame.Rect(body.x + 10, y + 2, body.w - 10, small * 2 + 6), small,
                          INK, align="left", valign="top")
    if overdue:
        box = pygame.Rect(body.x, y + 10, body.w, bh + bh // 3)
        pygame.draw.rect(surface, (255, 232, 232), box, border_radius=12)
        pygame.draw.rect(surface, RED, box, width=3, border_radius=12)
        blit_text(surface, c.t("overdue", counter=c.where()), box.inflate(-30, -16), size, RED, bold=True)
        y = box.bottom + 6
    box = pygame.Rect(body.x, y + 14, body.w, min(bh * 4, max(bh * 2, body.bottom - bh - 30 - (y + 14) - (bh if d.get("stale") else 0))))
    pygame.draw.rect(surface, (255, 255, 255), box, border_radius=12)
    pygame.draw.rect(surface, colour, box, width=3, border_radius=12)
    ty = blit_text(surface, c.t("next"), pygame.Rect(box.x + 24, box.y + 12, box.w - 48, size + 16), size, GREY,
                   align="left", valign="top")
    blit_text(surface, step, pygame.Rect(box.x + 24, ty + 6, box.w - 48, box.bottom - ty - 18), size + 6, INK,
              bold=True, align="left", valign="top")
    if d.get("stale"):
        blit_text(surface, c.t("stale", t=when(d.get("updated_at"), c.lang)),
                  pygame.Rect(body.x, box.bottom + 8, body.w, bh - 10), max(20, size - 4), AMBER)


# ==================================================================== daemon

class LookupKiosk:
    """The lookup kiosk daemon: UI thread + bus + lookup worker threads."""

    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.dev = ctx.device
        self.bus = ctx.bus()
        self.title = ctx.cfg.office.name
        hub = getattr(ctx.cfg, "hub", None)
        self.ctrl = LookupController(self._lookup, self.dev.idle_timeout_s,
                                     return_counter=getattr(hub, "return_counter", None),
                                     lang=getattr(ctx.cfg.office, "locale", "vi"),
                                     today=lambda: ctx.clock.now().date(),
                                     agency=agency_code(getattr(hub, "madonvi", None) or ctx.cfg.office.id))
        self.loop: UiLoop | None = None
        self.buttons: list[Button] = []
        self.screen_seq = 0
        self.lookup_timeout_s = 1.5
        self._ui = UiThread(f"lookup-ui-{self.dev.id}", self._ui_main)

    def start(self) -> None:
        self._ui.start("lookup kiosk UI")
        if self.dev.scanner:
            self.bus.subscribe(self.ctx.topics.scan(self.dev.scanner), self._on_scan)
        else:
            log.warning("lookup kiosk %s has no scanner configured: typing only", self.dev.id)
        self.bus.start(wait=5)
        self.bus.set_status("ok", {"mode": "lookup", "scanner": self.dev.scanner})

    def stop(self) -> None:
        self._ui.stop(self.loop)
        self.bus.stop()

    def healthy(self) -> bool:
        return self._ui.alive()

    # ---------------------------------------------------------------- UI thread
    def _ui_main(self) -> None:
        loop = device_loop(self.ctx, self.title)
        self.loop = loop
        w, h = loop.size
        self.ctrl.keyboard = Keyboard(pygame.Rect(16, h * 11 // 20, w - 32, h * 7 // 20), "code",
                                      max_len=40, ok_label=self.ctrl.t("search"))
        self.ctrl.on_change = loop.invalidate
        self.ctrl.set_timer = loop.call_later

        def on_draw(surface: pygame.Surface) -> None:
            self.buttons = draw(surface, self.ctrl, self.title)
            self.screen_seq += 1

        loop.on_draw = on_draw
        loop.on_tap = self._on_tap
        loop.on_event = self._on_key
        self._ui.ready.set()
        try:
            loop.run()
        finally:
            pygame.display.quit()

    def _on_tap(self, tap: Tap) -> None:
        c = self.ctrl
        if c.screen == "keyboard" and c.keyboard is not None:
            result = c.keyboard.tap(tap.pos)
            if result == "enter":
                c.typed()
                return
            if result is not None:
                c.key_pressed()
                return
        b = hit_test(self.buttons, tap.pos)
        if b is None or not b.hit(tap.up):
            return
        action = b.value[0]
        if action == "keyboard":
            c.open_keyboard()
        elif action == "home":
            c.home()
        elif action == "lang":
            c.toggle_lang()

    def _on_key(self, event: pygame.event.Event) -> None:
        c = self.ctrl
        if c.screen != "keyboard" or c.keyboard is None or event.type not in (pygame.TEXTINPUT, pygame.KEYDOWN):
            return
        result = c.keyboard.handle(event)
        if result == "enter":
            c.typed()
        elif result is not None:
            c.key_pressed()

    # ---------------------------------------------------------------- MQTT side
    def _on_scan(self, topic: str, payload: bytes) -> None:
        scan = self.bus.parse_payload(topic, payload, P.Scan)  # a bad one is reported on `error`
        if scan is None:
            return
        if self.loop is not None:
            self.loop.call_soon(self.ctrl.scanned, scan.code)

    def _lookup(self, code: str, seq: int) -> None:
        threading.Thread(target=self._lookup_worker, args=(code, seq), name=f"lookup-{self.dev.id}",
                         daemon=True).start()

    def _lookup_worker(self, code: str, seq: int) -> None:
        assert self.loop is not None
        try:
            reply = self.bus.request(self.ctx.topics.dossier_lookup, {"code": code},
                                     timeout=self.lookup_timeout_s, retries=1)
        except RequestTimeout:
            log.warning("no reply to a lookup of %s", code)
            self.loop.call_soon(self.ctrl.timed_out, seq)
            return
        self.loop.call_soon(self.ctrl.replied, seq, reply)


def create_lookup(ctx: DaemonContext) -> LookupKiosk:
    return LookupKiosk(ctx)
