"""The manager's desk in a real browser: a paper-out alert from the real printer daemon
(virtual backend) stays until acknowledged; a notice posted in the browser reaches the real
TV board daemon through the retained `display/notice` topic."""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from display.daemon import create as create_display
from edge.bus import wait_until
from harness import TestOffice
from printer.daemon import PrinterDaemon
from web_office import CHROMIUM, add_staff, start_web, web_config

playwright = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (scripts/setup.sh installs chromium)", allow_module_level=True)

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "web"


def sign_in(page, url: str, login: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("#user", login)
    page.fill("#password", password)
    page.click("#signin")
    page.wait_for_url("**/console")


def test_manager_acknowledges_paper_out_and_posts_a_notice(tmp_path: Path):
    office = TestOffice(tmp_path / "data", web_config(tmp_path)).start()
    try:
        add_staff(office.data)
        office.start_engine()
        web = start_web(office)
        printer = PrinterDaemon(office.ctx("printer-1", "printer"))
        printer.start()
        office._closers.append(printer.stop)
        board = create_display(office.ctx("display-1", "display"))
        board.start()
        office._closers.append(board.stop)
        admin, t = office.client(), office.topics
        for _ in range(3):
            assert admin.request(t.ticket_issue, {"service": "HT"})["ok"]
        assert admin.request(t.counter_command(1), {"action": "open", "staff": "Nguyễn Thị Lan"})["ok"]
        assert admin.request(t.counter_command(3), {"action": "open", "staff": "Trần Văn Minh"})["ok"]
        assert admin.request(t.counter_command(3), {"action": "pause", "reason": "Đi họp"})["ok"]
        expect = playwright.expect
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
            page = context.new_page()
            page.set_default_timeout(15000)
            # a clerk is not a manager
            sign_in(page, web.url, "lan", "matkhau-lan")
            page.goto(web.url + "/quan-ly")
            assert page.url.endswith("/login")
            sign_in(page, web.url, "hoa", "matkhau-hoa")
            page.click("a[href='/quan-ly']")  # from the console's header
            page.wait_for_url("**/quan-ly")
            expect(page.locator("body")).to_have_attribute("data-live", "1")
            expect(page.locator("#queues tr").first).to_contain_text("3")
            expect(page.locator('#counters tr[data-counter="1"]')).to_contain_text("Đang mở")
            expect(page.locator('#counters tr[data-counter="2"]')).to_contain_text("Đang đóng")
            expect(page.locator('#counters tr[data-counter="3"]')).to_contain_text("Tạm dừng: Đi họp")
            # the printer runs out of paper: an alert, which stays after the paper is back
            printer.backend.set_state(paper="out")
            printer.poll_status()
            alert = page.locator("#alerts li", has_text="Máy in printer-1 hết giấy")
            expect(alert).to_have_class("active")
            printer.backend.set_state(paper="ok")
            printer.poll_status()
            expect(alert).to_have_class("cleared")
            page.screenshot(path=str(SHOTS / "manager-desk.png"))
            alert.locator("button.ack").click()
            expect(page.locator("#message")).to_have_text("Đã xác nhận cảnh báo.")
            expect(alert).to_have_count(0)
            expect(page.locator("#no-alerts")).to_be_visible()
            # a notice for the TV boards, for 30 minutes
            text = "Chiều nay 16:00 tạm ngừng tiếp nhận hồ sơ đất đai."
            page.fill("#notice-text", text)
            page.fill("#notice-minutes", "30")
            page.click("#notice-post")
            expect(page.locator("#message")).to_have_text("Đã đăng thông báo lên màn hình.")
            assert wait_until(lambda: board.state.snapshot().notice == text, 10), board.state.snapshot().notice
            retained: list[dict] = []
            watcher = office.client()
            watcher.subscribe(t.display_notice, lambda tp, pl: retained.append(json.loads(pl)) if pl else None)
            assert wait_until(lambda: retained and retained[-1]["text"] == text and retained[-1]["until"], 10)
            expect(page.locator("#notice-now")).to_contain_text(text)
            # too long a notice is refused with a sentence
            page.fill("#notice-text", "x" * 300 + " y")
            page.fill("#notice-minutes", "")
            page.evaluate("document.getElementById('notice-text').removeAttribute('maxlength')")
            page.fill("#notice-text", "x" * 301)
            page.click("#notice-post")
            expect(page.locator("#message")).to_have_text("Thông báo dài quá 300 ký tự.")
            page.click("#notice-clear")
            expect(page.locator("#message")).to_have_text("Đã gỡ thông báo trên màn hình.")
            assert wait_until(lambda: board.state.snapshot().notice == "", 10)
            expect(page.locator("#notice-now")).to_have_text("—")
            # scheduled: listed, cancellable, kept on disk, posted when its time comes
            later = (datetime.now(office.cfg.office.tz) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
            page.fill("#notice-text", "Thứ Bảy tuần này làm việc buổi sáng.")
            page.fill("#notice-start", later)
            page.click("#notice-post")
            expect(page.locator("#message")).to_contain_text("Đã hẹn đăng thông báo lúc")
            expect(page.locator("#scheduled li")).to_have_count(1)
            assert json.loads((web.ctx.state_dir / "notices.json").read_text(encoding="utf-8"))[0]["text"] == \
                "Thứ Bảy tuần này làm việc buổi sáng."
            page.locator("#scheduled li button.cancel").click()
            expect(page.locator("#scheduled li")).to_have_count(0)
            soon = (datetime.now(office.cfg.office.tz) + timedelta(seconds=8)).isoformat(timespec="seconds")
            csrf = page.locator('meta[name="csrf"]').get_attribute("content")
            r = page.request.post(web.url + "/api/manager/notice", headers={"X-CSRF-Token": csrf},
                                  data={"text": "Mời công dân số 1001 đến Quầy 3.", "start": soon, "minutes": 5})
            assert r.json()["ok"], r.text()
            expect(page.locator("#scheduled li")).to_have_count(1)
            assert board.state.snapshot().notice == ""  # not before its time
            assert wait_until(lambda: board.state.snapshot().notice == "Mời công dân số 1001 đến Quầy 3.", 20)
            expect(page.locator("#scheduled li")).to_have_count(0)
            context.close()
            browser.close()
    finally:
        office.close()


def test_manager_sees_ratings_and_keeps_staff_accounts(tmp_path: Path):
    from edge.staff import StaffStore, store_path
    office = TestOffice(tmp_path / "data", web_config(tmp_path)).start()
    try:
        add_staff(office.data)
        office.start_engine()
        web = start_web(office)
        admin, t = office.client(), office.topics
        assert admin.request(t.counter_command(1), {"action": "open", "staff": "Nguyễn Thị Lan"})["ok"]
        for level, reasons, comment in (("very_satisfied", [], None),
                                        ("unsatisfied", ["Chờ quá lâu", "Hướng dẫn chưa rõ"], "Đợi gần một tiếng.")):
            assert admin.request(t.ticket_issue, {"service": "HT"})["ok"]
            called = admin.request(t.counter_command(1), {"action": "next"})
            assert admin.request(t.counter_command(1), {"action": "finish"})["ok"]
            r = admin.request(t.rating_submit, {"counter": 1, "ticket_id": called["ticket"]["ticket_id"], "level": level,
                                                "reasons": reasons, "comment": comment})
            assert r["ok"], r
        expect = playwright.expect
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            context = browser.new_context(viewport={"width": 1366, "height": 1100}, locale="vi-VN")
            page = context.new_page()
            page.set_default_timeout(15000)
            sign_in(page, web.url, "hoa", "matkhau-hoa")
            page.goto(web.url + "/quan-ly")
            expect(page.locator("body")).to_have_attribute("data-live", "1")
            expect(page.locator("#rating-counts")).to_have_text(
                "Rất hài lòng 1 · Hài lòng 0 · Chưa hài lòng 1 (tổng 2)")
            expect(page.locator("#unhappy li")).to_contain_text(
                "Quầy 1 (Nguyễn Thị Lan): Chờ quá lâu, Hướng dẫn chưa rõ — “Đợi gần một tiếng.”")
            # add a clerk for counters 2 and 3; a too-short password is refused in Vietnamese
            page.fill("#new-login", "thu")
            page.fill("#new-name", "Võ Thị Thu")
            page.fill("#new-counters", "2, 3")
            page.fill("#new-password", "ngan")
            page.click("#staff-add-btn")
            expect(page.locator("#message")).to_have_text("Mật khẩu cần ít nhất 8 ký tự.")
            page.fill("#new-password", "matkhau-thu")
            page.click("#staff-add-btn")
            expect(page.locator("#message")).to_have_text("Đã tạo tài khoản thu (Cán bộ).")
            row = page.locator('#staff tr[data-login="thu"]')
            expect(row).to_contain_text("2, 3")
            page.once("dialog", lambda d: d.accept("2"))
            row.locator("button.ctrs").click()
            expect(page.locator("#message")).to_have_text("Đã cập nhật quầy của thu.")
            page.once("dialog", lambda d: d.accept("matkhau-moi-thu"))
            row.locator("button.reset").click()
            expect(page.locator("#message")).to_have_text("Đã đặt lại mật khẩu cho thu.")
            page.locator('#staff tr[data-login="minh"] button.toggle').click()
            expect(page.locator("#message")).to_have_text("Đã khóa tài khoản minh.")
            page.locator('#staff tr[data-login="hoa"] button.toggle').click()
            expect(page.locator("#message")).to_have_text("Không thể tự khóa tài khoản của mình.")
            page.screenshot(path=str(SHOTS / "manager-staff-ratings.png"), full_page=True)
            context.close()
            browser.close()
        store = StaffStore(store_path(office.data), create=False)
        try:
            thu = store.get("thu")
            assert thu.role == "clerk" and thu.counters == (2,) and store.get("minh").disabled
            assert store.check_password("thu", "matkhau-moi-thu") is not None
        finally:
            store.close()
    finally:
        office.close()


def test_notice_on_chosen_boards_only(tmp_path: Path):
    cfg = web_config(tmp_path, '\n[[devices]]\nid = "display-2"\nkind = "display"\nfullscreen = false\n')
    office = TestOffice(tmp_path / "data", cfg).start()
    try:
        add_staff(office.data)
        office.start_engine()
        web = start_web(office)
        boards = {}
        for dev in ("display-1", "display-2"):
            boards[dev] = create_display(office.ctx(dev, "display"))
            boards[dev].start()
            office._closers.append(boards[dev].stop)
        expect = playwright.expect
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = browser.new_context(locale="vi-VN").new_page()
            page.set_default_timeout(15000)
            sign_in(page, web.url, "hoa", "matkhau-hoa")
            page.goto(web.url + "/quan-ly")
            expect(page.locator("#notice-boards input.board")).to_have_count(2)
            page.fill("#notice-text", "Khu vực tầng 2 tạm dừng tiếp nhận.")
            page.check("#notice-boards input[value='display-2']")
            page.click("#notice-post")
            expect(page.locator("#message")).to_have_text("Đã đăng thông báo lên màn hình.")
            assert wait_until(lambda: boards["display-2"].state.snapshot().notice == "Khu vực tầng 2 tạm dừng tiếp nhận.", 10)
            assert boards["display-1"].state.snapshot().notice == ""
            expect(page.locator("#notice-now")).to_contain_text("display-2")
            csrf = page.locator('meta[name="csrf"]').get_attribute("content")
            r = page.request.post(web.url + "/api/manager/notice", headers={"X-CSRF-Token": csrf},
                                  data={"text": "x", "boards": ["display-9"]})
            assert r.status == 400 and r.json()["message"] == "Chọn màn hình có trong cấu hình."
            browser.close()
    finally:
        office.close()


def test_device_status_to_alerts():
    """The status shapes the daemons publish (printer, hub, camera, any last will) give alerts that
    stay until acknowledged, and a problem seen again after that is a new alert."""
    from web.manager import Alerts, problem_of
    assert problem_of({"device": "printer-1", "kind": "printer", "online": True, "state": "error",
                       "detail": {"paper": "out", "problem": "paper_out"}}) == "paper_out"
    assert problem_of({"device": "hub", "kind": "hub", "online": True, "state": "warning",
                       "detail": {"upstream": "down", "since": "x"}}) == "upstream_down"
    assert problem_of({"device": "camera-1", "kind": "camera", "online": True, "state": "error",
                       "detail": {"error": "no frames"}}) == "camera_lost"
    assert problem_of({"device": "led-1", "online": False}) == "offline"
    assert problem_of({"device": "hub", "kind": "hub", "online": True, "state": "ok",
                       "detail": {"upstream": "ok"}}) is None
    from zoneinfo import ZoneInfo
    alerts = Alerts(lambda: datetime(2026, 12, 2, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    alerts.device_status({"device": "led-1", "kind": "led", "online": False})
    alerts.device_status({"device": "led-1", "kind": "led", "online": False})  # the same problem: one alert
    [a] = alerts.snapshot()["alerts"]
    assert a["text"] == "led-1 mất kết nối" and a["active"]
    alerts.device_status({"device": "led-1", "kind": "led", "online": True, "state": "ok"})
    [a] = alerts.snapshot()["alerts"]
    assert not a["active"]  # well again, still shown until acknowledged
    assert alerts.ack(a["id"], "hoa") and not alerts.ack(a["id"], "hoa")
    assert alerts.snapshot()["alerts"] == []
    alerts.device_status({"device": "led-1", "kind": "led", "online": False})
    [b] = alerts.snapshot()["alerts"]
    assert b["id"] != a["id"]
    # acknowledged while still going on: the device's next reports of it raise nothing new
    assert alerts.ack(b["id"], "hoa")
    alerts.device_status({"device": "led-1", "kind": "led", "online": False})
    assert alerts.snapshot()["alerts"] == []
