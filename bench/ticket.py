"""Ticket path benchmark: bytes per ticket and render time (58/80 mm), and touch to first
byte at the (virtual) printer through the real broker, engine, kiosk and printer daemon.

    .venv/bin/python bench/ticket.py [--taps N]

Prints one JSON object on its last line. Targets: <= 12 KB for an 80 mm Vietnamese ticket
with its QR code; touch to first byte p99 < 150 ms on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from printer.layout import TicketInfo, build_ticket, number_raster, service_places, text_raster  # noqa: E402


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))]


def bench_render(n: int = 300) -> dict:
    from zoneinfo import ZoneInfo
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    out: dict = {}
    base = datetime(2026, 11, 21, 8, 0, tzinfo=tz)
    for mm in (58, 80):
        for native in (True, False):
            times, cold, sizes = [], [], []
            for i in range(n):
                info = TicketInfo(office_name="Bộ phận Một cửa UBND phường Bến Nghé", number=str(2001 + i),
                                  service_name="Chứng thực - Hộ tịch", issued_at=base + timedelta(seconds=37 * i),
                                  qr_data=f"https://motcua.example.vn/ve/20261121-HT-{i:04d}",
                                  counters=("Quầy 1", "Quầy 2"), waiting_ahead=i % 40,
                                  estimated_wait_s=60 * (i % 90), priority="elderly" if i % 7 == 0 else "none",
                                  footer="Xin cảm ơn quý khách!")
                t = time.perf_counter()
                data = build_ticket(info, mm, native)
                times.append((time.perf_counter() - t) * 1000)
                sizes.append(len(data))
                if i < 50:  # the same ticket with every raster cache emptied first
                    text_raster.cache_clear()
                    number_raster.cache_clear()
                    t = time.perf_counter()
                    build_ticket(info, mm, native)
                    cold.append((time.perf_counter() - t) * 1000)
            key = f"{mm}mm_{'native_qr' if native else 'raster_qr'}"
            out[f"bytes_{key}_max"] = max(sizes)
            out[f"bytes_{key}_mean"] = round(statistics.mean(sizes))
            out[f"render_ms_{key}_uncached_p50"] = round(pct(cold, 50), 2)
            out[f"render_ms_{key}_p50"] = round(pct(times, 50), 3)
            out[f"render_ms_{key}_p99"] = round(pct(times, 99), 3)
    return out


def bench_touch(taps: int) -> dict:
    import pygame

    from edge.bus import wait_until
    from harness import TestOffice
    from kiosk.ticket.app import TicketKiosk
    from kiosk.ticket.controller import Screen
    from printer.daemon import PrinterDaemon

    tmp = Path(tempfile.mkdtemp(prefix="bench-ticket-"))
    office = TestOffice(tmp / "data").start()
    try:
        office.start_engine()
        pdev = office.cfg.device("printer-1")
        printer = PrinterDaemon(office.ctx("printer-1", "printer", device=pdev))
        firsts: list[float] = []
        done = threading.Event()

        def first_byte(job_id: str, t: float) -> None:
            firsts.append(t)
            done.set()

        printer.backend.on_first_byte = first_byte
        printer.start()
        kdev = office.cfg.device("kiosk-1").model_copy(update={"width": 720, "height": 1280, "ask_priority": False})
        kiosk = TicketKiosk(office.ctx("kiosk-1", "kiosk", device=kdev))
        kiosk.start()
        assert wait_until(lambda: kiosk.ctrl.engine_online and kiosk.ctrl.printer.get("state") == "ok", 10)
        lat: list[float] = []
        w, h = kiosk.loop.size
        for i in range(taps + 5):
            assert wait_until(lambda: kiosk.ctrl.view.screen == Screen.HOME and not kiosk.loop._dirty, 10)
            time.sleep(0.02)
            code = ("HT", "DD")[i % 2]
            b = next(b for b in kiosk.buttons if b.value == ("service", code))
            x, y = b.rect.center
            ev = dict(touch_id=1, finger_id=1, x=x / w, y=y / h, dx=0.0, dy=0.0, pressure=1.0)
            done.clear()
            n0 = len(firsts)
            pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, **ev))
            t0 = time.monotonic()
            pygame.event.post(pygame.event.Event(pygame.FINGERUP, **ev))
            assert done.wait(10), "no byte reached the printer"
            if i >= 5:  # warm-up taps are not counted
                lat.append((firsts[n0] - t0) * 1000)
            assert wait_until(lambda: kiosk.ctrl.view.printed, 10)
            kiosk.loop.call_soon(kiosk.ctrl.home)
        kiosk.stop()
        printer.stop()
        return {"touch_to_first_byte_ms_p50": round(pct(lat, 50), 1),
                "touch_to_first_byte_ms_p99": round(pct(lat, 99), 1),
                "touch_to_first_byte_ms_max": round(max(lat), 1), "taps": len(lat),
                "cpus": os.cpu_count()}
    finally:
        office.close()


def bench_province() -> dict:
    """The longest ticket of the provincial example: long names, zone, floor and counter range."""
    from edge.config import load
    cfg = load(ROOT / "config" / "examples" / "province.toml")
    out: dict = {}
    for svc in cfg.services:
        info = TicketInfo(office_name=cfg.office.name, number=svc.format_number(888), service_name=svc.name,
                          issued_at=datetime(2026, 11, 23, 8, 0, tzinfo=cfg.office.tz),
                          qr_data=(cfg.office.tracking_url or "{ticket_id}").replace("{ticket_id}", f"20261123-{svc.code}-0888"),
                          counters=service_places(cfg, svc.code), waiting_ahead=38, estimated_wait_s=5400,
                          priority="other", priority_name=cfg.priority_name("other"), footer=cfg.office.footer)
        for mm in (80, 58):
            key = f"bytes_{mm}mm_province_native_qr_max"
            out[key] = max(out.get(key, 0), len(build_ticket(info, mm, True)))
        out["bytes_number_raster_max"] = max(out.get("bytes_number_raster_max", 0),
                                             len(number_raster(svc.format_number(888), 576)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--taps", type=int, default=100)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    res = bench_render()
    res.update(bench_province())
    res.update(bench_touch(args.taps))
    res["target_bytes_80mm_ok"] = res["bytes_80mm_native_qr_max"] <= 12 * 1024
    res["target_touch_p99_ok"] = res["touch_to_first_byte_ms_p99"] < 150
    print(json.dumps(res))


if __name__ == "__main__":
    main()
