"""Office broker bridged to a central mosquitto: two real brokers, the link cut and restored."""
from __future__ import annotations

import getpass
import json
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.broker import BrokerProcess, free_port
from edge.bus import wait_until
from edge.tools import bridge as B
from harness import SMALL, TestOffice

OFFICE = "TEST.01.H99"
ROOT = f"motcua/v1/{OFFICE}"


class Central:
    """A central mosquitto (anonymous, persistent) and a durable subscriber on it."""

    def __init__(self, base: Path) -> None:
        base.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        (base / "persist").mkdir(exist_ok=True)
        conf = base / "mosquitto.conf"
        conf.write_text("\n".join([
            f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence true",
            f"persistence_location {base}/persist/", "max_queued_messages 100000", "log_dest stderr", ""]))
        self.broker = BrokerProcess(conf, "127.0.0.1", self.port)
        self.got: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.sub = self.client(f"central-sub-{uuid.uuid4().hex[:6]}", clean=False, topic=f"{ROOT}/#")
        self.sub.on_subscribe = lambda *_: self.subscribed.set()

    def client(self, client_id: str, clean: bool = True, topic: str | None = None) -> mqtt.Client:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
        c.reconnect_delay_set(0.1, 0.5)
        if topic:
            c.on_connect = lambda cl, *_: cl.subscribe(topic, 1)
            c.on_message = self._collect
        return c

    def _collect(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.got.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def start(self) -> "Central":
        self.broker.start()
        return self

    def connect_sub(self) -> None:
        self.sub.connect("127.0.0.1", self.port)
        self.sub.loop_start()
        assert self.subscribed.wait(10), "central subscriber did not subscribe"

    def seqs(self, topic: str) -> list[int]:
        with self.lock:
            return [json.loads(p)["seq"] for t, p, _ in self.got if t == topic]

    def close(self) -> None:
        self.sub.disconnect()
        self.sub.loop_stop()
        self.broker.stop()


@pytest.fixture
def bridged(tmp_path: Path):
    central = Central(tmp_path / "central").start()
    office = TestOffice(tmp_path / "office", SMALL)
    B.write_bridge(office.data, OFFICE, B.CentralLink(f"127.0.0.1:{central.port}", restart=(1, 2),
                                                      keepalive=5))
    office.start()  # the generated mosquitto.conf includes conf.d/bridge.conf
    central.connect_sub()
    yield office, central
    office.close()
    central.close()


def publish_events(office: TestOffice, seqs: range) -> None:
    admin = office.client("admin")
    topic = f"{ROOT}/event/ticket/issued"
    infos = [admin.publish(topic, {"seq": n, "ticket": {"number": str(2000 + n)}}) for n in seqs]
    for info in infos:
        info.wait_for_publish(timeout=5)  # the office broker has the message (QoS 1 PUBACK)


def test_office_topics_reach_central_and_queue_while_the_link_is_down(bridged) -> None:
    office, central = bridged
    topic = f"{ROOT}/event/ticket/issued"
    status = office.client("printer-1", kind="printer")
    status.set_status("warning", {"paper": "low"})
    assert wait_until(lambda: any(t.endswith("/device/printer-1/status") for t, _, _ in central.got), 10)
    publish_events(office, range(1, 6))
    assert wait_until(lambda: central.seqs(topic) == [1, 2, 3, 4, 5], 10), central.seqs(topic)

    central.broker.stop()  # the link goes down; the office goes on working
    publish_events(office, range(6, 31))
    central.broker.start()  # the durable subscriber's session comes back from persistence
    assert wait_until(lambda: set(central.seqs(topic)) >= set(range(1, 31)), 20), central.seqs(topic)
    got = central.seqs(topic)
    assert sorted(set(got)) == list(range(1, 31))
    assert [n for i, n in enumerate(got) if n not in got[:i]] == list(range(1, 31))  # in order

    # retained state on the centre: a newcomer sees the printer's status at once
    late: list[mqtt.MQTTMessage] = []
    c = central.client("late-viewer", topic=f"{ROOT}/device/+/status")
    c.on_message = lambda cl, u, m: late.append(m)
    c.connect("127.0.0.1", central.port)
    c.loop_start()
    try:
        assert wait_until(lambda: any(m.retain and b'"paper":"low"' in m.payload for m in late), 10)
    finally:
        c.disconnect()
        c.loop_stop()


def test_queued_messages_survive_an_office_broker_restart(bridged) -> None:
    office, central = bridged
    topic = f"{ROOT}/event/ticket/issued"
    publish_events(office, range(1, 3))
    assert wait_until(lambda: central.seqs(topic) == [1, 2], 10)
    central.broker.stop()
    publish_events(office, range(3, 11))
    office.restart_broker()  # the bridge queue is in the office broker's persistence file
    central.broker.start()
    assert wait_until(lambda: set(central.seqs(topic)) >= set(range(1, 11)), 20), central.seqs(topic)


DOWN = f"motcua-down/v1/{OFFICE}"


def test_only_the_inbound_topics_come_from_the_centre(bridged) -> None:
    office, central = bridged
    admin = office.client("admin")
    seen: list[str] = []
    admin.subscribe(f"{ROOT}/#", lambda t, p: seen.append(t))
    pub = central.client("central-ops")
    pub.connect("127.0.0.1", central.port)
    pub.loop_start()
    try:
        # the bridge subscribes on the centre once connected; retry until the notice crosses
        def crossed() -> bool:
            pub.publish(f"{DOWN}/ticket/issue", b'{"id":"x","reply_to":"motcua/v1/TEST.01.H99/reply/x"}', qos=1)
            pub.publish(f"{ROOT}/event/ticket/called", b'{"seq": 99}', qos=1)  # the office's own tree: never in
            pub.publish(f"{DOWN}/display/notice", '{"text":"Nghỉ trưa từ 11:30"}'.encode(), qos=1).wait_for_publish(5)
            return f"{ROOT}/display/notice" in seen
        assert wait_until(crossed, 10, interval=0.3)
        assert f"{ROOT}/ticket/issue" not in seen and f"{ROOT}/event/ticket/called" not in seen
    finally:
        pub.disconnect()
        pub.loop_stop()


@pytest.mark.parametrize("try_private", [True, False], ids=["mosquitto-bridge-mode", "plain-client-like-emqx"])
def test_a_notice_from_the_centre_does_not_loop(tmp_path: Path, try_private: bool) -> None:
    central = Central(tmp_path / "central").start()
    office = TestOffice(tmp_path / "office", SMALL)
    B.write_bridge(office.data, OFFICE, B.CentralLink(f"127.0.0.1:{central.port}", restart=(1, 2),
                                                      try_private=try_private))
    office.start()
    central.connect_sub()
    try:
        admin = office.client("admin")
        at_office: list[bytes] = []
        admin.subscribe(f"{ROOT}/display/notice", lambda t, p: at_office.append(p))
        pub = central.client("central-ops")
        pub.connect("127.0.0.1", central.port)
        pub.loop_start()
        try:
            # wait for the link: an event from the office reaching the centre
            publish_events(office, range(1, 2))
            assert wait_until(lambda: central.seqs(f"{ROOT}/event/ticket/issued") == [1], 10)
            pub.publish(f"{DOWN}/display/notice", b'{"text":"x"}', qos=1).wait_for_publish(5)
            assert wait_until(lambda: len(at_office) >= 1, 10)
            up = lambda: [t for t, _, _ in central.got if t == f"{ROOT}/display/notice"]  # noqa: E731
            time.sleep(1.5)  # a loop would have gone round hundreds of times by now
            assert len(at_office) == 1 and len(up()) <= 1, (len(at_office), len(up()))
        finally:
            pub.disconnect()
            pub.loop_stop()
    finally:
        office.close()
        central.close()


def test_bridge_conf_text_and_validation(tmp_path: Path) -> None:
    link = B.CentralLink("central.example.vn:8883", "office-h15", "s3cret", "/etc/motcua/central-ca.pem",
                         inbound=("display/notice", "admin/engine"), try_private=False)
    text = B.bridge_conf("000.21.17.H15", link)
    assert "connection motcua-000.21.17.H15\n" in text
    assert "cleansession false\n" in text and "local_cleansession false\n" in text
    assert "topic motcua/v1/000.21.17.H15/# out 1\n" in text
    assert "topic admin/engine in 1 motcua/v1/000.21.17.H15/ motcua-down/v1/000.21.17.H15/\n" in text
    assert "try_private false\n" in text and "bridge_cafile /etc/motcua/central-ca.pem\n" in text
    path = B.write_bridge(tmp_path, "000.21.17.H15", link)
    assert path == tmp_path / "broker/conf.d/bridge.conf" and path.stat().st_mode & 0o777 == 0o600
    for bad in (B.CentralLink("central:8883\nconnection evil"), B.CentralLink("c:1", inbound=("/abs",)),
                B.CentralLink("c:1", password="a\nb"), B.CentralLink("c:1", restart=(10, 5)), B.CentralLink("")):
        with pytest.raises(ValueError):
            B.bridge_conf("X", bad)


def test_bridge_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    data = tmp_path / "data"
    assert B.cli_main([str(SMALL), "--central", "10.0.0.5:1883", "--user", "u1", "--password-file", str(pw),
                       "--emqx", "--data", str(data)]) == 0
    text = B.bridge_path(data).read_text()
    assert "remote_password s3cret\n" in text and "try_private false" in text
    assert B.cli_main([str(SMALL), "--data", str(data)]) == 2
    assert B.cli_main([str(SMALL), "--central", "central:99999", "--data", str(data)]) == 2
    assert "is not host[:port]" in capsys.readouterr().err
    assert B.cli_main([str(SMALL), "--remove", "--data", str(data)]) == 0
    assert not B.bridge_path(data).exists()


def test_example_bridge_files_match_the_generator() -> None:
    base = Path(__file__).parent.parent / "config/bridge"
    for name, emqx in (("office-to-mosquitto.conf", False), ("office-to-emqx.conf", True)):
        text = (base / name).read_text()
        body = text[text.index("# Bridge of office"):]
        lines = dict(line.split(" ", 1) for line in body.splitlines() if line and not line.startswith("#")
                     and not line.startswith("topic "))
        link = B.CentralLink(lines["address"], lines["remote_username"], lines["remote_password"],
                             lines["bridge_cafile"], try_private=not emqx)
        assert body == B.bridge_conf("000.21.17.H15", link), name


def test_central_acl_lets_each_office_write_only_its_own_tree(tmp_path: Path) -> None:
    """The example central.acl with real logins: the bridge logs in as its office id."""
    from edge.broker import mosquitto_hash
    base = tmp_path / "central"
    base.mkdir()
    port = free_port()
    users = {OFFICE: "pw-office", "OTHER.02.H01": "pw-other", "dashboard": "pw-dash", "ops": "pw-ops"}
    (base / "passwd").write_text("".join(f"{u}:{mosquitto_hash(p)}\n" for u, p in users.items()))
    acl = Path(__file__).parent.parent / "config/bridge/central.acl"
    (base / "mosquitto.conf").write_text(f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
                                         f"password_file {base}/passwd\nacl_file {acl}\n")
    central = BrokerProcess(base / "mosquitto.conf", "127.0.0.1", port).start()
    office = TestOffice(tmp_path / "office", SMALL)
    B.write_bridge(office.data, OFFICE, B.CentralLink(f"127.0.0.1:{port}", OFFICE, "pw-office", restart=(1, 2)))
    office.start()
    got: list[str] = []
    subscribed = threading.Event()
    dash = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dash")
    dash.username_pw_set("dashboard", "pw-dash")
    dash.on_connect = lambda cl, *_: cl.subscribe("motcua/v1/#", 1)
    dash.on_subscribe = lambda *_: subscribed.set()
    dash.on_message = lambda cl, u, m: got.append(f"{m.topic} {m.payload.decode()}")
    rogue = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="rogue")
    rogue.username_pw_set("OTHER.02.H01", "pw-other")
    try:
        dash.connect("127.0.0.1", port)
        dash.loop_start()
        assert subscribed.wait(10)
        rogue.connect("127.0.0.1", port)
        rogue.loop_start()
        rogue.publish(f"{ROOT}/event/ticket/issued", b'{"seq": -1}', qos=1).wait_for_publish(5)
        rogue.publish("motcua/v1/OTHER.02.H01/event/ticket/issued", b'{"seq": 0}', qos=1).wait_for_publish(5)
        publish_events(office, range(1, 4))
        assert wait_until(lambda: sum(ROOT in g for g in got) >= 3, 10), got
        assert f'{ROOT}/event/ticket/issued {{"seq": -1}}' not in got  # denied: not its tree
        assert 'motcua/v1/OTHER.02.H01/event/ticket/issued {"seq": 0}' in got
        # the operations desk posts a notice for this office; its bridge may read it
        notices: list[bytes] = []
        office.client("admin").subscribe(f"{ROOT}/display/notice", lambda t, p: notices.append(p))
        ops = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ops")
        ops.username_pw_set("ops", "pw-ops")
        ops.connect("127.0.0.1", port)
        ops.loop_start()
        try:
            assert wait_until(lambda: bool(ops.publish(f"{DOWN}/display/notice", '{"text":"Mất điện chiều nay"}'.encode(),
                                                       qos=1).wait_for_publish(5) or notices), 10, interval=0.3)
        finally:
            ops.disconnect()
            ops.loop_stop()
    finally:
        for c in (dash, rogue):
            c.disconnect()
            c.loop_stop()
        office.close()
        central.stop()


def test_status_shows_the_central_link(bridged, capsys: pytest.CaptureFixture[str]) -> None:
    from edge.tools import status as S
    office, central = bridged
    url = f"mqtt://admin:{office.creds['admin']}@127.0.0.1:{office.port}"
    name = f"motcua-{OFFICE}"

    def snapshot() -> dict:
        assert S.cli_main([str(SMALL), "--once", "--json", "--broker", url]) == 0
        return json.loads(capsys.readouterr().out)["links"]
    assert wait_until(lambda: snapshot().get(name) is True, 10)
    central.broker.stop()
    assert wait_until(lambda: snapshot().get(name) is False, 10)
    assert S.cli_main([str(SMALL), "--once", "--broker", url]) == 0
    assert f"KẾT NỐI TRUNG TÂM: {name} MẤT NỐI (tin nhắn đang chờ)" in capsys.readouterr().out
