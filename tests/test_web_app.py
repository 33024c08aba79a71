"""The console's HTTP side without a browser: headers, escaping, bad input, rate limits, lockout
by disabling, the engine away — through the real web daemon, engine and mosquitto."""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from edge.bus import wait_until
from edge.staff import StaffStore, store_path
from harness import TestOffice
from web_office import STAFF, add_staff, start_web, web_config


@pytest.fixture
def site(tmp_path: Path):
    office = TestOffice(tmp_path / "data", web_config(tmp_path, "login_attempts_per_min = 6\n")).start()
    add_staff(office.data, STAFF + [("xss", '<img src=x onerror="alert(1)">', "clerk", "matkhau-xss", [3], None, None)])
    eng = office.start_engine()
    web = start_web(office)
    with httpx.Client(base_url=web.url, timeout=20) as c:
        yield office, eng, web, c
    office.close()


def login(c: httpx.Client, user: str, password: str) -> httpx.Response:
    csrf = re.search(r'data-csrf="([^"]+)"', c.get("/login").text).group(1)
    return c.post("/login", json={"login": user, "password": password}, headers={"X-CSRF-Token": csrf})


def console_csrf(c: httpx.Client) -> str:
    return re.search(r'name="csrf" content="([^"]+)"', c.get("/console").text).group(1)


def test_headers_cookie_and_escaping(site):
    office, eng, web, c = site
    r = c.get("/login")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "cdn" not in r.text.lower() and "http://" not in r.text and "https://" not in r.text
    assert login(c, "xss", "matkhau-xss").json()["ok"]
    page = c.get("/console").text
    assert '<img src=x onerror="alert(1)">' not in page  # the name is text, never markup
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    boot = page.split('<script type="application/json" id="boot">', 1)[1].split("</script>", 1)[0]
    assert "<" not in boot
    with c.stream("GET", "/api/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        first = next(r.iter_lines())
        assert first.startswith("retry:")


def test_bad_input_changes_nothing(site):
    office, eng, web, c = site
    assert c.post("/api/counter/1", json={"action": "open", "rid": "abcdefgh"}).status_code == 403  # no session
    assert login(c, "lan", "matkhau-lan").json()["ok"]
    csrf = console_csrf(c)
    h = {"X-CSRF-Token": csrf}
    cases = [
        (b"not json", "Yêu cầu không hợp lệ: JSON"),
        ({"action": "explode", "rid": "abcdefgh"}, "Yêu cầu không hợp lệ: action"),
        ({"action": "open"}, "Yêu cầu không hợp lệ: rid"),
        ({"action": "call", "number": "20 01; drop", "rid": "abcdefgh"}, "Yêu cầu không hợp lệ: number"),
        ({"action": "transfer", "rid": "abcdefgh"}, "Yêu cầu không hợp lệ: service / to_counter"),
        ({"action": "pause", "reason": "x" * 500, "rid": "abcdefgh"}, "Yêu cầu không hợp lệ: reason"),
    ]
    for body, message in cases:
        kw = {"content": body} if isinstance(body, bytes) else {"json": body}
        r = c.post("/api/counter/1", headers=h, **kw)
        assert r.status_code == 400 and r.json()["message"] == message
    r = c.post("/api/counter/abc", json={"action": "open", "rid": "abcdefgh"}, headers=h)
    assert r.status_code == 404
    r = c.post("/api/counter/1", json={"action": "open", "rid": "abcdefgh"},
               headers={**h, "Origin": "http://evil.example"})
    assert r.status_code == 403  # a cross-site form post, even with the token
    assert eng.rconn.execute("SELECT status FROM counters WHERE number = 1").fetchone()[0] == "closed"
    # engine refusals come back in its own Vietnamese words, with nothing changed
    assert c.post("/api/counter/1", json={"action": "open", "rid": "open0001"}, headers=h).json()["ok"]
    r = c.post("/api/counter/1", json={"action": "call", "number": "9999", "rid": "call0001"}, headers=h)
    assert r.status_code == 409 and r.json()["message"] == "Không có số 9999 đang chờ hôm nay."
    # the same request id again: the same answer, no second effect
    office.client().request(office.topics.ticket_issue, {"service": "HT"})
    first = c.post("/api/counter/1", json={"action": "next", "rid": "next0001"}, headers=h).json()
    again = c.post("/api/counter/1", json={"action": "next", "rid": "next0001"}, headers=h).json()
    assert first == again and first["ticket"]["number"] == "2001"
    assert eng.rconn.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 1


def test_sign_in_rate_limit_and_disabling_signs_out(site):
    office, eng, web, c = site
    assert login(c, "lan", "matkhau-lan").json()["ok"]
    assert c.get("/console").status_code == 200
    store = StaffStore(store_path(office.data))
    store.set_disabled("lan", True)
    r = c.get("/console", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"  # at once, not at the next sign-in
    assert login(c, "lan", "matkhau-lan").status_code == 401
    codes = [login(c, "minh", "sai").status_code for _ in range(6)]
    assert codes[-1] == 429 and "quá nhiều" in login(c, "minh", "matkhau-minh").json()["message"]


def test_engine_away_is_said_plainly(site):
    office, eng, web, c = site
    assert login(c, "hoa", "matkhau-hoa").json()["ok"]
    h = {"X-CSRF-Token": console_csrf(c)}
    eng.stop()
    office._closers.remove(eng.stop)
    r = c.post("/api/counter/1", json={"action": "open", "rid": "away0001"}, headers=h)
    assert r.status_code == 503 and r.json()["message"] == "Hệ thống xếp hàng không trả lời, vui lòng thử lại."
    assert wait_until(lambda: web.healthy(), 1)


def test_https_with_a_configured_certificate(tmp_path: Path):
    import shutil
    import subprocess
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "web.crt", tmp_path / "web.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=120)
    office = TestOffice(tmp_path / "data", web_config(tmp_path, f'tls_cert = "{cert}"\ntls_key = "{key}"\n')).start()
    try:
        add_staff(office.data)
        office.start_engine()
        web = start_web(office)
        assert web.url.startswith("https://")
        import ssl
        with httpx.Client(base_url=web.url, verify=ssl.create_default_context(cafile=str(cert)), timeout=20) as c:
            r = c.get("/login")
            assert r.status_code == 200 and "secure" in r.headers["set-cookie"].lower()
            assert login(c, "lan", "matkhau-lan").json()["ok"]
        with pytest.raises(httpx.HTTPError):  # plain HTTP on the HTTPS port gets nothing
            httpx.get(web.url.replace("https://", "http://") + "/login", timeout=5)
    finally:
        office.close()


def test_the_web_broker_user_has_only_its_own_rights(site):
    from edge.bus import RequestTimeout
    office, eng, web, c = site
    t = office.topics
    assert web.bus.request(t.counter_command(1), {"action": "open"}, timeout=2)["ok"]
    for topic, fields in ((t.ticket_issue, {"service": "HT"}),
                          (t.rating_submit, {"counter": 1, "level": "satisfied"})):
        with pytest.raises(RequestTimeout):  # the broker drops the publish: nobody ever answers
            web.bus.request(topic, fields, timeout=0.5, retries=1)
    # the technician's page may ask the engine to reload the config, and nothing else of admin
    refused = web.bus.request(t.engine_admin, {"action": "snapshot"}, timeout=2)
    assert not refused["ok"] and refused["error"]["code"] == "bad_request"
    assert eng.rconn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0


def test_a_disabled_clerks_live_stream_ends(site, monkeypatch):
    import web.app
    office, eng, web_d, c = site
    monkeypatch.setattr(web.app, "SSE_PING_S", 0.3)
    assert login(c, "lan", "matkhau-lan").json()["ok"]
    with c.stream("GET", "/api/events") as r:
        lines = r.iter_lines()
        assert next(lines).startswith("retry:")
        StaffStore(store_path(office.data)).set_disabled("lan", True)
        rest = list(lines)  # returns only because the server ended the stream
    assert "event: snapshot" in rest and "event: part" not in rest


def test_my_day_survives_a_restart_of_the_console(site):
    office, eng, web_d, c = site
    admin = office.client()
    for _ in range(3):
        assert admin.request(office.topics.ticket_issue, {"service": "HT"})["ok"]
    assert login(c, "lan", "matkhau-lan").json()["ok"]
    h = {"X-CSRF-Token": console_csrf(c)}
    for i, action in enumerate(("open", "next", "next", "skip", "next", "finish")):
        assert c.post("/api/counter/1", json={"action": action, "rid": f"day{i:05d}"}, headers=h).json()["ok"]
    assert wait_until(lambda: web_d.view.my_day("Nguyễn Thị Lan")["served"] == 2, 10)
    web_d.stop()
    office._closers.remove(web_d.stop)
    fresh = start_web(office)  # a new daemon: nothing seen yet, the engine tells it the day
    assert wait_until(lambda: fresh.view.my_day("Nguyễn Thị Lan")["served"] == 2, 10)
    day = fresh.view.my_day("Nguyễn Thị Lan")
    assert day["no_show"] == 1 and day["mean_service_s"] is not None
    assert [t["number"] for t in fresh.view.waiting_list()] == ["2002"]  # the absent one, callable again
