"""Voice: building the espeak-ng pack, loading it, and assembling one announcement.

What stands between an `event/ticket/called` and `event/voice/started` inside the voice
daemon is composing the announcement (words, clip lookup, joining samples); this measures
it on BENCH_N (default 300) ticket numbers of mixed shapes, with the configured default of
two repetitions. Also the one-off costs: `motcua voice build` and loading a pack.
Prints one JSON object on its last line.
"""
from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from display.voice.announce import Call, render, script  # noqa: E402
from display.voice.pack import VoicePack, build_pack  # noqa: E402

N = int(os.environ.get("BENCH_N", "300"))


def numbers(n: int) -> list[str]:
    rnd = random.Random(7)
    shapes = [lambda: str(rnd.randint(1001, 9999)), lambda: f"A{rnd.randint(1, 999):03d}",
              lambda: f"K{rnd.randint(1, 99):02d}", lambda: str(rnd.randint(1, 120))]
    return [rnd.choice(shapes)() for _ in range(n)]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="motcua-bench-voice-") as tmp:
        t = time.perf_counter()
        build_pack(Path(tmp) / "pack")
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        pack = VoicePack.load(Path(tmp) / "pack")
        load_ms = (time.perf_counter() - t) * 1000
    times, durations = [], []
    for i, number in enumerate(numbers(N)):
        call = Call(number, 1 + i % 12)
        t = time.perf_counter()
        ann = render(pack, script(call), 2, call)
        times.append((time.perf_counter() - t) * 1000)
        durations.append(ann.duration_s)
    times.sort()
    result = {
        "bench": "voice_compose", "n": N, "pack_clips": len(pack.clips),
        "pack_build_s": round(build_s, 2), "pack_load_ms": round(load_ms, 1),
        "compose_ms_p50": round(statistics.median(times), 3),
        "compose_ms_p99": round(times[int(len(times) * 0.99) - 1], 3),
        "compose_ms_max": round(times[-1], 3),
        "announcement_s_p50": round(statistics.median(durations), 2),
        "announcement_s_max": round(max(durations), 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
