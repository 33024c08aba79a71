"""RAM of a whole office on one box: RSS and PSS of every daemon `motcua run --simulate` starts.

RSS counts shared libraries in every process that maps them; PSS divides each shared page
among its users, so the PSS total is what the box really spends. Figures are sampled after
the office has run for a while (screens drawn, tickets printed), the peak of a few samples.

    .venv/bin/python bench/footprint.py [CONFIG] [--settle 40] [--samples 5]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def children_of(pid: int) -> list[int]:
    out: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry))
    return out


def name_of(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    if "--device" in words:
        return words[words.index("--device") + 1]
    if "edge.cli" in words:
        return words[words.index("edge.cli") + 1]
    return Path(words[0]).name if words else "?"


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB from smaps_rollup."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config", nargs="?", default=str(ROOT / "config/examples/ward.toml"))
    ap.add_argument("--settle", type=float, default=40, help="seconds before the first sample")
    ap.add_argument("--samples", type=int, default=5)
    args = ap.parse_args()
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    with tempfile.TemporaryDirectory() as data:
        proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "run", args.config, "--simulate", "--no-view",
                                 "--data", data, "--duration", str(args.settle + args.samples * 2 + 30)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        peak: dict[str, tuple[int, int]] = {}
        try:
            time.sleep(args.settle)
            for _ in range(args.samples):
                for pid in children_of(proc.pid) + [proc.pid]:
                    name = "supervisor" if pid == proc.pid else name_of(pid)
                    rss, pss = memory_kb(pid)
                    old = peak.get(f"{name}:{pid}", (0, 0))
                    peak[f"{name}:{pid}"] = (max(old[0], rss), max(old[1], pss))
                time.sleep(2)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    per: dict[str, dict[str, float]] = {}
    for key, (rss, pss) in sorted(peak.items()):
        name = key.rsplit(":", 1)[0]
        per[name] = {"rss_mb": round(rss / 1024, 1), "pss_mb": round(pss / 1024, 1)}
        print(f"{name:<16} RSS {rss / 1024:7.1f} MB   PSS {pss / 1024:7.1f} MB", file=sys.stderr)
    total_rss = round(sum(v["rss_mb"] for v in per.values()), 1)
    total_pss = round(sum(v["pss_mb"] for v in per.values()), 1)
    headless = [v["pss_mb"] for k, v in per.items() if k.split("-")[0] in ("led", "keypad", "scanner", "printer", "voice")]
    print(json.dumps({"config": Path(args.config).name, "processes": len(per), "total_rss_mb": total_rss,
                      "total_pss_mb": total_pss, "max_headless_device_pss_mb": max(headless) if headless else None,
                      "daemons": per}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
