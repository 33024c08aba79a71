"""`motcua central`: three real office brokers bridged to a real province broker, a real PostgreSQL.

Every ticket event of every office lands exactly once, through a cut of the province link and a
kill -9 of `motcua central` in the middle of the traffic.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")

from edge.broker import BrokerProcess, free_port  # noqa: E402
from edge.bus import wait_until  # noqa: E402
from edge.tools import bridge as B  # noqa: E402
from harness import SMALL, TestOffice, copy_config  # noqa: E402
from pg import PgCluster, pg_bin  # noqa: E402

from central.store import CentralStore, Message  # noqa: E402

pytestmark = pytest.mark.skipif(pg_bin() is None, reason="PostgreSQL is not installed (scripts/setup.sh as root)")

OFFICES = ("TEST.01.H99", "TEST.02.H99", "TEST.03.H99")


class ProvinceBroker:
    """The province's mosquitto (anonymous here; persistent, so sessions survive its restart)."""

    def __init__(self, base: Path) -> None:
        base.mkdir(parents=True, exist_ok=True)
        (base / "persist").mkdir(exist_ok=True)
        self.port = free_port()
        conf = base / "mosquitto.conf"
        conf.write_text("\n".join([
            f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence true",
            f"persistence_location {base}/persist/", "max_queued_messages 100000",
            "max_inflight_messages 1000", "log_dest stderr", ""]))
        self.proc = BrokerProcess(conf, "127.0.0.1", self.port)

    def start(self) -> "ProvinceBroker":
        self.proc.start()
        return self

    def stop(self) -> None:
        self.proc.stop()


class Province:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.pg = PgCluster().start()
        self.dsn = self.pg.create_db("central")
        self.broker = ProvinceBroker(tmp / "province").start()
        self.offices: list[TestOffice] = []
        for i, oid in enumerate(OFFICES):
            d = tmp / f"office{i}"
            d.mkdir()
            cfg = copy_config(d, SMALL, {'id = "TEST.01.H99"': f'id = "{oid}"'})
            office = TestOffice(d / "data", cfg)
            B.write_bridge(office.data, oid, B.CentralLink(f"127.0.0.1:{self.broker.port}", restart=(1, 2),
                                                           keepalive=5))
            office.start()
            self.offices.append(office)
        self.config = tmp / "central.toml"
        self.config.write_text("\n".join([
            'province = "Tỉnh thử nghiệm"',
            "[broker]", 'host = "127.0.0.1"', f"port = {self.broker.port}", 'client_id = "central-test"',
            "[database]", f'dsn = "{self.dsn}"', "batch_max = 200", "batch_wait_ms = 400",
            *[f'[[offices]]\nid = "{o}"\nname = "Phường {i + 1}"' for i, o in enumerate(OFFICES)], ""]),
            encoding="utf-8")
        self.proc: subprocess.Popen | None = None

    def start_central(self) -> None:
        env = {**os.environ, "MOTCUA_LOG": "INFO"}
        self.log = open(self.tmp / "central.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "central", str(self.config)],
                                     stdout=self.log, stderr=self.log, env=env)

    def wait_ready(self) -> None:
        """Until the ingest is subscribed: a probe published on the province broker lands in the store."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        probe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="probe")
        probe.connect("127.0.0.1", self.broker.port)
        probe.loop_start()
        n = 0

        def landed() -> bool:
            nonlocal n
            n += 1
            probe.publish("motcua/v1/PROBE/event/probe", f'{{"n": {n}}}', qos=1)
            try:
                return bool(self.rows("SELECT 1 FROM other_events WHERE office_id = 'PROBE'"))
            except psycopg.errors.UndefinedTable:
                return False
        try:
            assert wait_until(landed, 30, interval=0.3), "motcua central did not start"
        finally:
            probe.disconnect()
            probe.loop_stop()

    def kill_central(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop_central(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def rows(self, sql: str, *args: object) -> list[tuple]:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute(sql, args).fetchall()

    def close(self) -> None:
        self.stop_central()
        for o in self.offices:
            o.close()
        self.broker.stop()
        self.pg.stop()


@pytest.fixture
def province(tmp_path: Path):
    p = Province(tmp_path)
    yield p
    p.close()


class Traffic:
    """Clerks and kiosks in every office; records every ticket event each office published."""

    def __init__(self, province: Province) -> None:
        self.events: set[tuple[str, str, str]] = set()
        self.lock = threading.Lock()
        self.clients = []
        for office in province.offices:
            office.start_engine()
            admin = office.client("admin")
            oid = office.cfg.office.id
            admin.subscribe(office.topics.ticket_event_all,
                            lambda t, p, oid=oid: self._seen(oid, t, p))
            r = admin.request(office.topics.counter_command(1), {"action": "open", "staff": "Nguyễn Thị Lan"})
            assert r["ok"], r
            self.clients.append((office, admin))

    def _seen(self, oid: str, topic: str, payload: bytes) -> None:
        data = json.loads(payload)
        with self.lock:
            self.events.add((oid, data["ticket"]["ticket_id"], topic.rsplit("/", 1)[1]))

    def round(self, n: int) -> None:
        """n tickets issued and n calls in every office."""
        for office, admin in self.clients:
            for _ in range(n):
                assert admin.request(office.topics.ticket_issue, {"service": "HT", "source": "kiosk-1"})["ok"]
                assert admin.request(office.topics.counter_command(1), {"action": "next"})["ok"]


def stored(p: Province) -> set[tuple[str, str, str]]:
    return {(o, t, a) for o, t, a in p.rows("SELECT office_id, ticket_id, action FROM ticket_events")}


def test_every_event_of_three_offices_lands_once_through_a_link_cut_and_a_kill(province: Province) -> None:
    province.start_central()
    province.wait_ready()
    traffic = Traffic(province)
    traffic.round(5)
    assert wait_until(lambda: stored(province) >= traffic.events, 30), len(traffic.events - stored(province))
    assert {o for o, _, _ in stored(province)} == set(OFFICES)  # (the probe is not a ticket event)

    # The province link goes down (its broker stops); the offices keep working; it comes back.
    province.broker.stop()
    traffic.round(5)
    province.broker.start()
    assert wait_until(lambda: stored(province) >= traffic.events, 40), len(traffic.events - stored(province))

    # kill -9 of `motcua central` while the traffic flows; a new one takes the same session.
    before = len(stored(province))
    flowing = threading.Thread(target=traffic.round, args=(40,), name="traffic")
    flowing.start()
    assert wait_until(lambda: len(stored(province)) > before + 20, 30)  # this round's events are landing
    province.kill_central()
    flowing.join(120)
    province.start_central()
    assert wait_until(lambda: stored(province) >= traffic.events, 40), len(traffic.events - stored(province))
    time.sleep(1.0)  # anything delivered twice has arrived by now
    # Batches wait up to 400 ms to fill, so the kill caught messages received but not yet
    # committed, hence not acknowledged: the broker delivered them again to the new process.
    assert b"delivered again after a restart" in (province.tmp / "central.log").read_bytes()
    rows = province.rows("SELECT office_id, ticket_id, action, ts FROM ticket_events")
    assert len(rows) == len(traffic.events) == len(stored(province))  # nothing lost, nothing twice
    # 50 tickets per office, each issued, called, and (all but the last) done
    per_office = province.rows("SELECT office_id, count(*) FROM ticket_events WHERE action = 'issued' GROUP BY 1")
    assert sorted(per_office) == [(o, 50) for o in OFFICES]

    # live state: the counters each office has open, and every office's link up
    counters = province.rows("SELECT office_id, payload->>'status' FROM live_state WHERE key = 'counter/1'")
    assert sorted(counters) == [(o, "open") for o in OFFICES]
    assert wait_until(lambda: province.rows("SELECT count(*) FROM offices WHERE link_up")[0][0] == 3, 20)
    assert province.rows("SELECT office_id FROM offices WHERE link_up IS NOT TRUE") == [("PROBE",)]
    # each office's own description (engine's retained office/info): name, version, config digest
    info = province.rows("SELECT office_id, name, info->>'version', length(info->>'config_sha256') FROM offices "
                         "WHERE office_id != 'PROBE'")
    assert sorted(info) == [(o, "Bộ phận Một cửa thử nghiệm", "0.1.0", 64) for o in OFFICES]


def test_a_batch_delivered_twice_is_stored_once(tmp_path: Path) -> None:
    pg = PgCluster().start()
    try:
        store = CentralStore(pg.create_db("central"))
        store.connect()
        ev = {"ticket": {"ticket_id": "20261123-HT-0001", "number": "2001", "service": "HT", "day": "2026-11-23",
                         "status": "waiting", "priority": "none"}, "counter": None, "ts": "2026-11-23T08:00:01+07:00"}
        rating = {"rating_id": "r1", "ticket_id": "20261123-HT-0001", "day": "2026-11-23", "counter": 1,
                  "level": "satisfied", "revision": 1, "ts": "2026-11-23T08:10:00+07:00"}
        batch = [Message("motcua/v1/A.01/event/ticket/issued", json.dumps(ev).encode()),
                 Message("motcua/v1/A.01/event/rating", json.dumps(rating).encode()),
                 Message("motcua/v1/A.01/event/rating", json.dumps({**rating, "level": "unsatisfied",
                                                                    "revision": 2}).encode()),
                 Message("motcua/v1/A.01/event/ticket/issued", b"not json"),
                 Message("motcua/v1/A.01/ticket/issue", b'{"id": "x"}')]
        first = store.write(batch)
        store.write(batch)  # redelivered after a crash before the acknowledgement
        store.write(batch[1:2])  # an old revision arriving late does not win
        assert first.skipped == 2
        conn = store.conn
        assert conn.execute("SELECT count(*) FROM ticket_events").fetchone()[0] == 1
        assert conn.execute("SELECT revision, level FROM ratings").fetchall() == [(2, "unsatisfied")]
        store.close()
    finally:
        pg.stop()
