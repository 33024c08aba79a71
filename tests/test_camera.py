"""Cameras: presence and occupancy on generated frames, media budget, the daemon on a real broker."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import pytest

from edge.config.devices import CameraDevice
from edge.bus import wait_until
from edge.clock import ManualClock
from scanner.camera.daemon import CameraDaemon
from scanner.camera.media import MediaStore
from scanner.camera.sources import VirtualSource
from scanner.camera.synth import Scene
from scanner.presence import AbsenceMonitor, OccupancyEstimator, PresenceDetector, ReferenceModel, small_gray

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROI = (0.2, 0.15, 0.6, 0.6)


def calibrated_detector(scene: Scene) -> PresenceDetector:
    det = PresenceDetector(ROI, ReferenceModel())
    for _ in range(10):
        det.observe(small_gray(scene.frame()), learn=True)
    return det


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("drift", [0.0, 20.0])
def test_presence_someone_at_desk_and_empty_desk(seed: int, drift: float) -> None:
    scene = Scene("desk", 640, 360, seed=seed, light_drift=drift)
    det = calibrated_detector(scene)
    empty = [det.observe(small_gray(scene.frame())) for _ in range(60)]
    assert not any(r.present for r in empty)
    scene.people = 1
    seated = [det.observe(small_gray(scene.frame())) for _ in range(200)]
    assert all(r.present for r in seated[3:])  # a still clerk stays present (no absorption)
    scene.people = 0
    left = [det.observe(small_gray(scene.frame())) for _ in range(20)]
    assert not any(r.present for r in left[3:])


def test_background_subtractor_absorbs_a_still_clerk() -> None:
    """Why presence does not use MOG2: a seated clerk fades into its background."""
    scene = Scene("desk", 640, 360, seed=2)
    mog = cv2.createBackgroundSubtractorMOG2(history=100, detectShadows=False)
    for _ in range(30):
        mog.apply(small_gray(scene.frame()))
    scene.people = 1
    first = (mog.apply(small_gray(scene.frame())) > 0).mean()
    for _ in range(300):
        last = (mog.apply(small_gray(scene.frame())) > 0).mean()
    assert first > 0.05 and last < first / 5


def test_uncalibrated_detector_uses_motion_only() -> None:
    scene = Scene("desk", 640, 360, seed=1)
    det = PresenceDetector(ROI, ReferenceModel())
    det.observe(small_gray(scene.frame()))
    scene.people = 1
    r = det.observe(small_gray(scene.frame()))
    assert not r.calibrated and r.motion > 0.05


def test_absence_monitor_warns_once_and_reports_return() -> None:
    t0 = datetime(2026, 11, 23, 8, 0, tzinfo=TZ)
    mon = AbsenceMonitor(300)
    assert mon.update(t0, True, True) is None
    assert mon.update(t0 + timedelta(seconds=10), True, False) is None
    assert mon.update(t0 + timedelta(seconds=309), True, False) is None
    assert mon.update(t0 + timedelta(seconds=310), True, False) == ("absent", 300.0)
    assert mon.update(t0 + timedelta(seconds=400), True, False) is None  # once
    assert mon.update(t0 + timedelta(seconds=420), True, True) == ("present", 410.0)
    # a closed counter never warns
    assert mon.update(t0 + timedelta(seconds=500), False, False) is None
    assert mon.update(t0 + timedelta(seconds=5000), False, False) is None


@pytest.mark.parametrize("seed", [5, 8])
def test_occupancy_estimate_on_generated_waiting_area(seed: int) -> None:
    scene = Scene("waiting", 640, 360, seed=seed)
    est = OccupancyEstimator(ReferenceModel())
    for _ in range(10):
        est.estimate(small_gray(scene.frame()), learn=True)
    for n in (0, 1, 2, 3, 5, 7, 10, 16, 20):
        scene.people = n
        got = est.estimate(small_gray(scene.frame()))
        assert got is not None and abs(got - n) <= max(1, round(0.15 * n)), (n, got)


def test_occupancy_unknown_before_reference() -> None:
    scene = Scene("waiting", 640, 360, people=4)
    assert OccupancyEstimator(ReferenceModel()).estimate(small_gray(scene.frame())) is None


def test_reference_survives_restart(tmp_path: Path) -> None:
    scene = Scene("desk", 640, 360, seed=1)
    ref = ReferenceModel(tmp_path / "reference.png")
    for _ in range(10):
        ref.learn(small_gray(scene.frame()))
    ref.save()
    again = ReferenceModel(tmp_path / "reference.png")
    assert again.ready
    scene.people = 1
    det = PresenceDetector(ROI, again)
    assert [det.observe(small_gray(scene.frame())).present for _ in range(5)][-1]


def test_media_budget_and_retention(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media", budget_bytes=60_000, retention_days=2)
    t0 = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    jpeg = store.encode(Scene("desk", 320, 180, people=1).frame())
    size = len(jpeg)
    for i in range(4):
        store.snapshot(jpeg, f"20261120-HT-000{i}", "called", t0 + timedelta(minutes=i))
    assert store.used() == 4 * size and store.used() <= 60_000
    n_fit = 60_000 // size
    for i in range(n_fit + 3):
        store.snapshot(jpeg, f"20261120-DD-{i:04d}", "done", t0 + timedelta(hours=1, minutes=i))
    assert store.used() <= 60_000
    names = [f[1] for f in store.files()]
    assert "20261120-HT-0000" not in names  # oldest went first
    assert all((tmp_path / "media" / f[0]).exists() for f in store.files())
    store.snapshot(jpeg, "20261123-HT-0001", "called", t0 + timedelta(days=3))
    assert [f[1] for f in store.files()] == ["20261123-HT-0001"]  # retention
    assert len(list((tmp_path / "media").rglob("*.jpg"))) == 1


# ------------------------------------------------------------------ the daemon on a real broker


class Collector:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    def __call__(self, topic: str, payload: bytes) -> None:
        with self.lock:
            self.items.append((topic, json.loads(payload)))

    def kind(self, suffix: str) -> list[dict]:
        with self.lock:
            return [p for t, p in self.items if t.endswith(suffix)]


@pytest.fixture
def counter_camera(office):
    clock = ManualClock(TZ, datetime(2026, 11, 23, 8, 0))
    dev = office.cfg.device("camera-1").model_copy(update={
        "fps": 20, "width": 320, "height": 180, "clip_pre_s": 0.5, "clip_post_s": 0.5,
        "absent_minutes": 2})
    ctx = office.ctx("camera-1", "camera", clock=clock, device=dev)
    source = VirtualSource(dev, seed=3)
    cam = CameraDaemon(ctx, source=source)
    admin = office.client("admin")
    seen = Collector()
    admin.subscribe(office.topics.event("camera/#"), seen)
    admin.subscribe(office.topics.device_status("camera-1"), seen)
    assert wait_until(lambda: admin.connected.is_set(), 5)
    cam.start()
    yield cam, admin, seen, clock, source
    cam.stop()


def counter_state(office, status: str) -> dict:
    return {"counter": 1, "name": "Quầy 1", "status": status, "staff": "Lan", "services": ["HT"],
            "serving": None, "ts": "2026-11-23T08:00:00+07:00"}


def ticket_event(tid: str, status: str) -> dict:
    return {"ticket": {"ticket_id": tid, "number": "2001", "seq": 1, "service": "HT",
                       "service_name": "Hộ tịch", "day": "2026-11-23", "issued_at": "2026-11-23T07:55:00+07:00",
                       "status": status, "counter": 1}, "counter": 1, "counter_name": "Quầy 1",
            "ts": "2026-11-23T08:01:00+07:00"}


def test_camera_snapshots_clip_and_absence(office, counter_camera) -> None:
    cam, admin, seen, clock, source = counter_camera
    t = office.topics
    admin.publish(t.counter_state(1), counter_state(office, "closed"), retain=True)
    assert wait_until(lambda: cam.reference.ready and cam.presence.reference.samples > 10, 10)
    admin.publish(t.counter_state(1), counter_state(office, "open"), retain=True)
    assert wait_until(lambda: source.scene.people == 1, 5)

    admin.publish(t.ticket_event("called"), ticket_event("20261123-HT-0001", "called"))
    admin.publish(t.ticket_event("done"), ticket_event("20261123-HT-0001", "done"))
    admin.publish(t.ticket_event("called"), {**ticket_event("20261123-HT-0002", "called"), "counter": 2})
    assert wait_until(lambda: len(seen.kind("camera/snapshot")) == 2, 10)
    snaps = seen.kind("camera/snapshot")
    assert {s["trigger"] for s in snaps} == {"called", "done"}
    assert all(s["ticket_id"] == "20261123-HT-0001" for s in snaps)
    img = cv2.imread(str(cam.ctx.state_dir / snaps[0]["path"]))
    assert img.shape == (180, 320, 3)

    rating = {"rating_id": "R-20261123-HT-0001", "ticket_id": "20261123-HT-0001", "number": "2001",
              "day": "2026-11-23", "counter": 1, "service": "HT", "level": "unsatisfied",
              "reasons": ["Chậm"], "submitted_at": "2026-11-23T08:05:00+07:00", "ts": "2026-11-23T08:05:00+07:00"}
    admin.publish(t.rating_event, rating)
    admin.publish(t.rating_event, {**rating, "level": "satisfied", "ticket_id": "x"})
    assert wait_until(lambda: len(seen.kind("camera/clip")) == 1, 10)
    clip = seen.kind("camera/clip")[0]
    assert clip["path"].endswith(".avi") and "20261123-HT-0001_unsatisfied" in clip["path"]
    cap = cv2.VideoCapture(str(cam.ctx.state_dir / clip["path"]))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 20  # 0.5 s before + 0.5 s after at 20 fps
    cap.release()

    # the clerk leaves the open counter: a warning after absent_minutes of office time
    source.set_people(0)
    wait_until(lambda: cam.absence.empty_since is not None, 5)
    clock.advance(119)
    assert not wait_until(lambda: seen.kind("camera/presence"), 0.5)
    clock.advance(2)
    assert wait_until(lambda: len(seen.kind("camera/presence")) == 1, 5)
    assert seen.kind("camera/presence")[0]["state"] == "absent"
    assert wait_until(lambda: seen.kind("/status")[-1]["detail"].get("desk_absent") is True, 5)
    source.set_people(1)
    assert wait_until(lambda: len(seen.kind("camera/presence")) == 2, 5)
    assert seen.kind("camera/presence")[1]["state"] == "present"
    assert wait_until(lambda: seen.kind("/status")[-1]["detail"].get("desk_absent") is False, 5)
    # the absence is kept for the day's report, with the clerk whose desk it was
    import sqlite3
    db = sqlite3.connect(cam.ctx.state_dir / "absences.db")
    assert wait_until(lambda: db.execute("SELECT count(*) FROM absences").fetchone()[0] == 1, 5)
    counter, staff, seconds = db.execute("SELECT counter, staff, seconds FROM absences").fetchone()
    db.close()
    assert (counter, staff) == (1, "Lan") and seconds >= 120

    # bad input is reported, not fatal
    admin.publish(t.ticket_event("done"), b"not json")
    admin.publish(t.ticket_event("done"), ticket_event("20261123-HT-0003", "done"))
    assert wait_until(lambda: len(seen.kind("camera/snapshot")) == 3, 10)


def test_camera_unreachable_is_an_error_and_reopens(office, counter_camera) -> None:
    cam, admin, seen, clock, source = counter_camera
    states = lambda: [p.get("state") for p in seen.kind("/status")]  # noqa: E731
    assert wait_until(lambda: "ok" in states(), 10)
    source.available = False
    assert wait_until(lambda: states()[-1] == "error", 10)
    assert "unplugged" in seen.kind("/status")[-1]["detail"]["error"]
    source.available = True
    assert wait_until(lambda: states()[-1] == "ok", 10)


def test_waiting_camera_publishes_occupancy(office) -> None:
    clock = ManualClock(TZ, datetime(2026, 11, 23, 9, 0))
    dev = CameraDevice(id="camera-1", kind="camera", area="waiting", fps=20, width=320, height=180,
                       occupancy_interval_s=30)
    cam = CameraDaemon(office.ctx("camera-1", "camera", clock=clock, device=dev))
    admin = office.client("admin")
    seen = Collector()
    admin.subscribe(office.topics.camera_event("occupancy"), seen)
    queue = lambda n: {"day": "2026-11-23", "ts": "2026-11-23T09:00:00+07:00", "services": [  # noqa: E731
        {"code": "HT", "name": "Hộ tịch", "open": True, "waiting": n}]}
    admin.publish(office.topics.queue_state, queue(0), retain=True)
    cam.start()
    try:
        assert wait_until(lambda: cam.reference.ready, 10)
        admin.publish(office.topics.queue_state, queue(6), retain=True)
        assert wait_until(lambda: cam.last_people is not None and abs(cam.last_people - 6) <= 1, 10)
        clock.advance(31)
        assert wait_until(lambda: any(abs(p["people"] - 6) <= 1 for _, p in seen.items), 10)
    finally:
        cam.stop()


def test_motcua_camera_command_runs_and_stops(office) -> None:
    """The real `motcua camera` process: status ok over the broker, offline after SIGTERM."""
    import signal
    import subprocess
    import sys

    admin = office.client("admin")
    seen = Collector()
    admin.subscribe(office.topics.device_status("camera-1"), seen)
    motcua = Path(sys.executable).parent / "motcua"
    proc = subprocess.Popen([str(motcua), "camera", str(office.config_path), "--device", "camera-1",
                             "--broker", f"mqtt://127.0.0.1:{office.port}", "--data", str(office.data)],
                            stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: any(p.get("state") == "ok" for p in seen.kind("/status")), 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=20)[1]
    assert proc.returncode == 0, err
    assert wait_until(lambda: seen.kind("/status")[-1]["online"] is False, 10)
