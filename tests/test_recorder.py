"""Continuous recording and footage by ticket, with real ffmpeg and a real RTSP camera (GStreamer)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from edge.broker import free_port
from edge.bus import wait_until
from scanner.camera.daemon import CameraDaemon
from scanner.camera.footage import ClipError, FootageIndex, concat_list, export_clip, Segment
from scanner.camera.recorder import Recorder, probe, redact
from tests.harness import copy_config
from tests.test_camera import Collector

CAMERA = Path(__file__).parent / "rtsp_camera.py"
FPS, GOP = 10, 5  # a keyframe every 0.5 s: copied cuts land within half a second


class RtspCamera:
    """The test IP camera process; stop() and start() make it go away and come back."""

    def __init__(self, size: str = "320x240") -> None:
        self.port = free_port()
        self.size = size
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/main"

    def start(self) -> None:
        self.proc = subprocess.Popen(["/usr/bin/python3", str(CAMERA), str(self.port), self.size, str(FPS), str(GOP)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def pattern(self, name: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def camera():
    cam = RtspCamera()
    cam.start()
    yield cam
    cam.stop()


def ts_files(root: Path) -> list[Path]:
    return sorted(root.glob("*/*.ts"))


def test_segments_rotate_under_the_budget(tmp_path: Path, camera: RtspCamera) -> None:
    root = tmp_path / "rec"
    rec = Recorder("cam", camera.url, root, segment_s=2, budget_bytes=10**9, retention_s=86400)
    rec.start()
    try:
        assert wait_until(lambda: len(rec.index.segments()) >= 2, 40)
        per_segment = max(s.stat().st_size for s in ts_files(root))
        rec.budget = 3 * per_segment + per_segment // 2  # room for three segments
        assert wait_until(lambda: rec.index.used_bytes() > 0 and len(rec.index.segments()) >= 3, 40)
        first = rec.index.segments()[0].path
        assert wait_until(lambda: rec.index.segments()[0].path != first, 40)  # the oldest went
        segs = rec.index.segments()
        assert 1 <= len(segs) <= 4
        assert rec.index.used_bytes() <= rec.budget
        assert len(ts_files(root)) <= len(segs) + 1  # plus the one being written
        assert not (root / first).exists()
        for a, b in zip(segs, segs[1:]):  # consecutive on the wall clock, no gap or overlap
            assert abs(b.wall_start - a.wall_end) < 0.3
        for s in segs:
            start_time, duration = probe(root / s.path)
            assert 1.5 <= duration <= 3.0  # ffprobe reads every kept segment
        assert rec.status()["state"] == "recording"
    finally:
        rec.stop()
    # one SIGINT: the last segment is closed and indexed, not left half written
    idx = FootageIndex(root / "index.db")
    assert {str(p.relative_to(root)) for p in ts_files(root)} == idx.segment_paths()
    idx.close()


def test_segments_past_retention_are_deleted(tmp_path: Path, camera: RtspCamera) -> None:
    rec = Recorder("cam", camera.url, tmp_path / "rec", segment_s=2, budget_bytes=10**9, retention_s=5)
    rec.start()
    try:
        assert wait_until(lambda: len(rec.index.segments()) >= 1, 40)
        first = rec.index.segments()[0]
        assert wait_until(lambda: rec.index.segments()[0].path != first.path, 40)
        assert time.time() - first.wall_end > 5  # it went for its age, not for space
        assert not (rec.root / first.path).exists()
        segs = rec.index.segments()
        assert time.time() - segs[0].wall_end <= 5 + 2.5  # nothing much older than 5 s is kept
        assert 1 <= len(segs) <= 4
    finally:
        rec.stop()


def test_a_full_disk_keeps_only_the_newest_segment(tmp_path: Path, camera: RtspCamera) -> None:
    """Free space below the floor (here: the floor is the whole disk) removes the oldest first."""
    import shutil
    root = tmp_path / "rec"
    rec = Recorder("cam", camera.url, root, segment_s=2, budget_bytes=10**12, retention_s=86400,
                   min_free_bytes=shutil.disk_usage(tmp_path).total)
    rec.start()
    try:
        assert wait_until(lambda: rec.index.segments() and rec.index.segments()[0].path.endswith("-00002.ts"), 40)
        assert len(rec.index.segments()) == 1  # the newest is always kept
        assert len(ts_files(root)) <= 2
    finally:
        rec.stop()


def test_camera_that_stops_and_returns(tmp_path: Path, camera: RtspCamera) -> None:
    rec = Recorder("cam", camera.url, tmp_path / "rec", segment_s=2, budget_bytes=10**9, retention_s=86400)
    rec.start()
    try:
        assert wait_until(lambda: rec.status()["state"] == "recording", 40)
        camera.stop()
        assert wait_until(lambda: rec.status()["state"] == "reconnecting", 30)
        assert "error" in rec.status()
        before = len(rec.index.segments())
        gone = time.time()
        rec.index.bookmark("T-GAP", "called", "a", rec.index.segments()[-1].wall_end - 2)
        assert not wait_until(lambda: len(rec.index.segments()) > before, 3)  # nothing while it is away
        camera.start()
        assert wait_until(lambda: len(rec.index.segments()) >= before + 2, 60)  # backoff is at most 30 s
        assert rec.status()["state"] == "recording" and "error" not in rec.status()
        assert rec.restarts >= 1
        assert rec.index.segments()[-1].wall_start > gone  # the new footage is placed after the gap
        # a visit across the gap: the clip jumps over it, and says how much is missing
        back = next(x.wall_start for x in rec.index.segments() if x.wall_start > gone)
        rec.index.bookmark("T-GAP", "done", "b", rec.index.segments()[-1].wall_end - 0.5)
        start, end, missing = export_clip(rec.root, rec.index, "T-GAP", tmp_path / "gap.mp4", 0, 0)
        assert back - gone - 1 <= missing <= back - gone + 3  # the camera was away from before `gone`
        duration = probe(tmp_path / "gap.mp4")[1]
        assert abs(duration - (end - start - missing)) <= 1.0, (duration, end - start, missing)
    finally:
        rec.stop()


def test_missing_ffmpeg_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "rec" / "2026-11-23").mkdir(parents=True)
    (tmp_path / "rec" / "2026-11-23" / "old-00000.ts").write_bytes(b"\x47" * 188)  # an orphan to probe
    rec = Recorder("cam", "rtsp://127.0.0.1:9/main", tmp_path / "rec", segment_s=2, budget_bytes=10**9,
                   retention_s=86400, ffmpeg="/nonexistent/ffmpeg", ffprobe="/nonexistent/ffprobe")
    rec.start()
    try:
        assert wait_until(lambda: rec.status().get("error", "").startswith("/nonexistent/ffmpeg not found"), 10)
        assert rec.alive()
    finally:
        rec.stop()


def test_camera_passwords_are_redacted() -> None:
    assert redact("rtsp://admin:pa:ss@10.0.0.5:554/s1: Connection refused") == \
        "rtsp://***@10.0.0.5:554/s1: Connection refused"
    assert redact("rtsp://10.0.0.5/s1") == "rtsp://10.0.0.5/s1"


def test_bookmarks_are_stored_once_and_a_visit_spans_call_to_end(tmp_path: Path) -> None:
    idx = FootageIndex(tmp_path / "index.db")
    assert idx.bookmark("T1", "called", "2026-11-23T08:00:00+07:00", 100.0, 1)
    assert not idx.bookmark("T1", "called", "2026-11-23T08:00:00+07:00", 100.5, 1)  # repeated delivery
    assert idx.bookmark("T1", "recalled", "2026-11-23T08:01:00+07:00", 160.0, 1)
    assert idx.bookmark("T1", "done", "2026-11-23T08:05:00+07:00", 400.0, 1)
    assert idx.bookmark("T1", "rating", "2026-11-23T08:05:30+07:00#1", 430.0, 1, detail="unsatisfied")
    assert idx.visit("T1") == (100.0, 430.0)
    assert idx.bookmark("T\udc80", "called", "x", 1.0)  # a lone surrogate from a bad payload: stored escaped
    assert idx.visit("T\udc80") == (1.0, 1.0)
    assert idx.visit("T2") is None
    with pytest.raises(ClipError, match="Không có dấu mốc"):
        export_clip(tmp_path, idx, "T2", tmp_path / "x.mp4", 1, 1)
    with pytest.raises(ClipError, match="Không còn đoạn ghi hình"):
        export_clip(tmp_path, idx, "T1", tmp_path / "x.mp4", 1, 1)
    # in and out points are in each file's own timestamps (MPEG-TS starts at 1.4 s)
    segs = [Segment("a.ts", 90.0, 60.0, 1.4), Segment("b.ts", 150.0, 60.0, 1.4)]
    assert concat_list(segs, 100.0, 160.0) == ("ffconcat version 1.0\nfile 'a.ts'\ninpoint 11.400\n"
                                               "file 'b.ts'\noutpoint 11.400\n")
    idx.close()


def first_white_s(path: Path) -> tuple[float | None, int]:
    """Seconds into the clip of the first white frame, and the number of frames."""
    cap = cv2.VideoCapture(str(path))
    n, found = 0, None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if found is None and frame.mean() > 200:
            found = n / FPS
        n += 1
    cap.release()
    return found, n


def test_clip_of_a_visit_spanning_two_segments(office, tmp_path: Path, camera: RtspCamera) -> None:
    """A counter camera records; a ticket is called and done 5 s later; the clip is its visit ±1 s."""
    cfg_path = copy_config(tmp_path, replace={'id = "camera-1"\nkind = "camera"\ncounter = 1\n':
                           f'id = "camera-1"\nkind = "camera"\ncounter = 1\nmain_stream = "{camera.url}"\n'
                           'segment_s = 3\nclip_before_s = 1\nclip_after_s = 1\nwidth = 160\nheight = 120\n'})
    from edge.config import load
    dev = load(cfg_path).device("camera-1")
    cam = CameraDaemon(office.ctx("camera-1", "camera", device=dev))
    admin = office.client("admin")
    seen = Collector()
    admin.subscribe(office.topics.device_status("camera-1"), seen)
    cam.start()
    t = office.topics
    tid = "20261121-HT-0023"
    try:
        assert cam.recorder is not None
        assert wait_until(lambda: len(cam.recorder.index.segments()) >= 1, 40)
        assert wait_until(lambda: seen.kind("/status") and
                          seen.kind("/status")[-1]["detail"].get("recorder", {}).get("state") == "recording", 20)
        from tests.test_camera import ticket_event
        called = ticket_event(tid, "called")
        admin.publish(t.ticket_event("called"), called)
        assert wait_until(lambda: cam.recorder.index.visit(tid) is not None, 10)
        t_called = cam.recorder.index.visit(tid)[0]
        time.sleep(2.5)
        t_white = time.time()
        camera.pattern("white")
        time.sleep(2.5)
        admin.publish(t.ticket_event("done"), {**ticket_event(tid, "done"), "ts": "2026-11-21T08:06:00+07:00"})
        admin.publish(t.ticket_event("done"), {**ticket_event(tid, "done"), "ts": "2026-11-21T08:06:00+07:00"})
        assert wait_until(lambda: cam.recorder.index.visit(tid)[1] > t_called + 4, 10)
        t_done = cam.recorder.index.visit(tid)[1]
        assert len(cam.recorder.index.bookmarks(tid)) == 2  # the repeated "done" is one bookmark
        want_start, want_end = t_called - 1, t_done + 1
        assert wait_until(lambda: cam.recorder.index.segments()[-1].wall_end > want_end, 40)
        assert len(cam.recorder.index.segments(want_start, want_end)) >= 2  # the visit spans segments
    finally:
        cam.stop()

    out = tmp_path / "clips"
    motcua = Path(sys.executable).parent / "motcua"
    res = subprocess.run([str(motcua), "camera", "clip", str(cfg_path), "--ticket", tid,
                          "--data", str(office.data), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    clip = out / f"{tid}_camera-1.mp4"
    assert res.stdout.startswith(str(clip))
    info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name",
                                      "-of", "json", str(clip)], capture_output=True, text=True).stdout)
    duration = float(info["format"]["duration"])
    assert info["streams"][0]["codec_name"] == "h264"  # copied, not re-encoded
    assert abs(duration - (want_end - want_start)) <= 0.8, (duration, want_end - want_start)
    white, frames = first_white_s(clip)
    assert white is not None and frames >= 0.8 * FPS * (want_end - want_start)
    # the moment the picture turned white is where it belongs in the clip (keyframe cut: ±0.5 s)
    assert abs(white - (t_white - want_start)) <= 0.8, (white, t_white - want_start)

    # a ticket this camera never saw: a plain Vietnamese answer, not a traceback
    res = subprocess.run([str(motcua), "camera", "clip", str(cfg_path), "--ticket", "20261121-HT-0099",
                          "--data", str(office.data), "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "vé 20261121-HT-0099" in res.stderr and "Traceback" not in res.stderr


def test_ffmpeg_killed_is_restarted_and_its_last_segment_kept(tmp_path: Path, camera: RtspCamera) -> None:
    """A crashed ffmpeg (SIGKILL: no last CSV line) is started again; the cut segment is adopted."""
    import signal as sig
    root = tmp_path / "rec"
    rec = Recorder("cam", camera.url, root, segment_s=3, budget_bytes=10**9, retention_s=86400)
    rec.start()
    try:
        assert wait_until(lambda: len(rec.index.segments()) >= 1, 40)
        time.sleep(1.5)  # into the next segment
        victim = rec.proc
        assert victim is not None
        victim.send_signal(sig.SIGKILL)
        assert wait_until(lambda: rec.proc is not None and rec.proc is not victim, 30)
        paths = rec.index.segment_paths()
        cut = [p for p in paths if p.endswith("-0-00001.ts")]  # the one ffmpeg was writing when killed
        assert cut, paths
        start_time, duration = probe(root / cut[0])  # MPEG-TS cut anywhere stays readable
        assert 0.5 <= duration <= 3.0
        assert wait_until(lambda: rec.status()["state"] == "recording" and len(rec.index.segments()) >= 3, 60)
        assert rec.restarts == 1
        segs = rec.index.segments()
        assert all(b.wall_start >= a.wall_start for a, b in zip(segs, segs[1:]))
    finally:
        rec.stop()


def test_recorder_health_on_the_camera_status(office) -> None:
    """A camera whose main stream cannot be reached: analysis ok, status warning with the reason
    (and without the camera's password)."""
    dev = office.cfg.device("camera-1").model_copy(update={
        "main_stream": f"rtsp://admin:s3cret@127.0.0.1:{free_port()}/main", "segment_s": 2,
        "width": 160, "height": 120})
    cam = CameraDaemon(office.ctx("camera-1", "camera", device=dev))
    admin = office.client("admin")
    seen = Collector()
    admin.subscribe(office.topics.device_status("camera-1"), seen)
    cam.start()
    try:
        assert wait_until(lambda: seen.kind("/status") and seen.kind("/status")[-1]["state"] == "warning", 30)
        detail = seen.kind("/status")[-1]["detail"]
        assert detail["recorder"]["state"] == "reconnecting"
        assert "Connection refused" in detail["recorder"]["error"]
        assert "s3cret" not in json.dumps(seen.items)
        assert cam.healthy()
    finally:
        cam.stop()
