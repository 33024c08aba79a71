"""`motcua test KIND --device ID`: each device test through the real backends (ptys, files, espeak)."""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from edge.tools import devtest as T
from harness import SMALL, copy_config


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = T.cli_main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_led_virtual_board_shows_8888(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "led", str(SMALL), "--device", "led-1", "--data", str(tmp_path))
    assert rc == 0, err
    assert "board 1 confirmed" in out and "virtual board shows '8888'" in out and "ĐẠT / PASS led-1" in out
    boards = json.loads((tmp_path / "led-1/test/boards.json").read_text())
    assert boards["boards"]["1"]["text"] == "8888"


@pytest.fixture
def led_line(tmp_path: Path):
    """A real pty pair: the test drives the slave end, a simulated Modbus board sits on the master."""
    from display.led.protocols import ModbusRTU
    from display.led.virtual import PtyPair, SimulatedBoards
    pair = PtyPair()
    path = copy_config(tmp_path, replace={'id = "led-1"\nkind = "led"':
                                          f'id = "led-1"\nkind = "led"\nbackend = "serial"\nport = "{pair.path}"'})
    boards: list[SimulatedBoards] = []

    def start(answer: bool) -> SimulatedBoards:
        b = SimulatedBoards(pair.master, ModbusRTU(4), name="far-end", answer=answer).start()
        boards.append(b)
        return b
    yield path, start
    for b in boards:
        b.stop()
    pair.close()


def test_led_serial_line_with_a_board_that_answers(led_line, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, start = led_line
    board = start(answer=True)
    rc, out, err = run(capsys, "led", str(path), "--device", "led-1", "--data", str(tmp_path), "--text", "2023")
    assert rc == 0, err
    assert board.shown(1).text == "2023"
    assert "sent 8 bytes (modbus, address 1)" in out and "01 06 00 00 07 e7" in out  # function 06, value 2023


def test_led_serial_line_with_a_silent_board_fails_clearly(led_line, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path, start = led_line
    start(answer=False)
    rc, out, err = run(capsys, "led", str(path), "--device", "led-1", "--data", str(tmp_path))
    assert rc == 1
    assert "LỖI / FAIL led-1: board 1 did not confirm: no reply" in err and "A/B wiring" in err


def test_led_missing_port_and_too_long_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_config(tmp_path, replace={'id = "led-1"\nkind = "led"':
                                          'id = "led-1"\nkind = "led"\nbackend = "serial"\nport = "/dev/motcua/nothing"'})
    rc, _, err = run(capsys, "led", str(path), "--device", "led-1", "--data", str(tmp_path))
    assert rc == 1 and "cannot open /dev/motcua/nothing" in err
    rc, _, err = run(capsys, "led", str(SMALL), "--device", "led-1", "--data", str(tmp_path), "--text", "123456")
    assert rc == 1 and "the board has 4" in err


def test_scanner_serial_reads_one_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from display.led.virtual import PtyPair
    pair = PtyPair()
    path = copy_config(tmp_path, replace={'id = "scanner-1"\nkind = "scanner"\nbackend = "virtual"':
                                          f'id = "scanner-1"\nkind = "scanner"\nbackend = "serial"\nport = "{pair.path}"'})
    stop = threading.Event()

    def scan_when_ready() -> None:  # a reader sends its code with CR LF, like a real one
        while not stop.is_set():
            os.write(pair.master, b"000.17.22.H56-210531-0001\r\n")
            stop.wait(0.3)
    t = threading.Thread(target=scan_when_ready, daemon=True)
    t.start()
    try:
        rc, out, err = run(capsys, "scanner", str(path), "--device", "scanner-1", "--data", str(tmp_path),
                           "--timeout", "10")
    finally:
        stop.set()
        t.join()
        pair.close()
    assert rc == 0, err
    assert "read '000.17.22.H56-210531-0001'" in out and "serial)" in out


def test_scanner_timeout_says_the_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_config(tmp_path, replace={'id = "scanner-1"\nkind = "scanner"\nbackend = "virtual"':
                                          'id = "scanner-1"\nkind = "scanner"\nbackend = "serial"\nport = "/dev/motcua/none"'})
    rc, _, err = run(capsys, "scanner", str(path), "--device", "scanner-1", "--data", str(tmp_path), "--timeout", "1")
    assert rc == 1 and "no code within 1 s" in err and "last state" in err


def test_camera_virtual_and_video_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2
    import numpy as np
    rc, out, err = run(capsys, "camera", str(SMALL), "--device", "camera-1", "--data", str(tmp_path))
    assert rc == 0, err
    pngs = list((tmp_path / "camera-1/test").glob("frame-*.png"))
    assert len(pngs) == 1 and cv2.imread(str(pngs[0])).shape == (720, 1280, 3)
    video = tmp_path / "desk.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (320, 240))
    for i in range(5):
        w.write(np.full((240, 320, 3), 40 * i, np.uint8))
    w.release()
    path = copy_config(tmp_path, replace={'id = "camera-1"\nkind = "camera"':
                                          f'id = "camera-1"\nkind = "camera"\nbackend = "opencv"\nsource = "{video}"'})
    rc, out, err = run(capsys, "camera", str(path), "--device", "camera-1", "--data", str(tmp_path / "d2"))
    assert rc == 0, err
    assert "frame 320x240" in out
    bad = copy_config(tmp_path, replace={'id = "camera-1"\nkind = "camera"':
                                         f'id = "camera-1"\nkind = "camera"\nbackend = "opencv"\nsource = "{tmp_path}/none.avi"'})
    rc, _, err = run(capsys, "camera", str(bad), "--device", "camera-1", "--data", str(tmp_path))
    assert rc == 1 and f"cannot open {tmp_path}/none.avi" in err and "user in video" in err


@pytest.mark.skipif(not any(Path(p, "espeak-ng").exists() for p in os.environ.get("PATH", "").split(":")),
                    reason="espeak-ng not installed")
def test_voice_wav_says_a_test_announcement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from display.voice.pack import build_pack
    build_pack(tmp_path / "voice", rate=16000)  # the default pack folder: DATA/voice
    rc, out, err = run(capsys, "voice", str(SMALL), "--device", "voice-1", "--data", str(tmp_path), "--text", "2023")
    assert rc == 0, err
    assert "hai nghìn không trăm hai mươi ba" in out or "hai nghìn" in out
    wavs = list((tmp_path / "voice-1/test").glob("*.wav"))
    assert len(wavs) == 1 and wavs[0].stat().st_size > 16000  # more than half a second of speech


def test_voice_without_a_pack_says_how_to_build_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "voice", str(SMALL), "--device", "voice-1", "--data", str(tmp_path))
    assert rc == 1 and "no usable voice pack" in err and "motcua voice build" in err


def test_wrong_device_or_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "led", str(SMALL), "--device", "nope", "--data", str(tmp_path))
    assert rc == 2 and "no device 'nope'" in err
    rc, _, err = run(capsys, "led", str(SMALL), "--device", "printer-1", "--data", str(tmp_path))
    assert rc == 2 and "printer-1 is a printer, not a led" in err


class PrinterEnd:
    """The printer's end of a cable or socket: keeps what it receives, answers DLE EOT n."""

    def __init__(self, read, write, paper: int | None = 0x12) -> None:
        self.read, self.write, self.paper = read, write, paper
        self.data = bytearray()
        self.thread = threading.Thread(target=self._run, name="test-printer-end", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                chunk = self.read()
            except OSError:
                return
            if not chunk:
                return
            self.data += chunk
            i = 0
            while (i := chunk.find(b"\x10\x04", i)) >= 0 and i + 2 < len(chunk):
                answer = {1: 0x16, 2: 0x12, 4: self.paper}.get(chunk[i + 2], 0x12)
                if answer is not None:
                    self.write(bytes([answer]))
                i += 3

    def ticket(self) -> bytes:
        return bytes(self.data).replace(b"\x10\x04\x01", b"").replace(b"\x10\x04\x02", b"").replace(b"\x10\x04\x04", b"")


class FakeNetworkPrinter:
    """A TCP port 9100 with a PrinterEnd behind it."""

    def __init__(self, paper: int | None) -> None:
        import socket
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.end: PrinterEnd | None = None
        self.paper = paper
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        conn, _ = self.srv.accept()
        self.end = PrinterEnd(lambda: conn.recv(65536), conn.sendall, self.paper)

    def close(self) -> None:
        if self.end is not None:
            self.end.thread.join(5)
        self.srv.close()


def printer_config(tmp_path: Path, settings: str) -> Path:
    return copy_config(tmp_path, replace={'id = "printer-1"\nkind = "printer"\nbackend = "virtual"':
                                          f'id = "printer-1"\nkind = "printer"\n{settings}'})


@pytest.mark.parametrize("reply,state", [(0x12, "ok"), (0x1E, "low"), (0xFF, "unknown")])
def test_printer_network_prints_and_reads_the_paper(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    reply: int, state: str) -> None:
    from printer.decode import decode
    fake = FakeNetworkPrinter(reply)
    path = printer_config(tmp_path, f'backend = "network"\naddress = "127.0.0.1:{fake.port}"')
    rc, out, err = run(capsys, "printer", str(path), "--device", "printer-1", "--data", str(tmp_path),
                       "--text", "2023")
    fake.close()
    assert rc == 0, err
    assert f"paper {state}" in out
    printed = decode(fake.end.ticket())
    assert printed.cuts == 1 and printed.rasters > 0
    assert printed.qr == ["motcua-test-printer-1"]  # the printer's own QR engine for a real printer


def test_printer_without_paper_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeNetworkPrinter(0x72)  # paper end sensor
    path = printer_config(tmp_path, f'backend = "network"\naddress = "127.0.0.1:{fake.port}"')
    rc, _, err = run(capsys, "printer", str(path), "--device", "printer-1", "--data", str(tmp_path))
    fake.close()
    assert rc == 1 and "paper_out" in err and "nothing printed" in err
    assert fake.end.ticket() == b""  # only status queries went out


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # python-escpos Usb.__del__
def test_printer_unreachable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from edge.broker import free_port
    path = printer_config(tmp_path, f'backend = "network"\naddress = "127.0.0.1:{free_port()}"')
    rc, _, err = run(capsys, "printer", str(path), "--device", "printer-1", "--data", str(tmp_path))
    assert rc == 1 and "not reachable" in err and "is motcua-printer running?" in err
    usb = printer_config(tmp_path, 'backend = "usb"\nusb = "0416:5011"')  # nothing plugged in here
    rc, _, err = run(capsys, "printer", str(usb), "--device", "printer-1", "--data", str(tmp_path))
    assert rc == 1 and "usb printer not reachable" in err


def test_printer_virtual_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image
    from printer.decode import decode
    rc, out, err = run(capsys, "printer", str(SMALL), "--device", "printer-1", "--data", str(tmp_path))
    assert rc == 0, err
    pngs = list((tmp_path / "printer-1/test/tickets").glob("test-printer-1-*.png"))
    assert len(pngs) == 1 and Image.open(pngs[0]).width == 576 and "paper ok" in out
    lp = tmp_path / "lp0"
    path = printer_config(tmp_path, f'backend = "file"\npath = "{lp}"')
    rc, out, err = run(capsys, "printer", str(path), "--device", "printer-1", "--data", str(tmp_path))
    assert rc == 0, err
    written = decode(lp.read_bytes())
    assert lp.read_bytes().startswith(b"\x1b@") and written.cuts == 1 and written.qr == ["motcua-test-printer-1"]
    assert "paper unknown" in out and "look at the ticket" in out


def test_printer_serial_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from display.led.virtual import PtyPair
    from printer.decode import decode
    pair = PtyPair()
    path = printer_config(tmp_path, f'backend = "serial"\nport = "{pair.path}"\nflow_control = "none"')
    end = PrinterEnd(lambda: os.read(pair.master, 65536), lambda b: os.write(pair.master, b))
    try:
        rc, out, err = run(capsys, "printer", str(path), "--device", "printer-1", "--data", str(tmp_path),
                           "--text", "2024")
        time.sleep(0.2)
    finally:
        pair.close()
        end.thread.join(3)
    assert rc == 0, err
    assert "paper ok" in out
    assert decode(end.ticket()).cuts == 1


def test_scanner_virtual_reads_a_code_appended_to_its_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    codes = tmp_path / "scanner-1/codes.txt"  # the virtual reader's file: DATA/<device>/codes.txt
    stop = threading.Event()

    def technician() -> None:
        while not stop.is_set():
            if codes.exists():
                with open(codes, "a", encoding="utf-8") as fh:
                    fh.write("000.17.22.H56-210531-0001\n")
            stop.wait(0.3)
    t = threading.Thread(target=technician, daemon=True)
    t.start()
    try:
        rc, out, err = run(capsys, "scanner", str(SMALL), "--device", "scanner-1", "--data", str(tmp_path),
                           "--timeout", "10")
    finally:
        stop.set()
        t.join()
    assert rc == 0, err
    assert f"append a code to {codes}" in out and "read '000.17.22.H56-210531-0001'" in out
