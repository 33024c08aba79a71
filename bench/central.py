"""`motcua central` under a province's load: events per second one ingest stores, and the lag.

200 simulated offices publish what their bridges would send to the province broker (ticket
issued/called/done, a rating for some visits, counter and queue state) to a real mosquitto;
one `motcua central` process stores it in a real PostgreSQL (Debian's, a throwaway cluster).

Two phases:
  1. the busiest hour, played at its real rate (200 offices x 300 tickets an hour) for
     --seconds: the lag from each event's publication to its row's commit, p50/p99;
  2. a flood of --flood events as fast as the publishers go: the sustained ingest rate.

    .venv/bin/python bench/central.py [--offices 200] [--seconds 30] [--flood 40000]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from edge.broker import BrokerProcess, free_port  # noqa: E402
from pg import PgCluster  # noqa: E402

TZ = timezone(timedelta(hours=7))


def ts_now() -> str:
    return datetime.now(TZ).isoformat(timespec="microseconds")


class Office:
    """What one office's bridge sends for its tickets."""

    def __init__(self, n: int) -> None:
        self.id = f"000.{n // 100:02d}.{n % 100:02d}.H99"
        self.seq = 0
        self.root = f"motcua/v1/{self.id}"

    def visit(self) -> list[tuple[str, dict]]:
        """One ticket's life as its events and state changes (8 messages, 1 in 3 with a rating)."""
        self.seq += 1
        tid = f"20261123-HT-{self.seq:04d}"
        ticket = {"ticket_id": tid, "number": str(2000 + self.seq), "seq": self.seq, "service": "HT",
                  "service_name": "Chứng thực - Hộ tịch", "priority": "none", "day": "2026-11-23",
                  "issued_at": ts_now(), "status": "waiting", "counter": None}
        counter = 1 + self.seq % 6
        out = [(f"{self.root}/event/ticket/issued", {"ticket": ticket, "counter": None, "ts": ts_now()}),
               (f"{self.root}/queue/state", {"day": "2026-11-23", "services": [], "recent_calls": [], "ts": ts_now()})]
        called = {**ticket, "status": "called", "counter": counter}
        out += [(f"{self.root}/event/ticket/called", {"ticket": called, "counter": counter, "ts": ts_now()}),
                (f"{self.root}/counter/{counter}/state", {"counter": counter, "status": "open", "serving": called,
                                                          "ts": ts_now()}),
                (f"{self.root}/queue/state", {"day": "2026-11-23", "services": [], "recent_calls": [], "ts": ts_now()}),
                (f"{self.root}/event/ticket/done", {"ticket": {**called, "status": "done"}, "counter": counter,
                                                     "ts": ts_now()}),
                (f"{self.root}/counter/{counter}/state", {"counter": counter, "status": "open", "serving": None,
                                                          "ts": ts_now()})]
        if self.seq % 3 == 0:
            out.append((f"{self.root}/event/rating", {"rating_id": f"{tid}-r", "ticket_id": tid, "day": "2026-11-23",
                                                       "counter": counter, "service": "HT", "level": "satisfied",
                                                       "revision": 1, "submitted_at": ts_now(), "ts": ts_now()}))
        else:
            out.append((f"{self.root}/device/tablet-{counter}/status", {"device": f"tablet-{counter}", "online": True,
                                                                         "state": "ok", "ts": ts_now()}))
        return out


def publisher(port: int, name: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--offices", type=int, default=200)
    ap.add_argument("--tickets-per-hour", type=int, default=300, help="per office")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--flood", type=int, default=40000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="motcua-central-bench-"))
    pg = PgCluster().start()
    (tmp / "persist").mkdir()
    port = free_port()
    conf = tmp / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    f"persistence_location {tmp}/persist/\nmax_inflight_messages 1000\nmax_queued_messages 1000000\n"
                    "set_tcp_nodelay true\n")
    broker = BrokerProcess(conf, "127.0.0.1", port).start()
    dsn = pg.create_db("central")
    cfgfile = tmp / "central.toml"
    cfgfile.write_text(f'province = "Bench"\n[broker]\nhost = "127.0.0.1"\nport = {port}\n'
                       f'[database]\ndsn = "{dsn}"\nbatch_max = 2000\nbatch_wait_ms = 20\n', encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "central", str(cfgfile)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "central.log", "wb"))
    try:
        with psycopg.connect(dsn, autocommit=True) as db:
            def count() -> int:
                try:
                    return db.execute("SELECT (SELECT count(*) FROM ticket_events) + (SELECT count(*) FROM ratings)"
                                      ).fetchone()[0]
                except psycopg.errors.UndefinedTable:
                    return -1
            deadline = time.monotonic() + 30
            while count() < 0 and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.0)  # subscribed
            offices = [Office(i) for i in range(args.offices)]
            pubs = [publisher(port, f"bridge-{i}") for i in range(8)]

            # phase 1: the busiest hour at its real rate
            visits_per_s = args.offices * args.tickets_per_hour / 3600
            msgs = rows_expected = 0
            start = time.monotonic()
            i = 0
            while time.monotonic() - start < args.seconds:
                due = int((time.monotonic() - start) * visits_per_s)
                while i < due:
                    office = random.choice(offices)
                    for topic, payload in office.visit():
                        pubs[i % len(pubs)].publish(topic, json.dumps(payload), qos=1)
                        msgs += 1
                        rows_expected += "/event/ticket/" in topic or topic.endswith("/event/rating")
                    i += 1
                time.sleep(0.005)
            deadline = time.monotonic() + 60
            while count() < rows_expected and time.monotonic() < deadline:
                time.sleep(0.2)
            lags = [r[0] for r in db.execute(
                "SELECT extract(epoch FROM received_at - ts) FROM ticket_events").fetchall()]
            lags.sort()
            busy = {"visits": i, "messages": msgs, "messages_per_s": round(msgs / args.seconds, 1),
                    "rows": count(), "rows_expected": rows_expected,
                    "lag_p50_s": round(float(lags[len(lags) // 2]), 3) if lags else None,
                    "lag_p99_s": round(float(lags[int(len(lags) * 0.99)]), 3) if lags else None,
                    "lag_max_s": round(float(lags[-1]), 3) if lags else None}
            print(f"busiest hour: {busy}", file=sys.stderr)

            # phase 2: a flood, as fast as the publishers go
            base = count()
            flood_rows = 0
            t0 = time.monotonic()
            sent = 0
            while sent < args.flood:
                office = offices[sent % len(offices)]
                for topic, payload in office.visit():
                    pubs[sent % len(pubs)].publish(topic, json.dumps(payload), qos=1)
                    sent += 1
                    flood_rows += "/event/ticket/" in topic or topic.endswith("/event/rating")
            deadline = time.monotonic() + 300
            while count() < base + flood_rows and time.monotonic() < deadline:
                time.sleep(0.1)
            elapsed = time.monotonic() - t0
            flood = {"messages": sent, "rows": count() - base, "seconds": round(elapsed, 2),
                     "messages_per_s": round(sent / elapsed, 1)}
            print(f"flood: {flood}", file=sys.stderr)
            for p in pubs:
                p.disconnect()
                p.loop_stop()
        rss = 0
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) // 1024
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        broker.stop()
        pg.stop()
    target = args.offices * args.tickets_per_hour * 8 / 3600
    print(json.dumps({"offices": args.offices, "busiest_hour": busy, "flood": flood,
                      "target_messages_per_s": round(target, 1), "central_peak_rss_mb": rss,
                      "lag_under_2s": bool(busy["lag_p99_s"] is not None and busy["lag_p99_s"] < 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
