"""What hostile input costs after issue 11, and what the new checks cost on good input.

- huge_name_redraw_ms: one full redraw of the TV board (1920x1080, SDL dummy) whose retained
                       queue state holds a 57,000-character service name, a notice and a
                       clerk name as long (before the text caps this froze the board for minutes)
- normal_redraw_ms:    the same redraw with the ordinary scene, for comparison
- clean_text_us:       edge.limits.clean_text on a 57,000-character string (bounded first)
- decode_64k_us:       edge.protocol.decode_json of a 60 KB request without surrogate escapes
- decode_64k_escapes_us: the same with 2,000 valid surrogate-pair escapes (the walk runs)
- issue_round_trip_ms: median ticket issue through the real broker and engine with the
                       requester check and per-kiosk rate limit (kiosk account, within its rate)

Prints one JSON object on its last line.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import display_scene as S  # noqa: E402
from display.daemon import create  # noqa: E402
from edge import protocol as P  # noqa: E402
from edge.bus import wait_until  # noqa: E402
from edge.clock import ManualClock  # noqa: E402
from edge.limits import clean_text  # noqa: E402
from harness import TestOffice  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HUGE = "Chung thuc ho tich " * 3000


def timed(fn, n: int) -> float:
    """Median seconds of `n` calls."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def redraw_ms(office: TestOffice, huge: bool) -> float:
    admin = office.client("admin")
    S.publish_scene(admin, office.topics, notice=HUGE if huge else S.NOTICE)
    if huge:
        q = S.queue_state()
        q["services"][0]["name"] = HUGE
        admin.publish(office.topics.queue_state, q, retain=True)
        admin.publish(office.topics.counter_state(1), S.counter_state(1, "open", HUGE, "1023", "DD"), retain=True)
    dev = office.cfg.device("display-1").model_copy(update={"fullscreen": False, "width": 1920, "height": 1080})
    board = create(office.ctx("display-1", "display", clock=ManualClock(TZ, datetime(2026, 11, 23, 9, 42, tzinfo=TZ)),
                              device=dev))
    board.start()
    try:
        assert board.ready.wait(30)
        assert wait_until(lambda: board.state.snapshot().has_queue_state, 30)
        return 1000 * board.run_on_ui(lambda: timed(lambda: board._draw(board.loop.surface), 5))
    finally:
        board.stop()


def main() -> None:
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        office = TestOffice(Path(tmp) / "a", ROOT / "config" / "examples" / "ward.toml").start()
        try:
            result["huge_name_redraw_ms"] = round(redraw_ms(office, True), 1)
        finally:
            office.close()
        office = TestOffice(Path(tmp) / "b", ROOT / "config" / "examples" / "ward.toml").start()
        try:
            result["normal_redraw_ms"] = round(redraw_ms(office, False), 1)
        finally:
            office.close()
        result["clean_text_us"] = round(1e6 * timed(lambda: clean_text(HUGE, 400), 50), 1)
        body = json.dumps({"id": "b-1", "reply_to": "motcua/v1/X/reply/k", "comment": "x" * 60000}).encode()
        result["decode_64k_us"] = round(1e6 * timed(lambda: P.decode_json(body), 50), 1)
        pairs = json.dumps({"id": "b-2", "reply_to": "motcua/v1/X/reply/k",
                            "comment": "\U0001F600" * 2000 + "x" * 40000}).encode()  # ensure_ascii: \\ud83d\\ude00
        result["decode_64k_escapes_us"] = round(1e6 * timed(lambda: P.decode_json(pairs), 50), 1)
        office = TestOffice(Path(tmp) / "c").start()
        try:
            office.start_engine()
            kiosk = office.client("kiosk-1", kind="kiosk")
            t = office.topics

            def issue() -> None:
                assert kiosk.request(t.ticket_issue, {"service": "HT", "source": "kiosk-1"}, timeout=5)["ok"]
            issue()
            result["issue_round_trip_ms"] = round(1000 * timed(issue, 8), 2)  # within the kiosk's burst
        finally:
            office.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
