"""Decode bench: receipts with known truth through each decoder; rate and ms per 1280x720 frame.

Run: .venv/bin/python bench/decode.py [--per-case N]. Prints one JSON object on its last
line: per decoder the decode rate (right text found), wrong reads, mean/p95 ms per frame,
and the rate per condition and symbology. Target: >= 99 % decoded at <= 40 ms a frame.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from decode_frames import empty_frames, frames  # noqa: E402

from scanner.decode import DECODERS, make_decoder  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-case", type=int, default=25, help="frames per (symbology, condition)")
    ap.add_argument("--decoders", default=",".join(DECODERS))
    args = ap.parse_args()
    data = list(frames(args.per_case))
    empty = list(empty_frames())
    result: dict = {"frames": len(data), "frames_no_code": len(empty), "frame_size": "1280x720", "decoders": {}}
    for name in args.decoders.split(","):
        dec = make_decoder(name)
        dec.decode(data[0].image)  # warm up
        times, ok, wrong = [], 0, 0
        per: dict[str, list[int]] = {}
        for f in data:
            t0 = time.perf_counter()
            found = dec.decode(f.image)
            times.append((time.perf_counter() - t0) * 1000)
            hit = any(text == f.truth for text, _ in found)
            wrong += any(text != f.truth for text, _ in found)
            ok += hit
            for key in (f.condition, f.symbology, f"{f.symbology}/{f.condition}"):
                per.setdefault(key, [0, 0])
                per[key][0] += hit
                per[key][1] += 1
        times.sort()
        idle = []
        false_reads = 0
        for img in empty:
            t0 = time.perf_counter()
            false_reads += len(dec.decode(img))
            idle.append((time.perf_counter() - t0) * 1000)
        result["decoders"][name] = {
            "decode_rate": round(ok / len(data), 4),
            "wrong_reads": wrong,
            "ms_mean": round(sum(times) / len(times), 2),
            "ms_p95": round(times[int(len(times) * 0.95) - 1], 2),
            "ms_max": round(times[-1], 2),
            "ms_no_code_mean": round(sum(idle) / len(idle), 2),
            "false_reads_no_code": false_reads,
            "rate_by_case": {k: round(a / b, 3) for k, (a, b) in per.items()},
        }
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
