"""Lookup kiosk: controller rules, and the daemon on a real broker driven by scans and taps.

Screenshots of every screen go to tmp (or to $MOTCUA_SCREENSHOTS, e.g. docs/screenshots).
"""
from __future__ import annotations

import os
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pygame
import pytest

from edge import protocol as P
from edge.bus import wait_until
from edge.ui import Tap, save_screenshot
from kiosk.lookup import TEXTS, LookupController, create_lookup, when

CODE = "000.17.22.H56-210531-0001"
URL = f"https://dichvucong.example.gov.vn/tra-cuu?MHS={CODE}"


def dossier(**kw: Any) -> dict[str, Any]:
    d = {"code": CODE, "procedure": "Đăng ký khai sinh", "status": 4, "status_text": "Đang xử lý",
         "received_at": "2021-05-31T08:15:02+07:00", "due_at": "2021-06-03T16:30:00+07:00",
         "returned_at": None, "overdue": False, "applicant": "Nguyễn V*** A**",
         "updated_at": "2021-06-01T10:00:00+07:00", "stale": False}
    d.update(kw)
    return d


# ------------------------------------------------------------------ controller

class Timers:
    def __init__(self) -> None:
        self.armed: list[tuple[float, Any]] = []

    def __call__(self, delay: float, fn: Any) -> Any:
        class H:
            cancelled = False

            def cancel(self) -> None:
                self.cancelled = True
        h = H()
        self.armed.append((delay, fn, h))
        return h

    def fire_last(self) -> None:
        delay, fn, h = self.armed[-1]
        assert not h.cancelled
        fn()


def test_controller_flow_and_late_replies() -> None:
    sent: list[tuple[str, int]] = []
    c = LookupController(lambda code, seq: sent.append((code, seq)), 15, return_counter="Quầy 5")
    timers = Timers()
    c.set_timer = timers
    c.scanned(URL)  # the QR's URL is reduced to the code
    assert c.screen == "searching" and sent == [(CODE, 1)]
    c.scanned("000.A0.01.H26-210212-9090")  # a newer scan wins
    c.replied(1, {"id": "x", "ok": True, "dossier": dossier()})
    assert c.screen == "searching"  # the late reply to the first scan is dropped
    c.replied(2, {"id": "y", "ok": True, "dossier": dossier(status=9, status_text="Đã xử lý xong")})
    assert c.screen == "result"
    meaning, step = c.status_lines()
    assert "Quầy 5" in step and "nhận kết quả" in step
    timers.fire_last()  # cleared after the idle timeout
    assert c.screen == "scan" and c.dossier is None


def test_controller_errors_in_plain_vietnamese() -> None:
    c = LookupController(lambda code, seq: None)
    c.scanned("HELLO WORLD")
    assert c.screen == "error" and c.error_code == "bad_request"
    assert "không phải mã hồ sơ" in c.error_text
    for code, words in [("not_found", "Không tìm thấy hồ sơ có mã " + CODE), ("rate_limited", "chờ ít giây"),
                        ("unavailable", "tạm gián đoạn"), ("internal", "báo cán bộ")]:
        c.scanned(CODE)
        c.replied(c._seq, P.error_reply("r1", code))
        assert c.screen == "error" and c.error_code == code and words in c.error_text
    c.scanned(CODE)
    c.timed_out(c._seq)
    assert c.error_code == "unavailable"
    c.scanned(CODE)
    c.replied(c._seq, {"id": "z", "ok": True, "dossier": {"code": CODE, "status": 42}})
    assert c.error_code == "internal"  # a malformed reply never shows garbage


def test_overdue_notice_says_what_the_agency_owes() -> None:
    c = LookupController(lambda code, seq: None, 15, return_counter="Quầy 5")
    c.dossier = dossier(overdue=True)
    assert c.overdue()
    vi = c.t("overdue", counter=c.where())
    # the agency apologises to the citizen, in writing, with a new date; and where to ask
    assert "cơ quan giải quyết hồ sơ phải gửi ông/bà Phiếu xin lỗi và hẹn lại ngày trả kết quả" in vi
    assert "xin hỏi tại Quầy 5" in vi
    c.lang = "en"
    en = c.t("overdue", counter=c.where())
    assert "agency handling it to send you a letter of apology with a new appointment date" in en
    c.lang = "vi"
    assert c.status_lines()[1] == ("Xin quay lại nhận kết quả theo ngày hẹn mới ghi trên Phiếu xin lỗi "
                                   "và hẹn lại ngày trả kết quả.")   # not "come back on the date": it has passed
    # no text on the kiosk can be read as the citizen apologising
    for lang in TEXTS:
        for key, text in TEXTS[lang].items():
            assert "để được giải thích và xin lỗi" not in text, key
            assert text.count("xin lỗi") == text.count("Phiếu xin lỗi"), key
    # without a configured counter, upstream's place, else the reception and results counter
    c2 = LookupController(lambda code, seq: None, 15)
    c2.dossier = dossier(overdue=True)
    assert c2.where() == "quầy tiếp nhận và trả kết quả"
    c2.dossier = dossier(overdue=True, return_place="Bộ phận một cửa, tầng 1")
    assert c2.where() == "Bộ phận một cửa, tầng 1"


def test_waiting_for_documents_says_which_and_by_when_never_overdue() -> None:
    c = LookupController(lambda code, seq: None, 15, return_counter="Quầy 2")
    c.dossier = dossier(status=5, status_text="Yêu cầu bổ sung giấy tờ", overdue=True,
                        docs_asked="Tờ khai (bản chính)", docs_due_at="2021-06-10T17:00:00+07:00")
    assert not c.overdue()            # the clock is stopped: no overdue notice beside that
    meaning, step = c.status_lines()
    assert meaning == "Hồ sơ cần bổ sung thêm giấy tờ."
    assert step == ("Xin mang giấy tờ cần bổ sung đến Quầy 2 trước 17:00 ngày 10/06/2021. "
                    "Thời gian chờ bổ sung không tính vào thời hạn giải quyết.")
    assert "quá" not in step
    c.dossier = dossier(status=5, status_text="Yêu cầu bổ sung giấy tờ")
    _, step = c.status_lines()
    assert "hỏi Quầy 2 giấy tờ cần bổ sung" in step
    c.lang = "en"
    c.dossier = dossier(status=5, status_text="Yêu cầu bổ sung giấy tờ", docs_asked="Form", docs_due_at=None)
    assert c.status_lines()[1].startswith("Please bring the documents asked for to Quầy 2.")
    for status in (3, 7, 8, 9, 10):
        c.dossier = dossier(status=status, status_text="x", overdue=True)
        assert not c.overdue()


def test_typed_short_form_gets_this_offices_agency_code() -> None:
    sent: list[tuple[str, int]] = []
    c = LookupController(lambda code, seq: sent.append((code, seq)), 15, agency="000.17.22.H56",
                         today=lambda: date(2026, 11, 20))
    assert c.example() == "Ví dụ: 000.17.22.H56-261120-0001, hoặc chỉ phần sau: 261120-0001"
    c.scanned("261116-0017")
    assert sent[-1][0] == "000.17.22.H56-261116-0017"
    c.scanned("000.A0.01.H26-210212-9090")      # a full code of another agency stays as it is
    assert sent[-1][0] == "000.A0.01.H26-210212-9090"
    c.scanned("261121-0001")                     # dated after today: refused, with this office's example
    assert c.screen == "error" and "21/11/2026" in c.error_text
    c.scanned("17")
    assert "000.17.22.H56-261120-0001" in c.error_text
    plain = LookupController(lambda code, seq: sent.append((code, seq)), 15)
    plain.scanned("261116-0017")                 # no agency known: the short form is not a code
    assert plain.screen == "error" and plain.error_code == "bad_request"


def test_when_formats_office_time() -> None:
    assert when("2021-05-31T08:15:02+07:00") == "08:15 ngày 31/05/2021"
    assert when("2021-05-31T08:15:02+07:00", time_too=False) == "31/05/2021"
    assert when(None) == "—"


# ------------------------------------------------------------------ daemon on a real broker

class Hub:
    """Answers dossier/lookup like the hub would, from a dict (the hub itself is tested in hub's tests)."""

    def __init__(self, office: Any) -> None:
        self.answers: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.silent = False
        self.bus = office.client("admin")
        self.bus.serve(office.topics.dossier_lookup, P.LookupRequest, self.answer)

    def answer(self, req: P.LookupRequest, topic: str) -> dict[str, Any] | None:
        self.requests.append(req.code)
        if self.silent:
            return None
        a = self.answers.get(req.code)
        if a is None:
            return P.error_reply(req.id, "not_found")
        if "error" in a:
            return P.error_reply(req.id, a["error"])
        return P.ok_reply(req.id, dossier=a)


@pytest.fixture
def kiosk(office: Any):
    k = create_lookup(office.ctx("kiosk-2", "kiosk"))
    k.lookup_timeout_s = 0.5
    k.start()
    yield k
    k.stop()


def shot(k: Any, name: str, tmp: Path) -> Path:
    """Save the kiosk's screen once the UI thread has drawn the current state."""
    folder = Path(os.environ.get("MOTCUA_SCREENSHOTS", tmp))
    done = threading.Event()
    out: list[Path] = []

    def grab() -> None:
        out.append(save_screenshot(k.loop.surface, folder / f"lookup-{name}.png"))
        done.set()

    seq = k.screen_seq
    k.loop.invalidate()
    k.loop.call_soon(lambda: None)
    assert wait_until(lambda: k.screen_seq > seq, 5)
    k.loop.call_soon(grab)
    assert done.wait(5)
    return out[0]


def tap(k: Any, pos: tuple[int, int]) -> None:
    k.loop.call_soon(k._on_tap, Tap(pos, pos, "touch", time.monotonic()))


def button(k: Any, action: str) -> tuple[int, int]:
    assert wait_until(lambda: any(b.value[0] == action for b in k.buttons), 5), [b.value for b in k.buttons]
    return next(b for b in k.buttons if b.value[0] == action).rect.center


def test_scan_to_result_and_screens(office: Any, kiosk: Any, tmp_path: Path) -> None:
    hub = Hub(office)
    hub.answers[CODE] = dossier(history=[
        {"at": "2021-05-31T08:15:02+07:00", "status": 2, "status_text": "Được tiếp nhận", "unit": "Bộ phận một cửa",
         "text": "Tiếp nhận hồ sơ"},
        {"at": "2021-05-31T14:02:00+07:00", "status": 4, "status_text": "Đang xử lý",
         "unit": "Công chức Tư pháp - Hộ tịch", "text": None}])
    scanner = office.client("admin")
    c = kiosk.ctrl
    p = shot(kiosk, "scan", tmp_path)
    img = pygame.image.load(str(p))
    assert img.get_size() == (1080, 1920)

    def scan(code: str) -> None:
        scanner.publish(office.topics.scan("scanner-1"),
                        P.Scan(code=code, symbology="qrcode", source="hid", ts=P.rfc3339(datetime.now().astimezone())))

    scan(URL)
    assert wait_until(lambda: c.screen == "result", 5)
    assert hub.requests == [CODE]
    assert c.dossier["procedure"] == "Đăng ký khai sinh"
    assert c.history_lines() == ["08:15 ngày 31/05/2021: Tiếp nhận hồ sơ (Bộ phận một cửa)",
                                 "14:02 ngày 31/05/2021: Đang xử lý (Công chức Tư pháp - Hộ tịch)"]
    shot(kiosk, "result-processing", tmp_path)

    hub.answers[CODE] = dossier(status=9, status_text="Đã xử lý xong")
    scan(CODE)
    assert wait_until(lambda: c.screen == "result" and c.dossier["status"] == 9, 5)
    shot(kiosk, "result-ready", tmp_path)

    hub.answers[CODE] = dossier(overdue=True, stale=True)
    scan(CODE)
    assert wait_until(lambda: c.screen == "result" and c.dossier["overdue"] and c.dossier["stale"], 5)
    assert c.overdue()
    shot(kiosk, "result-overdue-stale", tmp_path)

    # waiting for documents: what and by when; no overdue notice even if a hub sent the flag
    hub.answers[CODE] = dossier(status=5, status_text="Yêu cầu bổ sung giấy tờ", overdue=True,
                                docs_asked="Bản sao chứng thực Giấy chứng nhận quyền sử dụng đất; Tờ khai (bản chính)",
                                docs_due_at="2021-06-10T17:00:00+07:00")
    scan(CODE)
    assert wait_until(lambda: c.screen == "result" and c.dossier["status"] == 5, 5)
    assert not c.overdue()
    shot(kiosk, "result-needs-documents", tmp_path)

    scan("000.99.99.H99-210101-0007")
    assert wait_until(lambda: c.screen == "error" and c.error_code == "not_found", 5)
    shot(kiosk, "error-not-found", tmp_path)

    hub.silent = True
    scan(CODE)
    assert wait_until(lambda: c.screen == "error" and c.error_code == "unavailable", 5)
    shot(kiosk, "error-unavailable", tmp_path)
    hub.silent = False

    scan("CHÀO BẠN")
    assert wait_until(lambda: c.screen == "error" and c.error_code == "bad_request", 5)
    shot(kiosk, "error-bad-code", tmp_path)

    tap(kiosk, button(kiosk, "home"))
    assert wait_until(lambda: c.screen == "scan", 5)


def test_typing_a_code_on_the_keyboard(office: Any, kiosk: Any, tmp_path: Path) -> None:
    hub = Hub(office)
    hub.answers[CODE] = dossier(status=10, status_text="Đã trả kết quả", returned_at="2021-06-03T09:00:00+07:00")
    c = kiosk.ctrl
    tap(kiosk, button(kiosk, "keyboard"))
    assert wait_until(lambda: c.screen == "keyboard", 5)
    kb = c.keyboard
    for ch in "000.17.22.H56-2105":
        tap(kiosk, kb.key_at(f"char:{ch}").center)
    tap(kiosk, kb.key_at("enter").center)
    assert wait_until(lambda: bool(c.typed_error), 5)
    assert c.screen == "keyboard" and hub.requests == []  # a half code never leaves the kiosk
    shot(kiosk, "keyboard-typo", tmp_path)
    for ch in "31-0001":
        tap(kiosk, kb.key_at(f"char:{ch}").center)
    assert wait_until(lambda: kb.text == CODE and not c.typed_error, 5)
    shot(kiosk, "keyboard", tmp_path)
    tap(kiosk, kb.key_at("enter").center)
    assert wait_until(lambda: c.screen == "result", 5)
    assert hub.requests == [CODE]
    shot(kiosk, "result-returned", tmp_path)
    tap(kiosk, button(kiosk, "home"))
    assert wait_until(lambda: c.screen == "scan", 5)
    # the short form on the receipt, typed: this office's agency code is filled in
    short = f"{c.agency}-210531-0002"
    hub.answers[short] = dossier(code=short)
    tap(kiosk, button(kiosk, "keyboard"))
    assert wait_until(lambda: c.screen == "keyboard" and kb.text == "", 5)
    for ch in "210531-0002":
        tap(kiosk, kb.key_at(f"char:{ch}").center)
    assert wait_until(lambda: kb.text == "210531-0002", 5)
    shot(kiosk, "keyboard-short", tmp_path)
    tap(kiosk, kb.key_at("enter").center)
    assert wait_until(lambda: c.screen == "result" and c.dossier["code"] == short, 5)
    assert hub.requests[-1] == short
    tap(kiosk, button(kiosk, "home"))
    assert wait_until(lambda: c.screen == "scan", 5)
    tap(kiosk, button(kiosk, "lang"))
    assert wait_until(lambda: c.lang == "en", 5)
    shot(kiosk, "scan-en", tmp_path)


def test_bad_scan_payload_is_ignored(office: Any, kiosk: Any) -> None:
    admin = office.client("admin")
    admin.publish(office.topics.scan("scanner-1"), b"not json")
    admin.publish(office.topics.scan("scanner-1"), {"code": 5})
    hub = Hub(office)
    hub.answers[CODE] = dossier()
    admin.publish(office.topics.scan("scanner-1"), {"code": CODE, "symbology": "code128", "source": "hid",
                                                    "ts": "2026-11-21T08:00:00+07:00"})
    assert wait_until(lambda: kiosk.ctrl.screen == "result", 5)
    assert kiosk.healthy()
