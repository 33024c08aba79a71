"""The clerks' web console in a real browser (Playwright driving Debian's chromium) through the
real web daemon, the real engine, the real TV board daemon and a real mosquitto."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from display.daemon import create as create_display
from edge.bus import wait_until
from harness import TestOffice
from web_office import CHROMIUM, add_staff, signed_command, start_web, web_config

playwright = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (scripts/setup.sh installs chromium)", allow_module_level=True)

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "web"


@pytest.fixture
def desk(tmp_path: Path):
    office = TestOffice(tmp_path / "data", web_config(tmp_path)).start()
    add_staff(office.data)
    eng = office.start_engine()
    web = start_web(office)
    board = create_display(office.ctx("display-1", "display",
                                      device=office.cfg.device("display-1").model_copy(update={"highlight_s": 0.5})))
    board.start()
    office._closers.append(board.stop)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
        page = context.new_page()
        page.set_default_timeout(15000)
        yield office, eng, web, board, page
        context.close()
        browser.close()
    office.close()


def counter_row(eng, n: int):
    return eng.rconn.execute("SELECT * FROM counters WHERE number = ?", (n,)).fetchone()


def ticket(eng, number: str):
    return eng.rconn.execute("SELECT * FROM tickets WHERE number = ?", (number,)).fetchone()


def sign_in(page, url: str, login: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("#user", login)
    page.fill("#password", password)
    page.click("#signin")


def test_a_clerks_day(desk):
    office, eng, web, board, page = desk
    expect = playwright.expect
    admin, t = office.client(), office.topics
    for service in ("HT",) * 5 + ("DD",):
        assert admin.request(t.ticket_issue, {"service": service})["ok"]
    SHOTS.mkdir(parents=True, exist_ok=True)

    def tv(pred) -> bool:  # the TV board daemon's own state, built from the retained topics and events
        return wait_until(lambda: pred(board.state.snapshot()), 10)

    def tv_serving(number: str | None) -> bool:
        return tv(lambda s: s.counters[0].serving == number)

    # a wrong password is refused, in Vietnamese
    sign_in(page, web.url, "lan", "sai-mat-khau")
    expect(page.locator("#message")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    page.screenshot(path=str(SHOTS / "login-wrong-password.png"))
    assert page.url.endswith("/login")

    sign_in(page, web.url, "lan", "matkhau-lan")
    page.wait_for_url("**/console")
    expect(page.locator("body")).to_have_attribute("data-live", "1")
    cookie = next(c for c in page.context.cookies() if c["name"] == "motcua_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    expect(page.locator("#me")).to_have_text("Nguyễn Thị Lan")
    msg = page.locator("#message")

    page.keyboard.press("F9")  # open
    expect(msg).to_have_text("Đã mở Quầy 1.")
    row = counter_row(eng, 1)
    assert (row["status"], row["staff"], row["staff_login"]) == ("open", "Nguyễn Thị Lan", "lan")
    expect(page.locator("#status")).to_have_text("Đang mở")
    assert tv(lambda s: s.counters[0].status == "open")

    page.keyboard.press("NumpadEnter")  # next
    expect(msg).to_have_text("Đã gọi số 2001 đến Quầy 1.")
    expect(page.locator("#serving")).to_have_text("2001")
    assert ticket(eng, "2001")["status"] == "called" and tv_serving("2001")
    page.screenshot(path=str(SHOTS / "console-serving.png"))

    page.keyboard.press("F1")  # next again: 2001 done
    expect(msg).to_have_text("Đã gọi số 2002 đến Quầy 1.")
    assert ticket(eng, "2001")["status"] == "done" and ticket(eng, "2001")["ended_by"] == "lan"
    assert tv_serving("2002")

    page.keyboard.press("NumpadAdd")  # recall
    expect(msg).to_have_text("Đã gọi lại số 2002.")
    assert ticket(eng, "2002")["calls"] == 2
    assert tv(lambda s: s.latest is not None and s.latest.number == "2002")

    page.keyboard.press("NumpadSubtract")  # no-show
    expect(msg).to_have_text("Đã ghi số 2002 vắng mặt.")
    assert ticket(eng, "2002")["status"] == "no_show"
    expect(page.locator("#waiting-list tr.absent td").first).to_have_text("2002")
    assert tv(lambda s: s.counters[0].serving is None or s.counters[0].serving == "2002")

    page.keyboard.press("NumpadEnter")
    expect(msg).to_have_text("Đã gọi số 2003 đến Quầy 1.")
    # transfer to counter 2: refused while it is closed, done once Minh opened it
    page.select_option("#to-counter", "2")
    page.keyboard.press("NumpadDecimal")
    expect(msg).to_contain_text("Quầy 2 đang đóng")
    assert ticket(eng, "2003")["status"] == "called"
    assert signed_command(office, admin, 2, {"action": "open", "staff_login": "minh"})["ok"]
    page.keyboard.press("F7")
    expect(msg).to_have_text("Đã chuyển số 2003 sang Quầy 2.")
    row = ticket(eng, "2003")
    assert (row["status"], row["reserved_counter"], row["transferred_by"]) == ("waiting", 2, "lan")

    # call out of turn: type the absent number on the numpad, then Enter
    for key in ("Numpad2", "Numpad0", "Numpad0", "Numpad2"):
        page.keyboard.press(key)
    expect(page.locator("#typed-number")).to_have_text("2002")
    page.keyboard.press("NumpadEnter")
    expect(msg).to_have_text("Đã gọi số 2002 đến Quầy 1.")
    assert ticket(eng, "2002")["status"] == "called" and tv_serving("2002")

    page.select_option("#reason-pick", "Đi họp")
    page.keyboard.press("NumpadDivide")  # pause with the reason
    expect(msg).to_have_text("Quầy 1 tạm dừng: Đi họp.")
    row = counter_row(eng, 1)
    assert (row["status"], row["reason"]) == ("paused", "Đi họp")
    expect(page.locator("#reason")).to_have_text("Đi họp")
    assert tv(lambda s: s.counters[0].status == "paused")
    page.screenshot(path=str(SHOTS / "console-paused.png"))
    page.keyboard.press("F6")  # resume
    expect(msg).to_have_text("Quầy 1 làm việc trở lại.")
    assert counter_row(eng, 1)["status"] == "open"

    # a keypad (no staff_login) presses Next on the same counter: the console shows it within a second or so
    assert admin.request(t.counter_command(1), {"action": "next"})["ticket"]["number"] == "2004"
    expect(page.locator("#serving")).to_have_text("2004", timeout=5000)

    page.click("button[data-action=finish]")
    expect(msg).to_have_text("Đã xong số 2004.")
    assert ticket(eng, "2004")["status"] == "done"
    expect(page.locator("#day-served")).to_have_text("3")  # 2001, 2002, 2004
    page.screenshot(path=str(SHOTS / "console-day.png"))
    # out of turn, picked from the waiting list (the DD ticket, which Next would call later)
    page.click("#waiting-list button[data-number='1001']")
    expect(msg).to_have_text("Đã gọi số 1001 đến Quầy 1.")
    assert ticket(eng, "1001")["status"] == "called" and tv_serving("1001")

    page.keyboard.press("F9")  # close
    expect(msg).to_have_text("Đã đóng Quầy 1.")
    assert counter_row(eng, 1)["status"] == "closed"
    assert tv(lambda s: s.counters[0].status == "closed")

    page.click("#logout")
    page.wait_for_url("**/login")
    page.goto(web.url + "/console")
    assert page.url.endswith("/login")  # signed out for good


def test_forged_csrf_and_other_counters_are_refused(desk):
    office, eng, web, board, page = desk
    sign_in(page, web.url, "lan", "matkhau-lan")
    page.wait_for_url("**/console")
    csrf = page.locator('meta[name="csrf"]').get_attribute("content")
    api = page.request
    r = api.post(web.url + "/api/counter/1", data={"action": "open", "rid": "abcdefgh01"},
                 headers={"X-CSRF-Token": "forged-token"})
    assert r.status == 403 and "mã bảo vệ" in r.json()["message"]
    r = api.post(web.url + "/api/counter/1", data={"action": "open", "rid": "abcdefgh02"})
    assert r.status == 403
    assert counter_row(eng, 1)["status"] == "closed"  # nothing happened
    r = api.post(web.url + "/api/counter/2", data={"action": "open", "rid": "abcdefgh03"},
                 headers={"X-CSRF-Token": csrf})
    assert r.status == 403 and r.json()["message"] == "Bạn không được làm việc tại Quầy 2."
    assert counter_row(eng, 2)["status"] == "closed"
    r = api.post(web.url + "/api/counter/99", data={"action": "open", "rid": "abcdefgh04"},
                 headers={"X-CSRF-Token": csrf})
    assert r.status == 404 and r.json()["message"] == "Không có quầy số 99."
    r = api.post(web.url + "/api/counter/1", data={"action": "transfer", "service": "XX", "rid": "abcdefgh05"},
                 headers={"X-CSRF-Token": csrf})
    assert r.status == 400
    # the manager sees every counter
    page.click("#logout")
    page.wait_for_url("**/login")
    sign_in(page, web.url, "hoa", "matkhau-hoa")
    page.wait_for_url("**/console")
    assert page.locator("#counter option").count() == len(office.cfg.counters)
    page.select_option("#counter", "3")
    page.keyboard.press("F9")
    expect = playwright.expect
    expect(page.locator("#message")).to_have_text("Đã mở Quầy 3 - Kinh doanh.")
    assert counter_row(eng, 3)["staff_login"] == "hoa"
    # English second: the same console, the same answers in English
    page.click("#lang")
    expect(page.locator("#logout")).to_have_text("Sign out")
    page.select_option("#counter", "3")
    page.keyboard.press("F1")
    expect(page.locator("#message")).to_have_text("Nobody is waiting.")
    page.screenshot(path=str(SHOTS / "console-en.png"))
    page.keyboard.press("F2")  # a refusal, in English words too
    expect(page.locator("#message")).to_have_text("Nobody is being served.")


def test_login_lockout(desk):
    office, eng, web, board, page = desk
    expect = playwright.expect
    for _ in range(4):
        sign_in(page, web.url, "minh", "sai")
        expect(page.locator("#message")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    sign_in(page, web.url, "minh", "sai")
    expect(page.locator("#message")).to_contain_text("tạm khóa")
    sign_in(page, web.url, "minh", "matkhau-minh")  # even the right password, while locked
    expect(page.locator("#message")).to_contain_text("tạm khóa")
    assert page.url.endswith("/login")


def test_a_disabled_clerk_is_sent_back_to_sign_in(desk, monkeypatch):
    import web.app
    from edge.staff import StaffStore, store_path
    office, eng, web_d, board, page = desk
    monkeypatch.setattr(web.app, "SSE_PING_S", 0.5)
    sign_in(page, web_d.url, "minh", "matkhau-minh")
    page.wait_for_url("**/console")
    playwright.expect(page.locator("body")).to_have_attribute("data-live", "1")
    StaffStore(store_path(office.data)).set_disabled("minh", True)
    page.wait_for_url("**/login", timeout=15000)  # the live stream ended; the page noticed and left
