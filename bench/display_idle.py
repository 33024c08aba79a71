"""Waiting-room board CPU: idle, with a scrolling notice, while a call blinks; and redraw cost.

The board runs in this process (SDL dummy video, 1920x1080) against a real mosquitto with
the ward example office and a realistic retained state. CPU is this process's CPU time
(all threads: pygame, MQTT, bus worker) over a fixed real-time window, as a percentage of
one core. Phases (BENCH_S seconds each, default 10):

- idle_cpu_pct:     short notice (stands still), no calls: only the minute tick and the
                    connection check wake the UI thread
- ticker_cpu_pct:   a notice too long for the screen, scrolling at the configured fps
- blink_cpu_pct:    a call every highlight_s seconds (the hero blinks the whole time),
                    short notice
- call_to_frame_ms: a `called` event published by a client -> the board has redrawn with it
                    (30 calls; includes the broker hop and the full redraw)
- full_redraw_ms:   median time of one full-screen redraw (state changes do this)

Prints one JSON object on its last line.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import display_scene as S  # noqa: E402
from display.daemon import create  # noqa: E402
from edge.bus import wait_until  # noqa: E402
from harness import TestOffice  # noqa: E402

PHASE_S = float(os.environ.get("BENCH_S", "10"))
WARD = ROOT / "config" / "examples" / "ward.toml"


def cpu_over(seconds: float, during=None) -> float:
    """CPU percent of one core used by this process over `seconds` of real time."""
    c0, t0 = time.process_time(), time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        if during is not None:
            during()
        time.sleep(min(0.5, max(0.0, end - time.monotonic())))
    return 100.0 * (time.process_time() - c0) / (time.monotonic() - t0)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="motcua-bench-display-") as tmp:
        office = TestOffice(Path(tmp) / "data", WARD).start()
        try:
            admin = office.client("admin")
            S.publish_scene(admin, office.topics, notice="Nghỉ trưa từ 11:30 đến 13:30.")
            # screenshot_s=0: a real TV keeps no pictures; the dummy driver would otherwise save some
            dev = office.cfg.device("display-1").model_copy(update={"fullscreen": False, "screenshot_s": 0})
            board = create(office.ctx("display-1", "display", device=dev))
            board.start()
            assert board.ready.wait(20)
            assert wait_until(lambda: board.state.snapshot().has_queue_state and board.bus.connected.is_set(), 20)
            time.sleep(1.0)  # let the first full redraws settle

            r0, p0 = board.loop.redraws, board.partial_updates
            idle = cpu_over(PHASE_S)
            idle_wakeups = (board.loop.redraws - r0, board.partial_updates - p0)

            admin.publish(office.topics.display_notice, {"text": S.NOTICE, "until": None}, retain=True)
            assert wait_until(lambda: board.state.snapshot().notice == S.NOTICE, 10)
            time.sleep(0.5)
            p0 = board.partial_updates
            ticker = cpu_over(PHASE_S)
            ticker_steps = board.partial_updates - p0

            admin.publish(office.topics.display_notice, {"text": "Xin cảm ơn.", "until": None}, retain=True)
            assert wait_until(lambda: board.state.snapshot().notice == "Xin cảm ơn.", 10)
            time.sleep(0.5)
            calls = iter(range(2001, 2999))
            last = [0.0]

            def call_now() -> None:
                if time.monotonic() - last[0] >= dev.highlight_s:
                    last[0] = time.monotonic()
                    admin.publish(office.topics.ticket_event("called"), S.called(str(next(calls)), "HT", 2))
            blink = cpu_over(PHASE_S, call_now)

            # A call event published -> the board has redrawn with it (flip done).
            frame_ms = []
            for i in range(30):
                number = str(3001 + i)
                r0 = board.loop.redraws
                t0 = time.perf_counter()
                admin.publish(office.topics.ticket_event("called"), S.called(number, "LD", 4))
                assert wait_until(lambda: board.loop.redraws > r0
                                  and getattr(board.state.snapshot().latest, "number", None) == number, 10, 0.0005)
                frame_ms.append((time.perf_counter() - t0) * 1000)
                time.sleep(0.05)

            def redraw_ms() -> float:
                t = time.perf_counter()
                board._draw(board.loop.surface)
                return (time.perf_counter() - t) * 1000
            samples = [board.run_on_ui(redraw_ms) for _ in range(30)]
            board.stop()
        finally:
            office.close()
    result = {
        "bench": "display_idle", "screen": "1920x1080", "phase_s": PHASE_S,
        "idle_cpu_pct": round(idle, 2), "idle_full_redraws": idle_wakeups[0],
        "idle_partial_updates": idle_wakeups[1],
        "ticker_cpu_pct": round(ticker, 2), "ticker_fps": dev.scroll_fps,
        "ticker_steps_per_s": round(ticker_steps / PHASE_S, 1),
        "blink_cpu_pct": round(blink, 2),
        "call_to_frame_ms_p50": round(statistics.median(frame_ms), 2),
        "call_to_frame_ms_max": round(max(frame_ms), 2),
        "full_redraw_ms": round(statistics.median(samples), 2),
        "full_redraw_ms_max": round(max(samples), 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
