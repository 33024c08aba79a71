"""Issue 11: nobody impersonates, eavesdrops or jams, through the real broker and its generated
credentials and ACL (client-id takeover, per-role reads, packet size, service accounts)."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from harness import TestOffice
from paho.mqtt.enums import CallbackAPIVersion

from edge.broker import load_credentials, write_broker_files
from edge.bus import wait_until
from edge.config import load
from edge.daemon import make_context

SMALL = Path(__file__).parent / "data" / "small.toml"


class Raw:
    """A hand-made paho connection: an attacker holding a device's credential."""

    def __init__(self, office: TestOffice, user: str, client_id: str, subscribe: str | None = None,
                 password: str | None = None) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.connacks: list[object] = []
        self.disconnects = 0
        self.up = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        c.username_pw_set(user, password if password is not None else office.creds[user])
        self.sub = subscribe

        def on_connect(cl, ud, flags, reason, props):  # noqa: ANN001
            self.connacks.append(reason)
            if not reason.is_failure:
                if self.sub:
                    cl.subscribe(self.sub, 1)
                else:
                    self.up.set()

        def on_subscribe(cl, ud, mid, reasons, props):  # noqa: ANN001
            self.up.set()

        def on_disconnect(cl, ud, flags, reason, props):  # noqa: ANN001
            self.disconnects += 1

        c.on_connect, c.on_subscribe, c.on_disconnect = on_connect, on_subscribe, on_disconnect
        c.on_message = lambda cl, ud, m: self.got.append((m.topic, bytes(m.payload)))
        c.connect("127.0.0.1", office.port, keepalive=30)
        c.loop_start()
        self.client = c

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_device_credential_cannot_take_over_the_engines_client_id(office: TestOffice) -> None:
    eng = office.start_engine()
    kiosk = office.client("kiosk-1", kind="kiosk")
    t = office.topics
    drops: list[str] = []
    for name, bus in (("engine", eng.bus), ("kiosk", kiosk)):
        orig = bus.client.on_disconnect
        bus.client.on_disconnect = lambda *a, _o=orig, _n=name: (drops.append(_n), _o(*a))
    # tablet-1's credential asks for the engine's (and the kiosk's) client id and holds it
    attackers = [Raw(office, "tablet-1", "engine"), Raw(office, "scanner-1", kiosk.client_id)]
    try:
        assert all(a.up.wait(10) for a in attackers)
        answered = 0
        for _ in range(9):
            answered += bool(kiosk.request(t.ticket_issue, {"service": "HT", "source": "kiosk-1"},
                                           timeout=2, retries=1).get("ok"))
        assert answered == 9
        # nobody was kicked: neither the daemons nor the attackers (each has its own session)
        assert drops == [] and [a.disconnects for a in attackers] == [0, 0]
    finally:
        for a in attackers:
            a.close()


def test_each_credential_reads_only_what_its_role_needs(office: TestOffice) -> None:
    office.start_engine()
    t = office.topics
    spy = Raw(office, "tablet-1", "spy", subscribe=f"{t.root}/#")
    try:
        assert spy.up.wait(10)
        kiosk = office.client("kiosk-1", kind="kiosk")
        admin = office.client("admin")
        lookup = office.client("kiosk-2", kind="kiosk")
        assert kiosk.request(t.ticket_issue, {"service": "HT", "source": "kiosk-1"}, timeout=5)["ok"]
        assert admin.request(t.engine_admin, {"action": "snapshot"}, timeout=5)["ok"]
        lookup.publish(t.dossier_lookup, {"id": "l-1", "reply_to": lookup.reply_topic, "code": "000.00.17.H99-261123-0001"})
        admin.publish(t.hub_admin, {"id": "h-1", "reply_to": admin.reply_topic, "action": "status"})
        office.client("scanner-1", kind="scanner").publish(t.scan("scanner-1"), {"code": "x", "symbology": "qrcode",
                                                                                "source": "hid", "ts": "x"})
        # what every waiting-room screen shows anyway still arrives (so the spy does listen)
        assert wait_until(lambda: any(tp == t.queue_state for tp, _ in spy.got), 10)
        assert wait_until(lambda: any(tp == t.ticket_event("issued") for tp, _ in spy.got), 10)
        time.sleep(1)
        leaked = [tp for tp, _ in spy.got if "/reply/" in tp or "/admin/" in tp or tp in (
            t.dossier_lookup, t.ticket_issue, t.scan("scanner-1"))]
        assert leaked == []
        # its own reply subtree is the one reply topic a credential can read
        assert spy.client.subscribe(f"{t.reply_prefix}#", 1)[0] == 0
        tab = office.client("tablet-1", kind="tablet")
        assert tab.reply_topic.startswith(f"{t.reply_prefix}tablet-1~")
    finally:
        spy.close()


def test_a_packet_over_the_limit_is_refused_and_not_delivered(office: TestOffice) -> None:
    t = office.topics
    watcher = office.client("admin")
    got: list[int] = []
    watcher.subscribe(t.display_notice, lambda _t, p: got.append(len(p)))
    sender = Raw(office, "engine", "engine")
    assert sender.up.wait(10)
    sender.client.publish(t.display_notice, b"x" * (10 * 1024 * 1024), qos=1)
    assert wait_until(lambda: sender.disconnects >= 1, 20), "the broker kept a 10 MB sender connected"
    sender.close()
    watcher.publish(t.display_notice, {"text": "nhỏ", "until": None})
    assert wait_until(lambda: bool(got), 10)
    assert max(got) < 1024 * 1024


def test_service_accounts_simulator_only_when_simulated_and_reports_has_one(tmp_path: Path) -> None:
    cfg = load(SMALL)
    write_broker_files(cfg, tmp_path, simulate=True)
    assert "simulator" in load_credentials(tmp_path)
    files = write_broker_files(cfg, tmp_path)  # a real office: the simulator account is gone
    assert "simulator:" not in files.passwd.read_text() and "user simulator" not in files.acl.read_text()
    assert "reports:" in files.passwd.read_text()
    ctx = make_context(cfg, "reports", "reports", broker="mqtt://127.0.0.1:1", data_dir=tmp_path)
    assert ctx.broker.username == "reports" and ctx.broker.password
    conf = files.conf.read_text()
    assert "use_username_as_clientid true" in conf and "max_packet_size" in conf
    assert json.loads(files.credentials.read_text())  # readable by us, mode 0600
    assert files.credentials.stat().st_mode & 0o077 == 0


def test_a_removed_account_can_no_longer_connect(office: TestOffice, tmp_path: Path) -> None:
    # the simulator credential of a simulated run no longer opens a real office's broker
    write_broker_files(office.cfg, tmp_path, simulate=True)
    sim = load_credentials(tmp_path)["simulator"]
    raw = Raw(office, "simulator", "simulator", password=sim)
    try:
        assert wait_until(lambda: bool(raw.connacks), 10)
        assert raw.connacks[0].is_failure
    finally:
        raw.close()


def test_request_ids_are_the_requesters_own_and_reply_to_must_be_its_own(office: TestOffice) -> None:
    office.start_engine()
    t = office.topics
    kiosk = office.client("kiosk-1", kind="kiosk")
    tablet = office.client("tablet-1", kind="tablet")
    errors: list[dict] = []
    office.client("admin").subscribe(t.error, lambda _t, p: errors.append(json.loads(p)))
    victim_id = kiosk.new_id()
    # 1. the tablet names the kiosk's reply topic: refused on the error topic, nothing stored
    tablet.publish(t.rating_submit, {"id": victim_id, "reply_to": kiosk.reply_topic, "counter": 1,
                                     "ticket_id": None, "level": "satisfied", "reasons": []})
    # 2. ... and with its own reply topic: a different requester, so a different request
    own = tablet.request(t.rating_submit, {"counter": 1, "ticket_id": None, "level": "satisfied", "reasons": []},
                         req_id=victim_id, timeout=5)
    assert own["id"] == victim_id
    assert wait_until(lambda: any("may not send requests" in e["message"] for e in errors), 10)
    # the kiosk's own request with that id still gets its ticket
    reply = kiosk.request(t.ticket_issue, {"service": "HT", "source": "kiosk-1"}, req_id=victim_id, timeout=5)
    assert reply["ok"] and reply["ticket"]["number"] == "2001"
    # a retry by the kiosk is still idempotent (same ticket, no second one)
    again = kiosk.request(t.ticket_issue, {"service": "HT", "source": "kiosk-1"}, req_id=victim_id, timeout=5)
    assert again["ticket"]["ticket_id"] == reply["ticket"]["ticket_id"]


def test_password_from_a_file_or_env_not_the_command_line(office: TestOffice, tmp_path: Path, monkeypatch) -> None:
    secret = tmp_path / "kiosk-1.pass"
    secret.write_text(office.creds["kiosk-1"] + "\n")
    secret.chmod(0o600)
    monkeypatch.setenv("MOTCUA_BROKER_PASSWORD_FILE", str(secret))
    ctx = make_context(office.cfg, "kiosk-1", "kiosk", broker=f"mqtt://kiosk-1@127.0.0.1:{office.port}",
                       data_dir=tmp_path / "elsewhere")
    assert ctx.broker.password == office.creds["kiosk-1"] and "pass" not in str(ctx.broker)
    bus = ctx.bus()
    bus.start(wait=10)
    try:
        assert bus.connected.is_set()
    finally:
        bus.stop()
    monkeypatch.delenv("MOTCUA_BROKER_PASSWORD_FILE")
    monkeypatch.setenv("MOTCUA_BROKER_PASSWORD", "from-env")
    ctx = make_context(office.cfg, "kiosk-1", "kiosk", broker="mqtt://kiosk-1@127.0.0.1:1", data_dir=tmp_path / "e2")
    assert ctx.broker.password == "from-env"


def test_a_technician_rotates_a_device_credential(office: TestOffice) -> None:
    import subprocess
    import sys
    old = office.creds["tablet-1"]
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "edge.cli", "broker", str(office.config_path), "--data",
                           str(office.data), "--rotate", "tablet-1", "--write-only"],
                          env={**__import__("os").environ, "PYTHONPATH": str(root)}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    new = load_credentials(office.data)["tablet-1"]
    assert new != old and load_credentials(office.data)["kiosk-1"] == office.creds["kiosk-1"]
    # the harness's broker listens on its own port: write its files again the way it does, restart
    write_broker_files(office.cfg, office.data, port=office.port, bind="127.0.0.1",
                       extra_users=[u for u in office.creds if "~" in u])
    office.restart_broker()
    refused = Raw(office, "tablet-1", "x", password=old)
    accepted = Raw(office, "tablet-1", "y", password=new)
    try:
        assert wait_until(lambda: refused.connacks and accepted.connacks, 10)
        assert refused.connacks[0].is_failure and not accepted.connacks[0].is_failure
    finally:
        refused.close()
        accepted.close()


def test_daemon_state_files_are_private(office: TestOffice, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "MOTCUA_BROKER_PASSWORD": office.creds["engine"]}
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "engine", str(office.config_path), "--data",
                             str(office.data), "--broker", f"mqtt://engine@127.0.0.1:{office.port}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = office.data / "engine" / "engine.db"
    try:
        assert wait_until(lambda: db.exists() and db.stat().st_size > 0, 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert db.stat().st_mode & 0o077 == 0 and db.parent.stat().st_mode & 0o077 == 0


def test_ticket_issuing_is_limited_per_kiosk_identity(office: TestOffice) -> None:
    office.start_engine()
    t = office.topics
    flood = office.client("kiosk-1", kind="kiosk")
    futs = [flood.request_async(t.ticket_issue, {"service": "HT", "source": f"kiosk-{i}"})[1] for i in range(60)]
    replies = [f.result(timeout=30) for f in futs]
    issued = [r for r in replies if r["ok"]]
    limited = [r for r in replies if not r["ok"] and r["error"]["code"] == "rate_limited"]
    assert len(issued) + len(limited) == 60
    assert 1 <= len(issued) <= 25, len(issued)  # the burst, not the whole day's quota
    assert "chờ" in limited[0]["error"]["message"]
    # another kiosk account still gets its ticket; the quota is not used up
    other = office.client("kiosk-1", kind="kiosk")
    assert other.request(t.ticket_issue, {"service": "HT", "source": "kiosk-1"}, timeout=5)["ok"]


def test_a_tablet_rates_only_finished_tickets_of_its_own_counter_a_bounded_number_of_times(office: TestOffice) -> None:
    office.start_engine()
    t = office.topics
    admin = office.client("admin")
    tablet = office.client("tablet-1", kind="tablet")  # config: counter 1
    events: list[dict] = []
    admin.subscribe(t.rating_event, lambda _t, p: events.append(json.loads(p)))
    for n in (1, 2):
        assert admin.request(t.counter_command(n), {"action": "open", "staff": "Lan"}, timeout=5)["ok"]
    for _ in range(2):
        assert admin.request(t.ticket_issue, {"service": "HT"}, timeout=5)["ok"]
    at2 = admin.request(t.counter_command(2), {"action": "next"}, timeout=5)["ticket"]

    def rate(counter: int, ticket_id: str | None, level: str = "unsatisfied") -> dict:
        return tablet.request(t.rating_submit, {"counter": counter, "ticket_id": ticket_id, "level": level,
                                                "reasons": ["Chậm"]}, timeout=5)

    # counter 2's ticket, still being served: neither as counter 2 nor as counter 1
    assert rate(2, at2["ticket_id"])["error"]["code"] == "bad_request"
    assert rate(1, at2["ticket_id"])["error"]["code"] == "bad_request"
    assert admin.request(t.counter_command(2), {"action": "finish"}, timeout=5)["ok"]
    assert rate(2, at2["ticket_id"])["error"]["code"] == "bad_request"  # finished, but not at counter 1
    at1 = admin.request(t.counter_command(1), {"action": "next"}, timeout=5)["ticket"]
    assert rate(1, at1["ticket_id"])["error"]["code"] == "bad_request"  # not finished yet
    assert admin.request(t.counter_command(1), {"action": "finish"}, timeout=5)["ok"]
    outcomes = [rate(1, at1["ticket_id"])["ok"] for _ in range(20)]
    assert outcomes == [True] * 3 + [False] * 17
    time.sleep(0.5)
    assert len(events) == 3 and {e["ticket_id"] for e in events} == {at1["ticket_id"]}


def test_a_second_technician_gets_an_account_of_their_own_that_survives_regeneration(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    base = [sys.executable, "-m", "edge.cli", "broker", str(SMALL), "--data", str(tmp_path), "--write-only"]
    done = subprocess.run(base + ["--add-account", "admin~lan"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    bad = subprocess.run(base + ["--add-account", "nobody~x"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "ROLE~NAME" in bad.stderr and "Traceback" not in bad.stderr
    assert "nobody~x" not in load_credentials(tmp_path)
    files = write_broker_files(load(SMALL), tmp_path)  # e.g. `motcua run` regenerating the files
    assert "admin~lan:" in files.passwd.read_text() and "user admin~lan" in files.acl.read_text()


def test_two_tablets_using_one_request_id_get_two_ratings(office: TestOffice) -> None:
    office.start_engine()
    t = office.topics
    admin = office.client("admin")
    assert admin.request(t.counter_command(1), {"action": "open", "staff": "Lan"}, timeout=5)["ok"]
    done = []
    for _ in range(2):
        assert admin.request(t.ticket_issue, {"service": "HT"}, timeout=5)["ok"]
        done.append(admin.request(t.counter_command(1), {"action": "next"}, timeout=5)["ticket"]["ticket_id"])
        assert admin.request(t.counter_command(1), {"action": "finish"}, timeout=5)["ok"]
    a, b = office.client("tablet-1", kind="tablet"), office.client("tablet-1", kind="tablet")
    ra = a.request(t.rating_submit, {"counter": 1, "ticket_id": done[0], "level": "satisfied"}, req_id="same-1", timeout=5)
    rb = b.request(t.rating_submit, {"counter": 1, "ticket_id": done[1], "level": "satisfied"}, req_id="same-1", timeout=5)
    assert ra["ok"] and rb["ok"] and ra["rating_id"] != rb["rating_id"]
