"""Staff accounts (argon2 hashes, lockout, CLI) and the engine's attribution of every step to a clerk."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge.reports.stats import Period, build
from edge.staff import LOCKOUT_S, MAX_FAILURES, Locked, StaffError, StaffStore, store_path
from harness import TestOffice
from web_office import signed_command

ROOT = Path(__file__).resolve().parents[1]


def make_store(data: Path) -> StaffStore:
    s = StaffStore(store_path(data))
    s.add("lan", "Nguyễn Thị Lan", "clerk", "matkhau-lan", counters=[1], code="101", pin="1234")
    s.add("minh", "Trần Văn Minh", "clerk", "matkhau-minh", counters=[2], code="102", pin="5678")
    s.add("hoa", "Lê Thị Hoa", "manager", "matkhau-hoa")
    return s


def test_hashes_only_and_checks(tmp_path):
    s = make_store(tmp_path)
    raw = sqlite3.connect(store_path(tmp_path)).execute("SELECT password, pin FROM staff WHERE login='lan'").fetchone()
    assert raw[0].startswith("$argon2id$") and "matkhau-lan" not in raw[0]
    assert raw[1].startswith("$argon2id$") and "1234" not in raw[1]
    assert s.check_password("lan", "matkhau-lan").name == "Nguyễn Thị Lan"
    assert s.check_password("LAN ", "matkhau-lan") is not None  # logins are case-insensitive
    assert s.check_password("lan", "sai") is None
    assert s.check_password("nobody", "x") is None
    assert s.check_pin("101", "1234").login == "lan"
    assert s.check_pin("101", "0000") is None
    assert s.get("lan").may_open(1) and not s.get("lan").may_open(2)
    assert s.get("hoa").may_open(3)
    s.set_disabled("lan", True)
    assert s.check_password("lan", "matkhau-lan") is None
    with pytest.raises(StaffError):
        s.add("lan", "X", "clerk", "12345678")
    with pytest.raises(StaffError):
        s.add("tam", "X", "clerk", "short")
    with pytest.raises(StaffError):
        s.add("tam", "X", "clerk", "12345678", code="101", pin="9999")  # code taken


def test_lockout_survives_reopen(tmp_path):
    s = make_store(tmp_path)
    for _ in range(MAX_FAILURES - 1):
        assert s.check_password("minh", "sai-roi", now=1000.0) is None
    with pytest.raises(Locked):
        s.check_password("minh", "sai-roi", now=1000.0)
    s.close()
    s = StaffStore(store_path(tmp_path))
    with pytest.raises(Locked):  # even the right password, until the lockout ends
        s.check_password("minh", "matkhau-minh", now=1001.0)
    assert s.check_password("minh", "matkhau-minh", now=1000.0 + LOCKOUT_S + 1) is not None


def test_cli_add_list_disable_reset(tmp_path):
    data = tmp_path / "data"

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "edge.cli", "staff", "--data", str(data), *args],
                              input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120)

    r = run("add", "lan", "--name", "Nguyễn Thị Lan", "--counters", "1,2", "--code", "101", "--stdin",
            stdin="matkhau-lan\n1234\n")
    assert r.returncode == 0, r.stderr
    r = run("list")
    assert "lan" in r.stdout and "Nguyễn Thị Lan" in r.stdout and "1,2" in r.stdout
    assert "matkhau" not in r.stdout and "argon2" not in r.stdout
    assert run("disable", "lan").returncode == 0
    assert "disabled" in run("list").stdout
    assert run("enable", "lan").returncode == 0
    r = run("reset", "lan")
    new = r.stdout.strip().rsplit(" ", 1)[-1]
    s = StaffStore(store_path(data))
    assert s.check_password("lan", new) is not None and s.check_password("lan", "matkhau-lan") is None
    r = run("add", "tam", "--name", "X", "--stdin", stdin="short\n")
    assert r.returncode == 2 and "at least" in r.stderr


def cmd(c, t, counter, action, **kw):
    if "staff_login" in kw:  # as the web console sends it: signed
        return signed_command(cmd.office, c, counter, {"action": action, **kw})
    return c.request(t.counter_command(counter), {"action": action, **kw})


def test_engine_attributes_every_step(office: TestOffice):
    make_store(office.data).close()
    eng = office.start_engine()
    c, t = office.client(), office.topics
    cmd.office = office
    for _ in range(4):
        assert c.request(t.ticket_issue, {"service": "HT"})["ok"]
    # keypad sign-in: code + PIN; a wrong PIN and a clerk on a counter not theirs are refused
    bad = cmd(c, t, 1, "open", staff_code="101", pin="0000")
    assert not bad["ok"] and "PIN" in bad["error"]["message"]
    notmine = cmd(c, t, 2, "open", staff_code="101", pin="1234")
    assert not notmine["ok"] and "Quầy 2" in notmine["error"]["message"]
    r = cmd(c, t, 1, "open", staff_code="101", pin="1234")
    assert r["ok"] and r["counter"]["staff"] == "Nguyễn Thị Lan"
    # naming a clerk needs the web console's signature: unsigned, forged or stale claims are refused
    import time

    from edge.staff import claim_key, sign_claim
    unsigned = c.request(t.counter_command(2), {"action": "open", "staff_login": "minh"})
    assert not unsigned["ok"] and "chữ ký" in unsigned["error"]["message"]
    forged = c.request(t.counter_command(2), {"action": "open", "staff_login": "minh", "staff_ts": int(time.time()),
                                              "staff_sig": "0" * 64})
    assert not forged["ok"]
    rid, old = c.new_id(), int(time.time()) - 3600
    stale = c.request(t.counter_command(2), {"action": "open", "staff_login": "minh", "staff_ts": old,
                                             "staff_sig": sign_claim(claim_key(office.data, create=True), rid, 2, "minh", old)},
                      req_id=rid)
    assert not stale["ok"]
    rid, now = c.new_id(), int(time.time())
    elsewhere = c.request(t.counter_command(2), {"action": "open", "staff_login": "minh", "staff_ts": now,
                                                 "staff_sig": sign_claim(claim_key(office.data, create=True), rid, 1, "minh", now)},
                          req_id=rid)
    assert not elsewhere["ok"]  # signed for counter 1, sent to counter 2
    assert eng.rconn.execute("SELECT status FROM counters WHERE number = 2").fetchone()[0] == "closed"
    # the web console names its clerk by login; the name in the payload cannot impersonate
    r = cmd(c, t, 2, "open", staff_login="minh", staff="Giả Mạo")
    assert r["ok"] and r["counter"]["staff"] == "Trần Văn Minh"
    assert not cmd(c, t, 2, "next", staff_login="lan")["ok"]  # Lan may not act on counter 2
    assert cmd(c, t, 1, "next")["ticket"]["number"] == "2001"          # keypad: the counter's clerk
    assert cmd(c, t, 1, "skip")["ok"]
    assert cmd(c, t, 2, "next", staff_login="minh")["ticket"]["number"] == "2002"
    assert cmd(c, t, 2, "transfer", to_counter=1, staff_login="minh")["ok"]
    assert cmd(c, t, 1, "next", staff_login="hoa")["ticket"]["number"] == "2002"  # a manager helps out
    assert cmd(c, t, 1, "finish")["ok"]
    assert cmd(c, t, 2, "next", staff_login="minh")["ok"]
    assert cmd(c, t, 2, "close", staff_login="minh")["ok"]
    rows = {r["number"]: r for r in eng.rconn.execute("SELECT * FROM tickets")}
    assert (rows["2001"]["staff_login"], rows["2001"]["ended_by"], rows["2001"]["status"]) == ("lan", "lan", "no_show")
    assert rows["2002"]["transferred_by"] == "minh"
    assert (rows["2002"]["staff_login"], rows["2002"]["staff"], rows["2002"]["ended_by"]) == ("hoa", "Lê Thị Hoa", "lan")
    assert (rows["2003"]["staff_login"], rows["2003"]["ended_by"], rows["2003"]["status"]) == ("minh", "minh", "done")
    sessions = eng.rconn.execute("SELECT counter, staff_login, closed_at FROM counter_sessions ORDER BY id").fetchall()
    assert [(s[0], s[1], s[2] is not None) for s in sessions] == [(1, "lan", False), (2, "minh", True)]
    day = rows["2001"]["day"]
    rep = build(eng.rconn, Period.day(__import__("datetime").date.fromisoformat(day)))
    work = {r[1]: r for r in rep.table("work_by_staff").rows}
    assert work["lan"][0] == "Nguyễn Thị Lan" and work["lan"][5:9] == [1, 1, 1, 0]
    assert work["minh"][0] == "Trần Văn Minh" and work["minh"][5:9] == [2, 1, 0, 1]
    assert work["hoa"][5] == 1


def test_counters_open_automatically_at_the_start_of_each_span(tmp_path):
    from datetime import datetime

    from edge.bus import wait_until
    from edge.clock import ManualClock
    from edge.config import load
    from harness import copy_config
    path = copy_config(tmp_path, replace={'mon = ["00:00-24:00"]': 'mon = ["07:30-11:30", "13:30-17:00"]',
                                          'tracking_url': 'auto_open = true\ntracking_url'})
    o = TestOffice(tmp_path / "data", path).start()
    try:
        tz = load(path).office.tz
        clock = ManualClock(tz, datetime(2026, 11, 23, 7, 0, tzinfo=tz))  # Monday, before opening
        eng = o.start_engine(clock)
        c, t = o.client(), o.topics
        status = lambda n: eng.rconn.execute("SELECT status FROM counters WHERE number = ?", (n,)).fetchone()[0]  # noqa: E731
        assert c.request(t.engine_admin, {"action": "snapshot"})["ok"]
        assert status(1) == "closed"
        clock.set(datetime(2026, 11, 23, 7, 30, 5, tzinfo=tz))
        assert wait_until(lambda: all(status(n) == "open" for n in (1, 2, 3)), 10)
        assert cmd(c, t, 2, "close")["ok"]  # a clerk closes one: it stays closed in this span
        clock.advance(120)
        assert c.request(t.engine_admin, {"action": "snapshot"})["ok"]
        assert status(2) == "closed"
        clock.set(datetime(2026, 11, 23, 13, 30, 1, tzinfo=tz))  # the afternoon span opens it again
        assert wait_until(lambda: status(2) == "open", 10)
    finally:
        o.close()


def test_install_plans_the_web_unit_and_makes_the_first_technician_once(tmp_path):
    from edge.config import load
    from edge.tools import install as I
    from web_office import web_config
    cfg_path = web_config(tmp_path)
    root = tmp_path / "root"
    res = I.install(load(cfg_path), cfg_path, root=root, host="office-pc", binary="/opt/motcua/.venv/bin/motcua")
    assert "motcua-web.service" in res.enabled
    unit = (root / "etc/systemd/system/motcua-web.service").read_text()
    assert "ExecStart=/opt/motcua/.venv/bin/motcua web ${MOTCUA_CONFIG}" in unit
    login, password = res.first_technician
    store = StaffStore(store_path(root / "var/lib/motcua"))
    assert store.check_password(login, password).role == "technician"
    store.close()
    again = I.install(load(cfg_path), cfg_path, root=root, host="office-pc", binary="/opt/motcua/.venv/bin/motcua")
    assert again.first_technician is None  # never a second one, never a new password


def test_transfers_that_cannot_happen_change_nothing(tmp_path):
    from harness import copy_config
    path = copy_config(tmp_path, replace={'daily_quota = 5': 'daily_quota = 5\nenabled = false'})
    o = TestOffice(tmp_path / "data", path).start()
    try:
        eng = o.start_engine()
        c, t = o.client(), o.topics
        assert c.request(t.ticket_issue, {"service": "HT"})["ok"]
        assert cmd(c, t, 1, "open")["ok"] and cmd(c, t, 1, "next")["ticket"]["number"] == "2001"
        for kw, code, words in (({"to_counter": 2}, "counter_closed", "Quầy 2 đang đóng"),
                                ({"to_counter": 1}, "bad_request", "chính quầy"),
                                ({"to_counter": 42}, "unknown_counter", "42"),
                                ({"service": "KD"}, "service_closed", "tạm ngừng"),
                                ({"service": "XX"}, "unknown_service", "XX")):
            r = cmd(c, t, 1, "transfer", **kw)
            assert not r["ok"] and r["error"]["code"] == code and words in r["error"]["message"], r
        row = eng.rconn.execute("SELECT status, counter, reserved_counter, transferred_by FROM tickets").fetchone()
        assert tuple(row) == ("called", 1, None, None)
    finally:
        o.close()
