"""The bus survives broker restarts; daemons set a last will, talk to systemd and stop cleanly."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from edge.bus import BrokerURL, wait_until
from edge.protocol import Topics

ROOT = Path(__file__).resolve().parents[1]


def retained(office, topic: str, timeout: float = 5) -> dict | None:
    """Read a retained message with a fresh client."""
    got: list[dict] = []
    bus = office.client("admin")
    bus.subscribe(topic, lambda t, p: got.append(json.loads(p)))
    wait_until(lambda: bool(got), timeout)
    return got[-1] if got else None


def test_broker_crash_engine_resubscribes_and_republishes_retained_state(office):
    office.start_engine()
    c, t = office.client(), office.topics
    assert c.request(t.ticket_issue, {"service": "HT"})["ok"]
    assert wait_until(lambda: (retained(office, t.queue_state, 1) or {}).get("services", [{}])[0].get("waiting") == 1, 5)
    office.broker.kill()  # kill -9: nothing saved, every retained message is gone with it
    (office.data / "broker" / "persist" / "mosquitto.db").unlink(missing_ok=True)
    office.broker.start()
    # the engine republishes its retained state and its subscriptions come back
    state = retained(office, t.queue_state, 10)
    assert state is not None and state["services"][0]["waiting"] == 1
    assert retained(office, t.counter_state(1), 5)["status"] == "closed"
    assert c.request(t.ticket_issue, {"service": "HT"}, timeout=2, retries=5)["ticket"]["number"] == "2002"


def _engine_proc(office, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(extra_env or {}))
    return subprocess.Popen([sys.executable, "-m", "edge.cli", "engine", str(office.config_path),
                             "--data", str(office.data), "--broker", f"mqtt://127.0.0.1:{office.port}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_last_will_marks_a_killed_daemon_offline_and_clean_stop_too(office):
    t = office.topics
    statuses: list[dict] = []
    watcher = office.client("admin")
    watcher.subscribe(t.device_status("engine"), lambda tp, p: statuses.append(json.loads(p)))
    proc = _engine_proc(office)  # credentials from DATA/broker/credentials.json
    assert wait_until(lambda: any(s.get("online") for s in statuses), 15)
    assert statuses[-1]["kind"] == "engine" and statuses[-1]["state"] == "ok"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert wait_until(lambda: statuses[-1].get("online") is False, 40)  # keepalive 15 s x 1.5
    proc = _engine_proc(office)
    assert wait_until(lambda: statuses[-1].get("online") is True, 15)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert wait_until(lambda: statuses[-1].get("online") is False, 5)
    assert retained(office, t.device_status("engine"))["online"] is False


def test_sd_notify_ready_and_watchdog(office, tmp_path):
    sock_path = tmp_path / "notify.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(str(sock_path))
    srv.settimeout(15)
    proc = _engine_proc(office, {"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000"})
    try:
        msgs = []
        while not ({"READY=1", "WATCHDOG=1"} <= set(msgs)):
            msgs.append(srv.recv(256).decode())
        proc.send_signal(signal.SIGTERM)
        while "STOPPING=1" not in msgs:
            msgs.append(srv.recv(256).decode())
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        srv.close()
    assert msgs.index("READY=1") < msgs.index("WATCHDOG=1")


def test_journald_log_format(office):
    proc = _engine_proc(office, {"JOURNAL_STREAM": "8:1234"})
    office.client("admin").request(office.topics.ticket_issue, {"service": "HT"}, timeout=5, retries=3)
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=10)[1].decode()
    lines = [ln for ln in err.splitlines() if ln]
    assert lines and all(ln[:3] in ("<6>", "<4>", "<3>", "<7>", "<2>") for ln in lines), lines[:5]


def test_handler_exception_is_isolated(office):
    t = office.topics
    bus = office.client("admin")
    seen: list[str] = []
    done = threading.Event()

    def flaky(topic: str, payload: bytes) -> None:
        if payload == b"boom":
            raise RuntimeError("handler bug")
        seen.append(payload.decode())
        done.set()

    bus.subscribe(t.root + "/test/x", flaky)
    bus.publish(t.root + "/test/x", b"boom")
    bus.publish(t.root + "/test/x", b"after")
    assert done.wait(5) and seen == ["after"]


def test_broker_url_parsing():
    u = BrokerURL.parse("mqtt://kiosk-1:p%40ss@10.0.0.5:1884")
    assert (u.host, u.port, u.username, u.password, u.tls) == ("10.0.0.5", 1884, "kiosk-1", "p@ss", False)
    assert "p@ss" not in str(u) and BrokerURL.parse("mqtts://h").port == 8883
    assert BrokerURL.parse("localhost:1999").port == 1999
    for bad in ("http://h:1", "mqtt://"):
        try:
            BrokerURL.parse(bad)
        except ValueError as exc:
            assert "broker URL" in str(exc)
        else:
            raise AssertionError(bad)


def test_topics_reject_bad_office_and_parse_counters():
    t = Topics("000.00.17.H29")
    assert t.counter_from_topic(t.counter_command(12)) == "12"
    assert t.counter_from_topic("motcua/v1/other/counter/1/command") is None
    try:
        Topics("bad office")
    except ValueError as exc:
        assert "invalid office id" in str(exc)
    else:
        raise AssertionError


def test_a_broker_password_is_in_no_repr_log_or_traceback() -> None:
    """logging prints the repr of its arguments when a record cannot be written (a closed stream)."""
    from edge.bus import BrokerURL
    url = BrokerURL.parse("mqtt://kiosk-1:s3cret-pass@127.0.0.1:1883")
    assert url.password == "s3cret-pass"
    assert "s3cret-pass" not in repr(url) and "s3cret-pass" not in str(url)
    assert "s3cret-pass" not in repr((url, "kiosk-1"))
