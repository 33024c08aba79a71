"""Barcode readers: HID key streams (recorded, with shift and unplug), serial over a pty,
the file/folder feed, a camera reading a video file, and the daemon on a real broker."""
from __future__ import annotations

import json
import os
import pty
import random
import sys
import threading
from pathlib import Path
from typing import Any

import cv2
import pytest
from evdev import InputEvent
from evdev import ecodes as e

from edge.bus import wait_until
from edge.config.devices import ScannerDevice
from scanner.base import Read, ReaderState
from scanner.daemon import create
from scanner.decode import make_decoder
from scanner.filefeed import FileReader, feed_path
from scanner.hid import DeviceMissing, HidReader
from scanner.keymap import KeyDecoder
from scanner.repeat import RepeatFilter
from scanner.replay import UNPLUG, ReplaySource, parse_evtest
from scanner.serial_reader import LineSplitter, SerialReader
from scanner.video import VideoReader

sys.path.append(str(Path(__file__).parent.parent / "bench"))  # appended: bench/web.py must not hide the web package
from decode_frames import make_frame, qr_image, receipt, place  # noqa: E402

RECORDING = Path(__file__).parent / "data" / "scanner_hid_newland.evtest"
URL = "https://dichvucong.example.gov.vn/tra-cuu?MHS=000.A0.01.H26-210212-9090"


class Collector:
    def __init__(self) -> None:
        self.reads: list[Read] = []
        self.states: list[tuple[ReaderState, dict[str, Any]]] = []

    def on_read(self, r: Read) -> None:
        self.reads.append(r)

    def on_state(self, s: ReaderState, d: dict[str, Any]) -> None:
        self.states.append((s, d))

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reads]


def run_reader(reader: Any, until: Any, timeout: float = 10) -> None:
    stop = threading.Event()
    t = threading.Thread(target=reader.run, args=(stop,), name="test-reader")
    t.start()
    try:
        assert wait_until(until, timeout)
    finally:
        stop.set()
        t.join(5)
    assert not t.is_alive()


# ------------------------------------------------------------------ HID key decoding

def test_recording_decodes_with_shift_and_drops_half_code() -> None:
    items = parse_evtest(RECORDING.read_text())
    assert items[-1] == UNPLUG
    dec = KeyDecoder()
    codes = [c for ev in items if ev != UNPLUG for c in [dec.feed(ev)] if c]
    assert codes == ["000.17.22.H56-210531-0001", "000.17.22.H56-210531-0001", URL,
                     "000.00.17.H29-261121-0042"]
    assert dec.dropped == 1  # the stray "12" followed by a long pause


def test_both_shifts_capslock_and_autorepeat() -> None:
    dec = KeyDecoder()
    t = [0.0]

    def k(code: int, value: int) -> str | None:
        t[0] += 0.001
        return dec.feed(InputEvent(int(t[0]), int(t[0] % 1 * 1e6), e.EV_KEY, code, value))

    k(e.KEY_RIGHTSHIFT, 1)
    k(e.KEY_H, 1)
    k(e.KEY_LEFTSHIFT, 1)
    k(e.KEY_RIGHTSHIFT, 0)
    k(e.KEY_A, 1)
    k(e.KEY_A, 2)  # autorepeat does not type again
    k(e.KEY_LEFTSHIFT, 0)
    k(e.KEY_B, 1)
    k(e.KEY_CAPSLOCK, 1)
    k(e.KEY_C, 1)
    k(e.KEY_KP5, 1)
    assert k(e.KEY_KPENTER, 1) == "HAbC5"
    assert k(e.KEY_ENTER, 1) is None  # an empty line is no code


# ------------------------------------------------------------------ HID reader: unplug and replug

def test_hid_reader_recovers_after_unplug() -> None:
    first = ReplaySource.from_file(RECORDING)
    second = ReplaySource(parse_evtest(
        "\n".join(f"Event: time 1763790000.{i:06d}, type 1 (EV_KEY), code {c} (K), value {v}"
                  for i, (c, v) in enumerate([(e.KEY_4, 1), (e.KEY_4, 0), (e.KEY_2, 1), (e.KEY_ENTER, 1)]))))
    plan: list[Any] = [first, DeviceMissing("unplugged"), DeviceMissing("unplugged"), second]

    def opener() -> ReplaySource:
        item = plan.pop(0) if plan else DeviceMissing("gone")
        if isinstance(item, Exception):
            raise item
        return item

    dev = ScannerDevice(id="scanner-1", kind="scanner", backend="hid", path="/dev/input/by-id/usb-test-event-kbd")
    col = Collector()
    reader = HidReader(dev, col.on_read, col.on_state, opener=opener)
    reader.backoff.first = reader.backoff.delay = 0.01
    run_reader(reader, lambda: "42" in col.codes)
    assert col.codes == ["000.17.22.H56-210531-0001", "000.17.22.H56-210531-0001", URL,
                         "000.00.17.H29-261121-0042", "42"]
    assert all(r.source == "hid" for r in col.reads)
    assert col.reads[2].symbology == "qrcode" and col.reads[0].symbology == "code128"
    states = [s for s, _ in col.states]
    assert states[:2] == [ReaderState.CONNECTING, ReaderState.READY]
    i = states.index(ReaderState.DISCONNECTED)
    assert ReaderState.READY in states[i:]
    assert first.grabbed and first.closed and second.grabbed


def test_find_input_device_reports_a_missing_reader(tmp_path: Path) -> None:
    from scanner.hid import find_input_device

    with pytest.raises(DeviceMissing, match="does not exist"):
        find_input_device(str(tmp_path / "usb-Newland-event-kbd"), None)
    with pytest.raises(DeviceMissing, match="ffff:fffe"):
        find_input_device(None, "ffff:fffe")
    with pytest.raises(ValueError):
        find_input_device(None, None)


def test_hid_reader_without_path_or_usb_reports_error() -> None:
    dev = ScannerDevice(id="scanner-1", kind="scanner", backend="hid")
    col = Collector()
    reader = HidReader(dev, col.on_read, col.on_state)
    run_reader(reader, lambda: any(s == ReaderState.ERROR for s, _ in col.states))
    err = next(d for s, d in col.states if s == ReaderState.ERROR)
    assert "path" in err["reason"]


# ------------------------------------------------------------------ serial reader over a pty

def test_line_splitter() -> None:
    sp = LineSplitter()
    assert sp.feed(b"000.17.22.H56-21") == []
    assert sp.feed(b"0531-0001\r\nABC\rDEF\n\n") == ["000.17.22.H56-210531-0001", "ABC", "DEF"]


def test_serial_reader_reads_lines_and_survives_replug(tmp_path: Path) -> None:
    link = tmp_path / "motcua-scanner"  # what a udev rule gives: a stable name for the adapter

    def plug() -> int:
        master, slave = pty.openpty()
        if link.is_symlink():
            link.unlink()
        link.symlink_to(os.ttyname(slave))
        os.close(slave)
        return master

    master = plug()
    dev = ScannerDevice(id="scanner-1", kind="scanner", backend="serial", port=str(link))
    col = Collector()
    reader = SerialReader(dev, col.on_read, col.on_state)
    reader.backoff.first = reader.backoff.delay = 0.02
    stop = threading.Event()
    t = threading.Thread(target=reader.run, args=(stop,), name="test-serial")
    t.start()
    try:
        assert wait_until(lambda: reader.state == ReaderState.READY, 5)
        os.write(master, b"000.17.22.H56-210531-0001\r\n")
        assert wait_until(lambda: len(col.reads) == 1, 5)
        os.close(master)  # unplug
        link.unlink()
        assert wait_until(lambda: any(s == ReaderState.DISCONNECTED for s, _ in col.states), 5)
        master = plug()  # replug
        assert wait_until(lambda: col.states[-1][0] == ReaderState.READY, 5)
        os.write(master, b"000.A0.01.H26-210212-9090\n")
        assert wait_until(lambda: len(col.reads) == 2, 5)
    finally:
        stop.set()
        t.join(5)
        os.close(master)
    assert col.codes == ["000.17.22.H56-210531-0001", "000.A0.01.H26-210212-9090"]
    assert col.reads[0].source == "serial"


# ------------------------------------------------------------------ file, folder and camera

def test_file_feed_reads_appended_lines_only(tmp_path: Path) -> None:
    f = tmp_path / "codes.txt"
    f.write_text("OLD-CODE-SEEN-BEFORE-START\n")
    dev = ScannerDevice(id="s", kind="scanner", backend="file", path=str(f))
    col = Collector()
    reader = FileReader(dev, col.on_read, col.on_state)
    stop = threading.Event()
    t = threading.Thread(target=reader.run, args=(stop,), name="test-file")
    t.start()
    try:
        assert wait_until(lambda: reader.state == ReaderState.READY, 5)
        with f.open("a") as fh:
            fh.write("000.17.22.H56-210531-0001\n000.A0.01")
            fh.flush()
            assert wait_until(lambda: len(col.reads) == 1, 5)
            fh.write(".H26-210212-9090\n")
        assert wait_until(lambda: len(col.reads) == 2, 5)
        f.write_text("")  # truncated: read again from the top
        with f.open("a") as fh:
            fh.write("000.00.17.H29-261121-0042\n")
        assert wait_until(lambda: len(col.reads) == 3, 5)
    finally:
        stop.set()
        t.join(5)
    assert col.codes == ["000.17.22.H56-210531-0001", "000.A0.01.H26-210212-9090", "000.00.17.H29-261121-0042"]


def test_folder_feed_decodes_dropped_images(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rng = random.Random(7)
    frame = make_frame(rng, "qrcode", "clean")
    dev = ScannerDevice(id="s", kind="scanner", backend="file", path=str(inbox))
    col = Collector()
    reader = FileReader(dev, col.on_read, col.on_state)
    (inbox / "broken.png").write_bytes(b"not an image")
    cv2.imwrite(str(inbox / "receipt.png"), frame.image)
    run_reader(reader, lambda: len(col.reads) == 1 and not (inbox / "broken.png").exists())
    assert col.reads[0].code == frame.truth and col.reads[0].symbology == "qrcode"
    assert (inbox / "done" / "receipt.png").exists()


def test_camera_reader_decodes_a_video_file(tmp_path: Path) -> None:
    video = tmp_path / "desk.avi"
    rng = random.Random(3)
    code = "000.17.22.H56-210531-0001"
    blank = place(receipt(qr_image("x")[:1, :1] * 0 + 255, rng), rng)
    shown = place(receipt(qr_image(code, 5), rng), rng, 8)
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (1280, 720), False)
    for img in [blank] * 3 + [shown] * 3 + [blank] * 3:
        w.write(img)
    w.release()
    dev = ScannerDevice(id="s", kind="scanner", backend="camera", source=str(video))
    col = Collector()
    reader = VideoReader(dev, col.on_read, col.on_state, decoder=make_decoder("zxingcpp"))
    reader.backoff.first = reader.backoff.delay = 0.01
    # the file ends after 9 frames: the reader reopens it, as it would a dropped RTSP stream
    run_reader(reader, lambda: reader.frames >= 12 and len(col.reads) >= 1)
    assert set(col.codes) == {code}
    assert [s for s, _ in col.states].count(ReaderState.READY) >= 2
    assert col.reads[0].source == "camera" and col.reads[0].symbology == "qrcode"


def test_repeat_filter_window() -> None:
    now = [100.0]
    f = RepeatFilter(2.0, lambda: now[0])
    assert f.accept("A")
    now[0] += 1.9
    assert not f.accept("A")
    assert f.accept("B")
    now[0] += 0.2
    assert f.accept("A")


# ------------------------------------------------------------------ the daemon on a real broker

def test_daemon_publishes_scans_and_drops_repeats(office: Any) -> None:
    ctx = office.ctx("scanner-1", "scanner")
    got: list[dict[str, Any]] = []
    status: list[dict[str, Any]] = []
    watcher = office.client("admin")
    watcher.subscribe(office.topics.scan("scanner-1"), lambda t, p: got.append(json.loads(p)))
    watcher.subscribe(office.topics.device_status("scanner-1"), lambda t, p: status.append(json.loads(p)))
    d = create(ctx)
    d.start()
    try:
        feed = feed_path(office.data, ctx.device)
        assert feed == ctx.state_dir / "codes.txt"
        assert wait_until(lambda: any(s.get("state") == "ok" for s in status), 10)
        with feed.open("a") as fh:
            fh.write("000.17.22.H56-210531-0001\n000.17.22.H56-210531-0001\n")
            fh.write(URL + "\n")
        assert wait_until(lambda: len(got) == 2, 10)
        assert d.dropped == 1
    finally:
        d.stop()
    assert [g["code"] for g in got] == ["000.17.22.H56-210531-0001", URL]
    assert got[0]["source"] == "file" and got[1]["symbology"] == "qrcode"
    assert got[0]["ts"].endswith("+07:00")
    assert wait_until(lambda: status[-1]["online"] is False, 5)


def test_daemon_reports_missing_reader(office: Any) -> None:
    dev = ScannerDevice(id="scanner-1", kind="scanner", backend="file", path="/nonexistent/codes.txt")
    ctx = office.ctx("scanner-1", "scanner", device=dev)
    status: list[dict[str, Any]] = []
    watcher = office.client("admin")
    watcher.subscribe(office.topics.device_status("scanner-1"), lambda t, p: status.append(json.loads(p)))
    d = create(ctx)
    d.start()
    try:
        assert wait_until(lambda: any(s.get("state") == "error" for s in status), 10)
    finally:
        d.stop()
    err = next(s for s in status if s.get("state") == "error")
    assert "does not exist" in err["detail"]["reason"]


def test_daemon_with_a_config_error_says_so(office: Any) -> None:
    dev = ScannerDevice(id="scanner-1", kind="scanner", backend="serial")  # no port
    status: list[dict[str, Any]] = []
    watcher = office.client("admin")
    watcher.subscribe(office.topics.device_status("scanner-1"), lambda t, p: status.append(json.loads(p)))
    d = create(office.ctx("scanner-1", "scanner", device=dev))
    d.start()
    try:
        assert wait_until(lambda: any(s.get("state") == "error" for s in status), 10)
        assert d.healthy()
    finally:
        d.stop()
    err = next(s for s in status if s.get("state") == "error")
    assert "needs `port`" in err["detail"]["reason"]


def test_daemon_without_the_decoder_library_says_so(office: Any, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """A plain install missing zxing-cpp: the camera reader reports it on its status, no ModuleNotFoundError."""
    monkeypatch.setitem(sys.modules, "zxingcpp", None)     # `import zxingcpp` now fails as if not installed
    status: list[dict[str, Any]] = []
    watcher = office.client("admin")
    watcher.subscribe(office.topics.device_status("scanner-1"), lambda t, p: status.append(json.loads(p)))
    dev = ScannerDevice(id="scanner-1", kind="scanner", backend="camera", source=str(tmp_path / "none.avi"))
    d = create(office.ctx("scanner-1", "scanner", device=dev))
    d.start()
    try:
        assert wait_until(lambda: any(s.get("state") == "error" for s in status), 10)
        assert d.healthy()
    finally:
        d.stop()
    err = next(s for s in status if s.get("state") == "error")
    assert err["detail"]["decoder"] == "missing" and "zxing-cpp" in err["detail"]["reason"]
    # the image-folder backend says the same on its state, and its thread stays up
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    col = Collector()
    reader = FileReader(ScannerDevice(id="s", kind="scanner", backend="file", path=str(inbox)),
                        col.on_read, col.on_state)
    run_reader(reader, lambda: any(s == ReaderState.ERROR for s, _ in col.states))
    assert "zxing-cpp" in next(d for s, d in col.states if s == ReaderState.ERROR)["reason"]
