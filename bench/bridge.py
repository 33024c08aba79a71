"""Office -> central bridge: latency of one event, and draining a backlog after an outage.

Two real mosquitto processes on loopback, the office one with the generated bridge.conf.
Prints its figures as one JSON object on the last line.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from edge.broker import BrokerProcess, free_port  # noqa: E402
from edge.tools.bridge import CentralLink, write_bridge  # noqa: E402
from harness import SMALL, TestOffice  # noqa: E402

N_LATENCY = 500
N_BACKLOG = 5000


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-bridge-"))
    port = free_port()
    cdir = tmp / "central"
    (cdir / "persist").mkdir(parents=True)
    (cdir / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {cdir}/persist/\nmax_queued_messages 100000\nset_tcp_nodelay true\n")
    central = BrokerProcess(cdir / "mosquitto.conf", "127.0.0.1", port).start()
    office = TestOffice(tmp / "office", SMALL)
    write_bridge(office.data, office.cfg.office.id, CentralLink(f"127.0.0.1:{port}", restart=(1, 2)))
    office.start()
    topic = f"{office.topics.root}/event/bench"
    arrivals: dict[int, float] = {}
    dups = 0
    lock = threading.Lock()
    subscribed = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal dups
        now = time.perf_counter()
        n = json.loads(msg.payload)["n"]
        with lock:
            if n in arrivals:
                dups += 1
            else:
                arrivals[n] = now

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-central-sub", clean_session=False)
    sub.on_connect = lambda c, *_: c.subscribe(topic, 1)
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.on_message = on_message
    sub.reconnect_delay_set(0.05, 0.2)
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    subscribed.wait(10)
    pub = office.client("admin")
    try:
        # 1. latency: one message at a time, office publish -> central delivery
        sent: dict[int, float] = {}
        for n in range(N_LATENCY):
            sent[n] = time.perf_counter()
            pub.publish(topic, {"n": n})
            end = time.monotonic() + 5
            while n not in arrivals and time.monotonic() < end:
                time.sleep(0.0002)
        lat = sorted((arrivals[n] - sent[n]) * 1000 for n in sent if n in arrivals)
        # 2. backlog: central down, the office publishes, central back
        central.stop()
        infos = [pub.publish(topic, {"n": N_LATENCY + i}) for i in range(N_BACKLOG)]
        for info in infos:
            info.wait_for_publish(timeout=10)
        t0 = time.perf_counter()
        central.start()
        want = set(range(N_LATENCY, N_LATENCY + N_BACKLOG))
        end = time.monotonic() + 60
        while not want <= arrivals.keys() and time.monotonic() < end:
            time.sleep(0.01)
        got = want & arrivals.keys()
        drain_s = (max(arrivals[n] for n in got) - t0) if got else None
        print(json.dumps({
            "latency_messages": len(lat),
            "latency_ms_p50": round(statistics.median(lat), 3),
            "latency_ms_p95": round(lat[int(len(lat) * 0.95) - 1], 3),
            "backlog_messages": N_BACKLOG,
            "backlog_delivered": len(got),
            "backlog_lost": N_BACKLOG - len(got),
            "duplicates": dups,
            "backlog_drain_s_after_central_restart": round(drain_s, 3) if drain_s else None,
        }))
    finally:
        sub.disconnect()
        sub.loop_stop()
        office.close()
        central.stop()


if __name__ == "__main__":
    main()
