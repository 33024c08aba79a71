"""CPU and RAM of continuous recording (one 1080p main stream, copied) and of the camera monitor.

Recorder: a 1920x1080 25 fps H.264 stream (~4 Mbit/s) arrives as MPEG-TS over UDP on
loopback (an ffmpeg sender looping a generated file with `-c copy`, i.e. what a camera's
stream costs to receive, without an encoder in the measurement); the project's Recorder
runs its ffmpeg child writing 10 s segments. Measured: the ffmpeg child's CPU (from
/proc) and resident memory, and the Python side's CPU (the recorder thread, probing and
indexing each segment).

Monitor: the `cameras` display (SDL dummy, 1920x1080, monitor_fps 5) showing 4 and then
9 sub-streams, each a 640x360 15 fps H.264 file read at its own pace (OpenCV/FFmpeg
decoding every frame, as from a camera); each size runs in its own process against a
real mosquitto. Measured: the whole process's CPU and resident memory.

`BENCH_SECONDS` (default 15) per measurement. Prints one JSON object on its last line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
TICK = os.sysconf("SC_CLK_TCK")


def encode(path: Path, size: str, fps: int, seconds: int, bitrate: str) -> Path:
    if not path.exists():
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size={size}:rate={fps}", "-t", str(seconds), "-c:v", "libx264",
                        "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(fps), "-b:v", bitrate,
                        "-pix_fmt", "yuv420p", str(path)], check=True, timeout=600)
    return path


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def bench_recorder(tmp: Path) -> dict:
    from edge.broker import free_port
    from scanner.camera.recorder import Recorder

    src = encode(tmp / "main-1080p.mp4", "1920x1080", 25, 10, "4M")
    port = free_port()
    sender = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
                               "-i", str(src), "-c", "copy", "-f", "mpegts",
                               f"udp://127.0.0.1:{port}?pkt_size=1316"], stdin=subprocess.DEVNULL)
    rec = Recorder("bench", f"udp://127.0.0.1:{port}?fifo_size=1000000&overrun_nonfatal=1", tmp / "rec",
                   segment_s=10, budget_bytes=10**10, retention_s=86400)
    try:
        rec.start()
        deadline = time.monotonic() + 30
        while rec.proc is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3)  # past connecting
        assert rec.proc is not None, "recorder ffmpeg did not start"
        pid = rec.proc.pid
        c0, p0, t0 = proc_cpu_s(pid), time.process_time(), time.monotonic()
        time.sleep(SECONDS)
        c1, p1, t1 = proc_cpu_s(pid), time.process_time(), time.monotonic()
        rss = rss_mb(pid)
        wall = t1 - t0
    finally:
        rec.stop()
        sender.terminate()
        sender.wait(timeout=10)
    files = sorted((tmp / "rec").glob("*/*.ts"))
    mbit = sum(f.stat().st_size for f in files) * 8 / 1e6 / max(1.0, wall + 3)
    return {"recorder_stream": "1920x1080 25fps H.264 ~4 Mbit/s, copy, 10 s segments",
            "recorder_ffmpeg_cpu_pct_of_one_core": round(100 * (c1 - c0) / wall, 1),
            "recorder_ffmpeg_rss_mb": rss,
            "recorder_python_cpu_pct_of_one_core": round(100 * (p1 - p0) / wall, 2),
            "recorder_segments": len(files), "recorder_mbit_s_written": round(mbit, 2)}


def bench_monitor(n: int) -> dict:
    """Run in a child process: the monitor with n sub-streams (argv: monitor N TMP)."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from harness import TestOffice, copy_config

    from display.cameras import CameraMonitorDaemon

    tmp = Path(sys.argv[3])
    sub = encode(tmp / "sub-360p.mp4", "640x360", 15, 20, "600k")
    cams = "".join(f'\n[[devices]]\nid = "bcam-{i}"\nkind = "camera"\narea = "Khu {i}"\nsub_stream = "{sub}"\n'
                   for i in range(n))
    cams += ('\n[[devices]]\nid = "monitor-1"\nkind = "display"\nmode = "cameras"\nfullscreen = false\n'
             'width = 1920\nheight = 1080\nmonitor_fps = 5\n')
    folder = tmp / f"mon{n}"
    folder.mkdir(exist_ok=True)
    path = copy_config(folder)
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition("[hub]")
    path.write_text(head + cams + "\n" + sep + rest, encoding="utf-8")
    office = TestOffice(folder / "data", path).start()
    mon = None
    try:
        mon = CameraMonitorDaemon(office.ctx("monitor-1", "display"))
        mon.start()
        deadline = time.monotonic() + 30
        while not all(f.state == "live" for f in mon.feeds.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)
        frames0 = sum(f.decoded for f in mon.feeds.values())
        draws0 = mon.screen_seq
        p0, t0 = time.process_time(), time.monotonic()
        time.sleep(SECONDS)
        p1, t1 = time.process_time(), time.monotonic()
        frames = sum(f.decoded for f in mon.feeds.values()) - frames0
        draws = mon.screen_seq - draws0
        rss = rss_mb(os.getpid())
    finally:
        if mon is not None:
            mon.stop()
        office.close()
    wall = t1 - t0
    return {f"monitor_{n}_cpu_pct_of_one_core": round(100 * (p1 - p0) / wall, 1),
            f"monitor_{n}_rss_mb": rss,
            f"monitor_{n}_decoded_fps": round(frames / wall, 1),
            f"monitor_{n}_repaints_per_s": round(draws / wall, 1)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "monitor":
        print(json.dumps(bench_monitor(int(sys.argv[2]))))
        return
    result: dict = {"bench": "recorder", "cores": os.cpu_count(), "seconds": SECONDS}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        result.update(bench_recorder(tmp))
        for n in (4, 9):
            out = subprocess.run([sys.executable, __file__, "monitor", str(n), str(tmp)], capture_output=True,
                                 text=True, timeout=300)
            if out.returncode != 0:
                raise SystemExit(f"monitor bench {n} failed: {out.stderr[-2000:]}")
            result.update(json.loads(out.stdout.strip().splitlines()[-1]))
    result["monitor_substream"] = "640x360 15fps H.264, decoded by OpenCV/FFmpeg, 1920x1080 screen"
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
