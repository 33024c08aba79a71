"""The clerk's console (real Chromium) shows the dossier code of a number issued for a scanned
receipt when it is called (issue 16)."""
from __future__ import annotations

from test_web_console import SHOTS, desk, playwright, sign_in  # noqa: F401 - desk is a fixture

CODE = "000.17.22.H56-261120-0042"


def test_called_number_shows_its_dossier(desk) -> None:  # noqa: F811
    office, eng, web, board, page = desk
    expect = playwright.expect
    admin, t = office.client(), office.topics
    assert admin.request(t.ticket_issue, {"service": "HT", "dossier": CODE})["ok"]
    sign_in(page, web.url, "lan", "matkhau-lan")
    page.wait_for_url("**/console")
    expect(page.locator("body")).to_have_attribute("data-live", "1")
    msg = page.locator("#message")
    page.keyboard.press("F9")  # open
    expect(msg).to_have_text("Đã mở Quầy 1.", timeout=15000)
    expect(page.locator("#status")).to_have_text("Đang mở", timeout=15000)
    page.keyboard.press("NumpadEnter")  # next
    expect(msg).to_have_text("Đã gọi số 2001 đến Quầy 1.", timeout=15000)
    expect(page.locator("#serving")).to_have_text("2001", timeout=15000)
    expect(page.locator("#serving-info")).to_contain_text(f"Hồ sơ {CODE}", timeout=15000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "console-serving-dossier.png"))
