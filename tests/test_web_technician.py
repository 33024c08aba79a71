"""Configuration without TOML in a real browser: a technician changes a quota and a holiday
on /ky-thuat; the file is rewritten atomically (previous kept), the engine reloads it and
enforces both while the day's tickets stay; an invalid change is refused with the loader's
message next to its field and the file is left alone."""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from edge.config import load
from harness import TestOffice
from web_office import CHROMIUM, STAFF, add_staff, start_web, web_config

playwright = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (scripts/setup.sh installs chromium)", allow_module_level=True)

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "web"
TECH = ("tuan", "Phạm Văn Tuấn", "technician", "matkhau-tuan", [], None, None)


def sign_in(page, url: str, login: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("#user", login)
    page.fill("#password", password)
    page.click("#signin")
    page.wait_for_url("**/console")


def test_technician_changes_quota_and_holiday(tmp_path: Path):
    office = TestOffice(tmp_path / "data", web_config(tmp_path)).start()
    try:
        add_staff(office.data, STAFF + [TECH])
        eng = office.start_engine()
        web = start_web(office)
        admin, t = office.client(), office.topics
        for service in ("KD", "KD", "HT", "HT"):
            assert admin.request(t.ticket_issue, {"service": service})["ok"]
        before = admin.request(t.queue_waiting, {})
        assert before["total"] == 4
        path = office.config_path
        original = path.read_text(encoding="utf-8")
        expect = playwright.expect
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            context = browser.new_context(viewport={"width": 1366, "height": 1000}, locale="vi-VN")
            page = context.new_page()
            page.set_default_timeout(15000)
            # a manager is not a technician
            sign_in(page, web.url, "hoa", "matkhau-hoa")
            page.goto(web.url + "/ky-thuat")
            assert page.url.endswith("/login")
            sign_in(page, web.url, "tuan", "matkhau-tuan")
            page.goto(web.url + "/ky-thuat")
            expect(page.locator("body")).to_have_attribute("data-ready", "1")
            quota = page.locator('[data-field="services[2].daily_quota"]')
            expect(quota).to_have_value("5")
            # invalid: refused with the model's message next to the field, nothing written
            quota.fill("0")
            page.click("#save")
            expect(page.locator('[data-err="services[2].daily_quota"]')).to_have_text(
                "0 không được: phải từ 1 trở lên")
            expect(page.locator("#message")).to_have_text("Cấu hình chưa hợp lệ, chưa lưu: xem lỗi bên cạnh từng ô.")
            page.fill('[data-field="office.hours.mon"]', "25:00-11:00")
            page.click("#save")
            expect(page.locator('[data-err="office.hours.mon"]')).to_have_text('"25:00-11:00" có giờ không có thật (giờ 0-24, phút 0-59)')
            page.screenshot(path=str(SHOTS / "technician-invalid.png"))
            assert path.read_text(encoding="utf-8") == original
            page.fill('[data-field="office.hours.mon"]', "00:00-24:00")
            # a quota of 3 for KD
            quota.fill("3")
            page.click("#save")
            expect(page.locator("#message")).to_have_text("Đã lưu và áp dụng. Hàng chờ trong ngày được giữ nguyên.")
            expect(page.locator("#history li")).to_have_count(1)  # the page has re-read the saved config
            assert load(path).service("KD").daily_quota == 3
            assert path.with_name(path.name + ".prev").read_text(encoding="utf-8") == original
            assert "# A small office for tests" in path.read_text(encoding="utf-8")  # comments kept
            assert admin.request(t.ticket_issue, {"service": "KD"})["ok"]
            refused = admin.request(t.ticket_issue, {"service": "KD"})
            assert not refused["ok"] and refused["error"]["code"] == "quota_reached", refused
            # today a holiday: no ticket of any service, the waiting tickets stay and are served
            today = datetime.now(office.cfg.office.tz).date()
            page.fill("#holidays", today.strftime("%d/%m/%Y"))
            page.click("#save")
            expect(page.locator("#message")).to_have_text("Đã lưu và áp dụng. Hàng chờ trong ngày được giữ nguyên.")
            assert load(path).office.holidays == [today]
            closed = admin.request(t.ticket_issue, {"service": "HT"})
            assert not closed["ok"] and closed["error"]["code"] == "service_closed", closed
            after = admin.request(t.queue_waiting, {})
            assert [x["ticket_id"] for x in after["tickets"]] == \
                [x["ticket_id"] for x in before["tickets"]] + [after["tickets"][-1]["ticket_id"]]
            assert after["total"] == 5
            # the history says who changed what
            expect(page.locator("#history li")).to_have_count(2)
            expect(page.locator("#history li").first).to_contain_text("Phạm Văn Tuấn (tuan)")
            expect(page.locator("#history li").first).to_contain_text("office.holidays")
            page.screenshot(path=str(SHOTS / "technician-saved.png"), full_page=True)
            hist = [json.loads(ln) for ln in web.technician.history_path.read_text(encoding="utf-8").splitlines()]
            assert [c["field"] for c in hist[0]["changes"]] == ["services[2].daily_quota (KD)"]
            assert hist[0]["login"] == "tuan" and hist[1]["changes"][0]["new"] == today.strftime("%d/%m/%Y")
            context.close()
            browser.close()
        assert eng.rconn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 5
    finally:
        office.close()


def test_a_config_the_daemon_cannot_write_is_refused_plainly(tmp_path: Path):
    import httpx
    office = TestOffice(tmp_path / "data", web_config(tmp_path)).start()
    try:
        add_staff(office.data, STAFF + [TECH])
        office.start_engine()
        web = start_web(office)
        path = office.config_path
        original = path.read_text(encoding="utf-8")
        with httpx.Client(base_url=web.url, timeout=10) as c:
            import re
            csrf = re.search(r'data-csrf="([^"]+)"', c.get("/login").text).group(1)
            assert c.post("/login", json={"login": "tuan", "password": "matkhau-tuan"},
                          headers={"X-CSRF-Token": csrf}).json()["ok"]
            csrf = re.search(r'name="csrf" content="([^"]+)"', c.get("/ky-thuat").text).group(1)
            # the temporary file cannot be made (a folder has its name: refused even for root)
            (path.parent / f".{path.name}.{os.getpid()}.tmp").mkdir()
            r = c.post("/api/tech/config", json={"services": [{"code": "KD", "daily_quota": 4}]},
                       headers={"X-CSRF-Token": csrf})
            assert r.status_code == 503 and "Không ghi được tệp cấu hình" in r.json()["message"], r.text
        assert path.read_text(encoding="utf-8") == original
    finally:
        office.close()
