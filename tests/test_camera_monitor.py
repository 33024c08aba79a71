"""The camera monitor (display mode `cameras`) on a real broker: 9 tiles from RTSP, files and
generated scenes, labels from the counter states, outlines, a lost stream that comes back.

Screenshots go to tmp (or to $MOTCUA_SCREENSHOTS, e.g. docs/screenshots).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pygame
import pytest

from display.cameras import AMBER, RED, CameraMonitorDaemon, grid
from edge.bus import wait_until
from edge.config import ConfigError, load
from tests.harness import TestOffice, copy_config
from tests.test_camera import Collector
from tests.test_recorder import RtspCamera


def make_clip(path: Path, pattern: str) -> Path:
    """A short H.264 sub-stream recording (ffmpeg's lavfi test sources)."""
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"{pattern}=size=320x180:rate=5", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(path)], check=True, timeout=60)
    return path


def monitor_config(tmp: Path, rtsp: str) -> Path:
    files = [make_clip(tmp / f"sub-{i}.mp4", p) for i, p in enumerate(["testsrc", "smptebars", "testsrc2"])]
    cams = [
        ("camera-1", 'counter = 1', f'sub_stream = "{rtsp}"'),
        ("cam-2", 'counter = 2', 'backend = "virtual"'),
        ("cam-3", 'counter = 3', 'backend = "virtual"'),
        ("cam-hall", 'area = "Sảnh chờ"', f'backend = "opencv"\nsource = "{files[0]}"'),
        ("cam-door", 'area = "Cửa ra vào"', f'sub_stream = "{files[1]}"'),
        ("cam-kiosk", 'area = "Khu lấy số"', f'sub_stream = "{files[2]}"'),
        ("cam-corridor", 'area = "Hành lang"', f'sub_stream = "{tmp / "missing.mp4"}"'),
        ("cam-return", 'area = "Quầy trả kết quả"', 'backend = "virtual"'),
        ("cam-yard", 'area = "Sân"', 'backend = "virtual"'),
    ]
    blocks = ""
    for cid, where, src in cams[1:]:
        blocks += f'\n[[devices]]\nid = "{cid}"\nkind = "camera"\n{where}\n{src}\n'
    blocks += ('\n[[devices]]\nid = "monitor-1"\nkind = "display"\nmode = "cameras"\nfullscreen = false\n'
               'width = 1920\nheight = 1080\nmonitor_fps = 5\n')
    text_old = 'id = "camera-1"\nkind = "camera"\ncounter = 1\n'
    path = copy_config(tmp, replace={text_old: text_old + f'sub_stream = "{rtsp}"\n'})
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition("[hub]")
    path.write_text(head + blocks + "\n" + sep + rest, encoding="utf-8")
    return path


def state(counter: int, status: str, staff: str | None, number: str | None) -> dict:
    serving = None if number is None else {
        "ticket_id": f"20261123-HT-{number}", "number": number, "seq": 1, "service": "HT",
        "service_name": "Hộ tịch", "day": "2026-11-23", "issued_at": "2026-11-23T07:55:00+07:00",
        "status": "called", "counter": counter}
    return {"counter": counter, "name": f"Quầy {counter}", "status": status, "staff": staff,
            "services": ["HT"], "serving": serving, "ts": "2026-11-23T08:00:00+07:00"}


def test_grid_fits_tiles() -> None:
    assert grid(1, 1920, 1030) == (1, 1)
    assert grid(4, 1920, 1030) == (2, 2)
    assert grid(9, 1920, 1030) == (3, 3)
    cols, rows = grid(6, 1920, 1030)
    assert cols * rows >= 6


def test_unknown_camera_in_the_monitor_is_a_config_error(tmp_path: Path) -> None:
    path = copy_config(tmp_path, replace={'id = "display-1"\nkind = "display"\n':
                                          'id = "display-1"\nkind = "display"\nmode = "cameras"\ncameras = ["camera-1", "cam-9"]\n'})
    with pytest.raises(ConfigError, match=r"cameras\[1\]: unknown camera 'cam-9'"):
        load(path)


def test_monitor_nine_tiles_labels_outlines_and_a_lost_stream(tmp_path: Path) -> None:
    rtsp = RtspCamera()
    rtsp.start()
    office = TestOffice(tmp_path / "data", monitor_config(tmp_path, rtsp.url)).start()
    mon: CameraMonitorDaemon | None = None
    try:
        from display.daemon import create
        mon = create(office.ctx("monitor-1", "display"))  # what `motcua display` builds for mode cameras
        assert isinstance(mon, CameraMonitorDaemon)
        mon.start()
        admin = office.client("admin")
        status = Collector()
        admin.subscribe(office.topics.device_status("monitor-1"), status)
        t = office.topics
        admin.publish(t.counter_state(1), state(1, "open", "Nguyễn Thị Lan", "2001"), retain=True)
        admin.publish(t.counter_state(2), state(2, "paused", "Trần Văn Minh", None), retain=True)
        admin.publish(t.counter_state(3), state(3, "open", "Lê Thị Hoa", "3005"), retain=True)
        admin.publish(t.camera_event("presence"), {"device": "cam-3", "counter": 3, "state": "absent",
                                                   "absent_s": 312.0, "ts": "2026-11-23T08:10:00+07:00"})
        # the hall camera's retained status says nothing of a desk; a desk camera's does
        admin.publish(t.device_status("cam-hall"), {"device": "cam-hall", "kind": "camera", "online": True,
                                                    "state": "ok", "detail": {}}, retain=True)
        feeds = mon.feeds
        assert len(mon.view.tiles) == 9
        live = [c for c in feeds if c != "cam-corridor"]
        assert wait_until(lambda: all(feeds[c].state == "live" for c in live), 60), \
            {c: (f.state, f.error) for c, f in feeds.items()}
        assert wait_until(lambda: feeds["cam-corridor"].state == "lost", 20)
        tiles = mon.view.by_cam
        assert wait_until(lambda: tiles["cam-3"].absent and tiles["cam-2"].status == "paused", 10)
        assert wait_until(lambda: "Quầy 1 · Đang phục vụ 2001 · Nguyễn Thị Lan" in tiles["camera-1"].texts, 10)
        assert tiles["cam-2"].outline == AMBER and "TẠM DỪNG" in tiles["cam-2"].texts
        assert tiles["cam-3"].outline == RED and "VẮNG MẶT TẠI QUẦY" in tiles["cam-3"].texts
        assert tiles["camera-1"].outline is None
        assert wait_until(lambda: "Mất tín hiệu camera" in tiles["cam-corridor"].texts, 10)
        assert tiles["cam-hall"].texts[0] == "Khu vực Sảnh chờ"
        # frames keep coming from the files (played in a loop) and the RTSP camera
        counts = {c: feeds[c].frames for c in ("camera-1", "cam-door")}
        assert wait_until(lambda: all(feeds[c].frames > counts[c] + 5 for c in counts), 20)
        folder = Path(os.environ.get("MOTCUA_SCREENSHOTS", tmp_path))
        shot = mon.screenshot(folder / "camera-monitor.png")
        img = pygame.image.load(str(shot))
        assert img.get_size() == (1920, 1080)
        # the absent desk's outline is painted red on the screen (third tile of the first row)
        assert tuple(img.get_at((1920 * 2 // 3 + 3, 60))[:3]) == RED

        # the RTSP camera goes away: its tile says so, then comes back by itself
        rtsp.stop()
        assert wait_until(lambda: feeds["camera-1"].state == "lost", 30)
        assert wait_until(lambda: "Mất tín hiệu camera" in tiles["camera-1"].texts, 10)
        assert wait_until(lambda: status.kind("/status") and
                          set(status.kind("/status")[-1]["detail"]["lost"]) == {"camera-1", "cam-corridor"}, 10), \
            status.items
        assert status.kind("/status")[-1]["state"] == "warning"
        rtsp.start()
        assert wait_until(lambda: feeds["camera-1"].state == "live", 60)
        assert wait_until(lambda: "Mất tín hiệu camera" not in tiles["camera-1"].texts, 10)
        assert wait_until(lambda: status.kind("/status")[-1]["detail"]["lost"] == ["cam-corridor"], 10)
        # the clerk returns: the red outline goes
        admin.publish(t.camera_event("presence"), {"device": "cam-3", "counter": 3, "state": "present",
                                                   "ts": "2026-11-23T08:11:00+07:00"})
        assert wait_until(lambda: tiles["cam-3"].outline is None, 10)
        # a desk found empty before the monitor heard the event: from the camera's retained status
        admin.publish(t.device_status("camera-1"), {"device": "camera-1", "kind": "camera", "online": True,
                                                    "state": "ok", "detail": {"desk_absent": True}}, retain=True)
        assert wait_until(lambda: tiles["camera-1"].outline == RED, 10)
        assert not tiles["cam-hall"].absent
        assert mon.healthy()
    finally:
        if mon is not None:
            mon.stop()
        office.close()
        rtsp.stop()
