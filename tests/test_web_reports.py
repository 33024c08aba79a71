"""Reports in the manager's browser: the period's figures, charts and the XLSX/CSV files that
`motcua report` writes (run by the web daemon as a child process over the real engine's
database), for a day, a year and a chosen range; bad periods get a sentence."""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from harness import TestOffice
from web_office import CHROMIUM, add_staff, start_web, web_config

playwright = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (scripts/setup.sh installs chromium)", allow_module_level=True)

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "web"


def test_manager_reads_reports_in_the_browser(tmp_path: Path):
    office = TestOffice(tmp_path / "data", web_config(tmp_path)).start()
    try:
        add_staff(office.data)
        office.start_engine()
        web = start_web(office)
        admin, t = office.client(), office.topics
        assert admin.request(t.counter_command(1), {"action": "open", "staff": "Nguyễn Thị Lan"})["ok"]
        for _ in range(3):
            assert admin.request(t.ticket_issue, {"service": "HT"})["ok"]
            called = admin.request(t.counter_command(1), {"action": "next"})
            assert admin.request(t.counter_command(1), {"action": "finish"})["ok"]
        assert admin.request(t.rating_submit, {"counter": 1, "ticket_id": called["ticket"]["ticket_id"],
                                               "level": "unsatisfied", "reasons": ["Chờ quá lâu"]})["ok"]
        today = datetime.now(office.cfg.office.tz).date()
        expect = playwright.expect
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            context = browser.new_context(viewport={"width": 1366, "height": 1000}, locale="vi-VN", accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(30000)
            page.goto(web.url + "/login")
            page.fill("#user", "hoa")
            page.fill("#password", "matkhau-hoa")
            page.click("#signin")
            page.wait_for_url("**/console")
            page.goto(web.url + "/bao-cao")
            page.select_option("#kind", "day")
            page.fill("#date", today.isoformat())
            page.click("#make")
            expect(page.locator("body")).to_have_attribute("data-report", today.isoformat())
            expect(page.locator("#summary")).to_contain_text("Đã phục vụ3")
            expect(page.locator("#summary")).to_contain_text("90% công dân chờ không quá (phút)")
            expect(page.locator("#times")).to_contain_text("HT - Chứng thực - Hộ tịch")
            page.select_option("#dim", "counter")
            expect(page.locator("#times")).to_contain_text("Quầy 1")
            expect(page.locator("#sat")).to_contain_text("Chờ quá lâu (1)")
            page.select_option("#dim", "staff")
            expect(page.locator("#times")).to_contain_text("Nguyễn Thị Lan")
            img = page.locator("#charts img").first
            expect(img).to_be_visible()
            assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
            page.screenshot(path=str(SHOTS / "manager-reports.png"), full_page=True)
            with page.expect_download() as dl:
                page.locator("#downloads a", has_text=".xlsx").click()
            saved = tmp_path / "report.xlsx"
            dl.value.save_as(saved)
            assert "Thời gian theo quầy" in load_workbook(saved).sheetnames
            # a year, then a range that ends before it starts
            page.select_option("#kind", "year")
            page.click("#make")
            expect(page.locator("body")).to_have_attribute("data-report", f"{today.year}-01-01--{today.year}-12-31")
            page.select_option("#kind", "range")
            page.fill("#end", "2020-01-01")
            page.click("#make")
            expect(page.locator("#message")).to_have_text("Ngày kết thúc phải sau ngày bắt đầu.")
            # files outside the report folder are not served
            r = page.request.get(web.url + "/api/manager/report-file/..%2f..%2fengine%2fengine.db")
            assert r.status == 404
            context.close()
            browser.close()
    finally:
        office.close()
