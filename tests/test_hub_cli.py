"""`motcua upstream-sim` and `motcua hub` as the processes systemd would run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import TestOffice

from edge.broker import free_port
from edge.bus import RequestTimeout, wait_until
from hub.upstream import RestAdapter

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), MOTCUA_LOG="WARNING")


def test_upstream_sim_command_serves_the_contract() -> None:
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "edge.cli", "upstream-sim", "--port", str(port), "--dossiers", "30",
                          "--password", "s3cret"], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert "30 dossiers" in p.stdout.readline()
        a = RestAdapter(f"http://127.0.0.1:{port}", username="hub", password="s3cret", madonvi="H56", timeout=5)
        page = a.changed_since("00000000000000", 1, 100)
        assert page.total == 30 and len(page.records) == 30
        assert a.fetch(page.records[0]["MaHoSo"])["MaHoSo"] == page.records[0]["MaHoSo"]
    finally:
        p.send_signal(signal.SIGINT)
        assert p.wait(10) == 0


def test_hub_command_answers_and_stops_cleanly(office: TestOffice) -> None:
    p = subprocess.Popen([sys.executable, "-m", "edge.cli", "hub", str(office.config_path), "--data", str(office.data),
                          "--broker", f"mqtt://hub:{office.creds['hub']}@127.0.0.1:{office.port}"], env=ENV)
    try:
        client = office.client("admin")
        seen: list[dict[str, Any]] = []
        client.subscribe(office.topics.device_status("hub"), lambda t, b: seen.append(json.loads(b)))

        def status() -> dict[str, Any] | None:
            try:
                return client.request(office.topics.hub_admin, {"action": "status"}, timeout=1, retries=0)
            except RequestTimeout:
                return None
        assert wait_until(lambda: (status() or {}).get("dossiers") == 200, 30)
        rep = client.request(office.topics.dossier_lookup, {"code": "TEST.01.H99-200101-0001"}, timeout=5)
        assert rep["ok"] is False and rep["error"]["code"] == "not_found"
        assert wait_until(lambda: seen and seen[-1].get("state") == "ok", 5)
        p.send_signal(signal.SIGTERM)
        assert p.wait(15) == 0
        assert wait_until(lambda: seen[-1].get("online") is False, 5)
        assert (office.data / "hub" / "hub.sqlite").exists()
    finally:
        if p.poll() is None:
            p.kill()
