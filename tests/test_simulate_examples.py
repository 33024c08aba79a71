"""`motcua run --simulate` on a production example: the same file, every device on its virtual
backend and the hub on the upstream simulator, made at load time by --simulate (not by the file)."""
from __future__ import annotations

from pathlib import Path

from edge.config import load
from office_run import RunningOffice, wait_for

ROOT = Path(__file__).resolve().parents[1]
WARD = ROOT / "config" / "examples" / "ward.toml"
ONLY = "engine,hub,simulator,printer-1,kiosk-1,scanner-1,led-1,led-2,keypad-1,voice-1"


def test_production_ward_runs_simulated(tmp_path: Path) -> None:
    real = load(WARD)
    assert real.device("printer-1").backend == "usb" and real.hub.adapter == "rest"
    office = RunningOffice(WARD, tmp_path / "data", "2026-11-23T08:00x30", ["--only", ONLY])
    try:
        expected = set(ONLY.split(","))
        assert office.wait_online(expected, 120), (
            f"offline: {sorted(expected - office.online())}\n{office.log_text()[-3000:]}")
        assert wait_for(lambda: any(a == "called" for a, _ in office.events), 90), office.log_text()[-3000:]
        assert wait_for(lambda: any((tmp_path / "data").rglob("*.png")), 60), "the virtual printer printed nothing"
        with office.lock:
            status = dict(office.status)
        assert status["hub"]["state"] in ("ok", "warning"), status["hub"]
        assert status["printer-1"]["online"] and status["led-1"]["online"]
    finally:
        code = office.stop()
    assert code == 0
    log = office.log_text()
    assert "0416:5011" not in log  # the USB printer was never looked for
