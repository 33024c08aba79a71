"""Nothing lost, nothing duplicated: concurrent counters, kill -9 during issuing, broker ACLs."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edge.bus import RequestTimeout, wait_until
from harness import TestOffice, copy_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def big_office(tmp_path):
    path = copy_config(tmp_path, replace={"number_end = 2999": "number_end = 9999"})
    o = TestOffice(tmp_path / "data", path).start()
    yield o
    o.close()


def test_two_counters_pressing_next_concurrently_never_share_a_ticket(big_office):
    o = big_office
    o.start_engine()
    t = o.topics
    kiosk = o.client("admin")
    futures = [kiosk.request_async(t.ticket_issue, {"service": "HT"})[1] for _ in range(2000)]
    assert all(f.result(30)["ok"] for f in futures)
    called: dict[int, list[str]] = {1: [], 2: []}
    for n in (1, 2):
        assert kiosk.request(t.counter_command(n), {"action": "open"})["ok"]
    start = threading.Barrier(2)

    def clerk(n: int) -> None:
        bus = o.client("admin")
        start.wait()
        for _ in range(1000):
            r = bus.request(t.counter_command(n), {"action": "next"}, timeout=5)
            assert r["ok"], r
            called[n].append(r["ticket"]["ticket_id"])

    threads = [threading.Thread(target=clerk, args=(n,), name=f"clerk-{n}") for n in (1, 2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    both = called[1] + called[2]
    assert len(called[1]) == len(called[2]) == 1000
    assert len(set(both)) == 2000, "a ticket was called to two counters"
    db = sqlite3.connect(o.data / "engine" / "engine.db")
    rows = db.execute("SELECT counter, COUNT(*) FROM tickets WHERE status IN ('called', 'done') GROUP BY counter").fetchall()
    assert dict(rows) == {1: 1000, 2: 1000}
    assert db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 2000


def _spawn_engine(o: TestOffice) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), MOTCUA_LOG="WARNING")
    return subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "engine", str(o.config_path), "--data", str(o.data),
         "--broker", f"mqtt://engine:{o.creds['engine']}@127.0.0.1:{o.port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_kill_9_during_issuing_loses_and_duplicates_nothing(office):
    o = office
    t = o.topics
    proc = _spawn_engine(o)
    client = o.client("admin")
    total = 400
    acked: dict[str, dict] = {}
    done = threading.Event()
    kills = 0

    def kiosk() -> None:
        for i in range(total):
            req_id = f"k9-{i}"
            service = ("HT", "DD")[i % 2]
            while True:  # retry with the same id until a reply comes, as PROTOCOL.md asks
                try:
                    r = client.request(t.ticket_issue, {"service": service}, req_id=req_id, timeout=0.4, retries=0)
                    break
                except RequestTimeout:
                    continue
            assert r["ok"], r
            acked[req_id] = r["ticket"]
        done.set()

    th = threading.Thread(target=kiosk, name="kiosk-k9")
    th.start()
    rng = random.Random(1234)
    try:
        while not done.is_set():
            # kill at a random moment once the new engine has answered something
            seen = len(acked)
            wait_until(lambda: len(acked) > seen or done.is_set(), 30)
            time.sleep(rng.uniform(0.0, 0.1))
            if done.is_set() or kills >= 8:
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            proc = _spawn_engine(o)
        th.join(120)
    finally:
        proc.kill()
        proc.wait()
    assert kills >= 5, "the engine was not killed often enough to test anything"
    assert len(acked) == total
    ids = [tk["ticket_id"] for tk in acked.values()]
    numbers = [tk["number"] for tk in acked.values()]
    assert len(set(ids)) == total and len(set(numbers)) == total
    db = sqlite3.connect(o.data / "engine" / "engine.db")
    rows = dict(db.execute("SELECT ticket_id, number FROM tickets").fetchall())
    assert len(rows) == total, "a retried request made a second ticket"
    assert all(rows[tk["ticket_id"]] == tk["number"] for tk in acked.values())
    # numbering has no gaps either: every number handed out was acknowledged
    ht = sorted(int(n) for n in numbers if n.startswith("2"))
    assert ht == list(range(2001, 2001 + len(ht)))


def test_acl_kiosk_cannot_send_counter_commands(office):
    o = office
    o.start_engine()
    t = o.topics
    kiosk = o.client("kiosk-1", "kiosk")
    with pytest.raises(RequestTimeout):
        kiosk.request(t.counter_command(1), {"action": "open"}, timeout=0.5, retries=1)
    admin = o.client("admin")
    assert admin.request(t.counter_command(1), {"action": "next"})["error"]["code"] == "counter_closed"
    assert kiosk.request(t.ticket_issue, {"service": "HT"})["ok"]  # its own topic works
    tablet = o.client("tablet-1", "tablet")
    with pytest.raises(RequestTimeout):
        tablet.request(t.ticket_issue, {"service": "HT"}, timeout=0.5, retries=1)
    keypad = o.client("keypad-1", "keypad")
    assert keypad.request(t.counter_command(1), {"action": "open"})["ok"]
    with pytest.raises(RequestTimeout):
        keypad.request(t.counter_command(2), {"action": "open"}, timeout=0.5, retries=1)


def test_wrong_password_and_anonymous_are_refused(office):
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    results = []
    for i, (user, pw) in enumerate((("admin", "wrong"), (None, None))):
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{user}")
        if user:
            c.username_pw_set(user, pw)
        c.on_connect = lambda cl, ud, fl, rc, pr: results.append(rc.is_failure)
        c.connect("127.0.0.1", office.port)
        c.loop_start()
        assert wait_until(lambda: len(results) == i + 1, 5)
        c.loop_stop()
        c.disconnect()
    assert results == [True, True]


def test_credentials_file_is_private(office):
    mode = (office.data / "broker" / "credentials.json").stat().st_mode & 0o777
    assert mode == 0o600
    assert (office.data / "broker" / "passwd").stat().st_mode & 0o777 == 0o600
    text = (office.data / "broker" / "passwd").read_text()
    assert office.creds["admin"] not in text  # hashed, never the password itself
