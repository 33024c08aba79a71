"""Booking redemption latency over MQTT (the kiosk's wait between scan and ticket), and the cost
of turning an ID card's QR into its token in the scanner.

A hub with its upstream simulator runs in this process on a real mosquitto; N bookings for
today are synced, then a client redeems each once (appointment/redeem) and once more (the
refusal), measuring request -> reply. Target: p99 under 20 ms. Prints one JSON object on
its last line.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from edge.bus import wait_until  # noqa: E402
from harness import TestOffice, copy_config  # noqa: E402
from hub.daemon import HubDaemon  # noqa: E402
from kiosk.ticket.cccd import card_token  # noqa: E402

N = int(os.environ.get("BENCH_N", "500"))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return round(values[k] * 1000, 3)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-booking-"))
    cfg = copy_config(tmp, replace={"simulator_dossiers = 200": "simulator_dossiers = 20\nappointments = true\n"
                                    "sync_interval_s = 3600\npage_size = 200"})
    office = TestOffice(tmp / "data", cfg).start()
    hub = HubDaemon(office.ctx("hub", "hub"))
    up = hub.simulator.upstream
    now = hub.ctx.clock.now()
    slots = [now + timedelta(minutes=i % 120) for i in range(N)]
    codes = [up.add_appointment(s if s.date() == now.date() else now)["MaLichHen"] for s in slots]
    t0 = time.perf_counter()
    hub.start()
    try:
        assert wait_until(lambda: hub.appointments.runs >= 1, 60), "booking sync did not finish"
        sync_s = time.perf_counter() - t0
        client = office.client("admin")
        t = office.topics
        first, again = [], []
        for code in codes:
            t1 = time.perf_counter()
            r = client.request(t.appointment_redeem, {"code": code}, timeout=5)
            first.append(time.perf_counter() - t1)
            assert r["ok"] and not r["walk_in"], r
        for code in codes[:100]:
            t1 = time.perf_counter()
            r = client.request(t.appointment_redeem, {"code": code}, timeout=5)
            again.append(time.perf_counter() - t1)
            assert not r["ok"], r
        card = "079055001234|023456789|Nguyễn Văn Hùng|12031955|Nam|123 Lê Lợi, Phường Bến Thành|15062021"
        t1 = time.perf_counter()
        for _ in range(10000):
            card_token(card, b"k" * 32, date(2026, 12, 2))
        token_us = (time.perf_counter() - t1) / 10000 * 1e6
        print(json.dumps({"bench": "booking_redeem", "bookings": N, "sync_s": round(sync_s, 2),
                          "redeem_p50_ms": pct(first, 50), "redeem_p99_ms": pct(first, 99),
                          "refusal_p50_ms": pct(again, 50), "refusal_p99_ms": pct(again, 99),
                          "card_token_us": round(token_us, 1), "target_p99_ms": 20,
                          "ok": pct(first, 99) < 20}))
    finally:
        hub.stop()
        office.close()


if __name__ == "__main__":
    main()
