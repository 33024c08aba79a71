"""The province's page in a real browser (Playwright driving Debian's chromium), served by the real
`central-web` daemon from a real PostgreSQL filled by the central store's own write path."""
from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")
playwright = pytest.importorskip("playwright.sync_api")

from central.config import CentralConfig  # noqa: E402
from central.store import CentralStore, Message  # noqa: E402
from edge.staff import StaffStore, store_path  # noqa: E402
from pg import PgCluster, pg_bin  # noqa: E402
from web_office import CHROMIUM  # noqa: E402

pytestmark = [pytest.mark.skipif(pg_bin() is None, reason="PostgreSQL is not installed"),
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed")]

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "central"
TZ = timezone(timedelta(hours=7))
OFFICES = {"000.31.01.H31": "Trung tâm PVHCC phường Phố Hiến", "000.31.02.H31": "Trung tâm PVHCC xã Nghĩa Trụ",
           "000.31.03.H31": "Trung tâm PVHCC phường Mỹ Hào"}


def fill(store: CentralStore) -> None:
    """Two offices at work today, one whose bridge went down; through CentralStore.write."""
    now = datetime.now(TZ).replace(microsecond=0)
    day = now.date().isoformat()
    msgs: list[Message] = []
    for i, (oid, name) in enumerate(OFFICES.items()):
        root = f"motcua/v1/{oid}"
        info = {"office": oid, "name": name, "version": "0.1.0", "config_sha256": f"{i:064d}", "services": 2,
                "counters": 3, "devices": 6, "fields": {"HT": "Tư pháp", "DD": "Đất đai"}, "host": "h",
                "started_at": now.isoformat(), "ts": now.isoformat()}
        msgs.append(Message(f"{root}/office/info", json.dumps(info).encode(), True))
        waiting = 0
        for n in range(1, 9):
            svc = "HT" if n % 2 else "DD"
            tid = f"{day.replace('-', '')}-{svc}-{n:04d}"
            issued = now - timedelta(minutes=60 - n * 5)
            t = {"ticket_id": tid, "number": str(1000 * (1 + n % 2) + n), "service": svc, "day": day,
                 "status": "waiting", "priority": "none"}
            msgs.append(Message(f"{root}/event/ticket/issued",
                                json.dumps({"ticket": t, "ts": issued.isoformat()}).encode()))
            if n <= 6:
                msgs.append(Message(f"{root}/event/ticket/called", json.dumps(
                    {"ticket": {**t, "status": "called"}, "counter": 1, "ts": (issued + timedelta(minutes=4)).isoformat()}).encode()))
                msgs.append(Message(f"{root}/event/ticket/done", json.dumps(
                    {"ticket": {**t, "status": "done"}, "counter": 1, "ts": (issued + timedelta(minutes=10)).isoformat()}).encode()))
                msgs.append(Message(f"{root}/event/rating", json.dumps(
                    {"rating_id": f"{tid}-r", "ticket_id": tid, "day": day, "counter": 1, "service": svc,
                     "level": "satisfied" if n != 3 else "unsatisfied", "revision": 1}).encode()))
            else:
                waiting += 1
        msgs.append(Message(f"{root}/queue/state", json.dumps(
            {"day": day, "services": [{"code": "HT", "waiting": waiting}], "ts": now.isoformat()}).encode(), True))
        for c in (1, 2, 3):
            msgs.append(Message(f"{root}/counter/{c}/state", json.dumps(
                {"counter": c, "status": "open" if c < 3 else "paused", "ts": now.isoformat()}).encode(), True))
        online = i != 1
        msgs.append(Message(f"{root}/device/printer-1/status", json.dumps(
            {"device": "printer-1", "online": online, "state": "ok", "ts": now.isoformat()}).encode(), True))
        msgs.append(Message(f"$SYS/broker/connection/motcua-{oid}/state", b"0" if i == 2 else b"1", True))
    store.write(msgs)


@pytest.fixture
def province(tmp_path: Path):
    pg = PgCluster().start()
    dsn = pg.create_db("central")
    store = CentralStore(dsn)
    store.connect()
    fill(store)
    store.close()
    data = tmp_path / "central"
    staff = StaffStore(store_path(data))
    staff.add("hoa", "Lê Thị Hoa", "manager", "matkhau-hoa")
    staff.add("lan", "Nguyễn Thị Lan", "clerk", "matkhau-lan", counters=[1])
    staff.close()
    cfg = CentralConfig.model_validate({"province": "Tỉnh Hưng Yên", "database": {"dsn": dsn},
                                        "web": {"port": 0, "data_dir": str(data)}})
    from central.web import ProvinceWeb
    web = ProvinceWeb(cfg, dsn)
    web.start()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
        page = context.new_page()
        page.set_default_timeout(15000)
        yield web, page
        context.close()
        browser.close()
    web.stop()
    pg.stop()


def sign_in(page, url: str, login: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("#user", login)
    page.fill("#password", password)
    page.click("#signin")


def test_the_province_sees_every_office_and_its_figures(province) -> None:
    web, page = province
    expect = playwright.expect
    # a clerk has no business on the province's page; a wrong password neither
    sign_in(page, web.url, "lan", "matkhau-lan")
    expect(page.locator("#message")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    assert page.request.get(web.url + "/api/offices").status == 401
    sign_in(page, web.url, "hoa", "matkhau-hoa")
    page.wait_for_url("**/province")
    rows = page.locator("#offices tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#summary")).to_have_text("2 trung tâm đang kết nối, 1 mất kết nối")
    down = page.locator('tr[data-office="000.31.03.H31"]')
    expect(down).to_have_class("down")
    expect(down.locator("td.link")).to_have_text("Mất kết nối")
    ok = page.locator('tr[data-office="000.31.01.H31"]')
    cells = ok.locator("td")
    expect(cells.nth(2)).to_have_text("2")      # open counters
    expect(cells.nth(3)).to_have_text("1")      # paused
    expect(cells.nth(4)).to_have_text("2")      # waiting
    expect(cells.nth(5)).to_have_text("25 phút")  # ticket 7, issued 25 minutes ago, not yet called
    expect(page.locator('tr[data-office="000.31.02.H31"] td.alert')).to_have_text("printer-1")
    # figures of the week by office: 8 tickets each, waits 4 min, service 6 min, 5 of 6 satisfied
    fig = page.locator("#figures tbody tr")
    expect(fig).to_have_count(3)
    expect(fig.first.locator("td")).to_have_text(["Trung tâm PVHCC phường Mỹ Hào", "8", "4 phút", "6 phút", "0", "83 %"])
    page.select_option("#by", "field")
    page.click("#show")
    expect(fig).to_have_count(2)
    expect(page.locator("#figures tbody tr").first.locator("td").first).to_have_text("Tư pháp")
    expect(page.locator("#figures tbody tr").nth(1).locator("td").nth(1)).to_have_text("12")  # 4 HT x 3 offices
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "province.png"), full_page=True)
    # a period the wrong way round gets a plain sentence, not a traceback
    page.fill("#from", date.today().isoformat())
    page.fill("#to", (date.today() - timedelta(days=3)).isoformat())
    page.click("#show")
    expect(page.locator("#fig-message")).to_contain_text("Khoảng thời gian không hợp lệ")
    # English second
    page.click("#lang")
    expect(page.locator("#summary")).to_have_text("2 centres connected, 1 unreachable")
