"""Fault suite: a simulated busy hour while daemons are killed, the broker restarts, the printer
is unplugged and the province goes away. Afterwards no ticket is duplicated or lost and every daemon is back."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from edge.broker import free_port, wait_port
from edge.bus import RequestTimeout
from harness import copy_config, hostile_payloads
from office_run import ROOT, RunningOffice, wait_for


class Kiosk(threading.Thread):
    """A citizen stream that retries each request with the same id, recording acknowledged tickets."""

    def __init__(self, office: RunningOffice) -> None:
        super().__init__(name="fault-kiosk", daemon=True)
        self.office = office
        self.acked: dict[str, dict] = {}
        self.stop_event = threading.Event()

    def run(self) -> None:
        t = self.office.topics
        i = 0
        while not self.stop_event.is_set():
            req_id = f"fault-{i}"
            while not self.stop_event.is_set():
                try:
                    r = self.office.bus.request(t.ticket_issue, {"service": "DD", "source": "kiosk-1"},
                                                req_id=req_id, timeout=1.0, retries=0)
                    break
                except RequestTimeout:
                    continue
            else:
                return
            if r.get("ok"):
                self.acked[req_id] = r["ticket"]
            i += 1
            self.stop_event.wait(0.05)


def upstream_sim(port: int, password: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "upstream-sim", "--port", str(port),
                             "--dossiers", "300", "--agency", "TEST.01.H99", "--username", "hub",
                             "--password", password], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_port("127.0.0.1", port, 20), "upstream simulator did not start"
    return proc


@pytest.mark.slow
def test_busy_hour_with_kills_broker_restart_and_upstream_outage(tmp_path):
    up_port = free_port()
    pw = tmp_path / "upstream-password"
    pw.write_text("mat-khau-thu\n")
    pw.chmod(0o600)
    config = copy_config(tmp_path, replace={
        'adapter = "simulator"': f'adapter = "rest"\nbase_url = "http://127.0.0.1:{up_port}"\n'
                                 f'username = "hub"\npassword_file = "{pw}"\nsync_interval_s = 2',
        "simulator_dossiers = 200": 'simulator_dossiers = 200\n\n[simulation]\nupstream = "as_configured"'})
    upstream = upstream_sim(up_port, "mat-khau-thu")
    office = RunningOffice(config, tmp_path / "data", "2026-11-23T09:00x20")
    kiosk = Kiosk(office)
    try:
        expected = office.expected_devices()
        assert office.wait_online(expected, 120), f"offline: {sorted(expected - office.online())}"
        kiosk.start()
        assert wait_for(lambda: len(kiosk.acked) >= 5, 30)

        # hostile inputs during the busy hour (issue 11): each reported on the error topic, nobody dies
        t = office.topics
        errors: list[dict] = []
        office.bus.subscribe(t.error, lambda _t, p: errors.append(json.loads(p)))
        hostile_topics = [t.ticket_issue, t.counter_command(1), t.rating_submit, t.print_job("printer-1"),
                          t.scan("scanner-1")]
        for topic in hostile_topics:
            for payload in hostile_payloads(office.bus.reply_topic).values():
                office.bus.publish(topic, payload)
        assert wait_for(lambda: all(sum(e["topic"] == tp for e in errors) >= 3 for tp in hostile_topics), 60), \
            {tp: sum(e["topic"] == tp for e in errors) for tp in hostile_topics}

        # kill -9 of each daemon in turn; the supervisor restarts it and it comes back online
        running = {n: pid for n, pid in office.children().items() if n != "mosquitto"}
        assert expected <= set(running), f"daemons not running: {sorted(expected - set(running))}"
        # one kill per process: devices that share a process (motcua group) go down and come back together
        by_pid: dict[int, list[str]] = {}
        for n, pid in sorted(running.items()):
            by_pid.setdefault(pid, []).append(n)
        for names in by_pid.values():
            name = names[0]
            old = office.kill9(name)
            assert wait_for(lambda: office.children().get(name) not in (None, old), 40), f"{names} not restarted"
            back = set(names) & expected  # the reports writer has no device status
            assert office.wait_online(back, 60), f"{sorted(back - office.online())} did not come back online"
        n = len(kiosk.acked)
        assert wait_for(lambda: len(kiosk.acked) > n + 5, 60), "issuing stalled after the kills"

        # the broker dies: it is restarted and every daemon reconnects by itself
        office.kill9("mosquitto")
        assert wait_for(lambda: "mosquitto" in office.children(), 30)
        assert office.bus.connected.wait(30)
        time.sleep(2)
        with office.lock:
            office.status.clear()
        office.bus.subscribe(office.topics.device_status_all, office._on_status)  # the retained statuses anew
        assert office.wait_online(expected, 90), f"offline after broker restart: {sorted(expected - office.online())}"
        n = len(kiosk.acked)
        assert wait_for(lambda: len(kiosk.acked) > n + 5, 60), "issuing stalled after the broker restart"

        # the virtual printer is unplugged, then plugged back: its status says so, then recovers
        control = tmp_path / "data" / "tickets" / "control.json"
        printer = next((d.id for d in office.cfg.devices if d.kind == "printer"), None)
        if printer in expected:
            control.write_text('{"online": false}')
            assert wait_for(lambda: office.status.get(printer, {}).get("state") == "error", 30)
            control.unlink()
            assert wait_for(lambda: office.status.get(printer, {}).get("state") == "ok", 30)

        # the province goes away: the hub says so, lookups keep answering, and it recovers
        if "hub" in expected:
            upstream.kill()
            upstream.wait()
            assert wait_for(lambda: office.status.get("hub", {}).get("state") in ("warning", "error"), 60)
            r = office.bus.request(office.topics.dossier_lookup, {"code": "TEST.01.H99-261123-0001"}, timeout=5)
            assert r["ok"] or r["error"]["code"] in ("not_found", "unavailable")
            upstream = upstream_sim(up_port, "mat-khau-thu")
            assert wait_for(lambda: office.status.get("hub", {}).get("state") == "ok", 90)
    finally:
        kiosk.stop_event.set()
        kiosk.join(10)
        code = office.stop()
        upstream.kill()
        upstream.wait()
    assert code == 0, office.log_text()[-3000:]
    db = sqlite3.connect(tmp_path / "data" / "engine" / "engine.db")
    rows = dict(db.execute("SELECT ticket_id, number FROM tickets").fetchall())
    numbers = list(rows.values())
    assert len(numbers) == len(set(numbers)), "a number was handed out twice"
    for tk in kiosk.acked.values():  # nothing acknowledged was lost
        assert rows.get(tk["ticket_id"]) == tk["number"]
    assert len(kiosk.acked) > 15 and len(rows) >= len(kiosk.acked)
