"""CPU per camera stream at 1280x720, 5 fps: decode, presence analysis, JPEG pre-roll ring.

Two figures: the CPU cost of one frame through the daemon's pipeline (OpenCV reading an
MJPG file, so decoding is counted), and the process CPU share of a counter-camera daemon
running in real time at 5 fps against a real mosquitto for `SECONDS`. Prints one JSON
object on its last line.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from harness import TestOffice  # noqa: E402

from edge.clock import ManualClock  # noqa: E402
from scanner.camera.daemon import CameraDaemon  # noqa: E402
from scanner.camera.synth import Scene  # noqa: E402

W, H, FPS = 1280, 720, 5
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))


def write_video(path: Path, frames: int = 60) -> None:
    scene = Scene("desk", W, H, seed=3, people=1, light_drift=10)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (W, H))
    for _ in range(frames):
        out.write(scene.frame())
    out.release()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "desk.avi"
        write_video(video)
        office = TestOffice(Path(tmp) / "data").start()
        try:
            clock = ManualClock(office.cfg.office.tz, datetime(2026, 11, 23, 9, 0))
            dev = office.cfg.device("camera-1").model_copy(update={
                "backend": "opencv", "source": str(video), "fps": FPS, "width": W, "height": H})
            cam = CameraDaemon(office.ctx("camera-1", "camera", clock=clock, device=dev))
            cam.counter_open = True
            # 1) pipeline cost per frame, tight loop
            cam.source.open()
            cam.bus.start(wait=10)
            for _ in range(10):
                cam.process(cam.source.read())
            n = 100
            c0 = time.process_time()
            for _ in range(n):
                cam.process(cam.source.read())
            per_frame_ms = (time.process_time() - c0) / n * 1000
            cam.source.close()
            cam.bus.stop()
            # 2) the daemon in real time
            cam = CameraDaemon(office.ctx("camera-1", "camera", clock=clock, device=dev))
            cam.start()
            time.sleep(2)
            c0, t0 = time.process_time(), time.monotonic()
            time.sleep(SECONDS)
            cpu = time.process_time() - c0
            wall = time.monotonic() - t0
            cam.stop()
        finally:
            office.close()
    cores = os.cpu_count() or 1
    realtime_pct = 100 * cpu / wall
    print(json.dumps({
        "resolution": f"{W}x{H}", "fps": FPS, "cores": cores,
        "pipeline_ms_per_frame": round(per_frame_ms, 2),
        "pipeline_cpu_pct_of_one_core": round(per_frame_ms * FPS / 10, 1),
        "daemon_cpu_pct_of_one_core_realtime": round(realtime_pct, 1),
        "streams_per_machine_at_70pct": int(0.7 * cores * 100 // max(realtime_pct, 0.1)),
        "seconds": SECONDS,
    }))


if __name__ == "__main__":
    main()
