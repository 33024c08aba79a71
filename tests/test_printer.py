"""Printer: ticket bytes decode back to an image whose QR reads; status validation; the daemon
over a real broker with the virtual backend (paper out, offline, expiry, restart) and a serial
printer on a pty pair."""
from __future__ import annotations

import json
import os
import pty
import threading
import time
import tty
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import zxingcpp
from pyzbar import pyzbar

from edge import protocol as P
from edge.bus import wait_until
from printer import escpos
from printer.daemon import PrinterDaemon
from printer.decode import decode
from printer.layout import TicketInfo, build_ticket, number_raster
from printer.status import parse

TZ = timezone(timedelta(hours=7))
INFO = TicketInfo(office_name="Bộ phận Một cửa UBND phường Bến Nghé", number="2023",
                  service_name="Chứng thực - Hộ tịch", issued_at=datetime(2026, 11, 21, 8, 15, 2, tzinfo=TZ),
                  qr_data="https://motcua.example.vn/ve/20261121-HT-0023", counters=("Quầy 1", "Quầy 2"),
                  waiting_ahead=5, estimated_wait_s=900, priority="elderly", footer="Xin cảm ơn quý khách!")


@pytest.mark.parametrize("paper,dots", [(80, 576), (58, 384)])
@pytest.mark.parametrize("native", [True, False])
def test_ticket_bytes_decode_to_readable_qr(paper, dots, native):
    data = build_ticket(INFO, paper, native)
    dec = decode(data, dots)
    assert dec.unknown == []
    assert dec.cuts == 1 and len(dec.pages) == 1
    assert "2023" not in dec.texts and "08:15:02  21/11/2026" in dec.texts  # the number is a raster
    assert dec.image.width == dots
    assert dec.rasters >= 6  # Vietnamese lines went as raster
    assert (dec.qr == [INFO.qr_data]) == native
    codes = zxingcpp.read_barcodes(dec.image)
    assert [c.text for c in codes] == [INFO.qr_data]
    zbar = pyzbar.decode(dec.image.convert("L"))
    assert [z.data.decode() for z in zbar] == [INFO.qr_data]
    if paper == 80 and native:
        assert len(data) <= 12 * 1024, len(data)


def test_vietnamese_never_sent_as_text_and_number_as_double_raster():
    data = build_ticket(INFO, 80, True)
    assert "SỐ".encode() not in data and "Ư".encode() not in data
    assert b"2023" not in data and escpos.size(8, 8) not in data  # not the printer's (slashed-zero) font
    big = number_raster("2023", 576)
    assert big in data and big.startswith(b"\x1dv0\x03")  # GS v 0 mode 3: 2x2 dots per pixel
    assert len(big) <= 2500


def _glyph_columns(img) -> list[tuple[int, int]]:
    """x ranges of the ink columns of a 1-line image (one per glyph when glyphs do not touch)."""
    px = img.convert("L").load()
    ink = [any(px[x, y] < 128 for y in range(img.height)) for x in range(img.width)]
    runs, start = [], None
    for x, on in enumerate(ink + [False]):
        if on and start is None:
            start = x
        elif not on and start is not None:
            runs.append((start, x))
            start = None
    return runs


def _zero_has_empty_middle(img, x0: int, x1: int) -> bool:
    px = img.convert("L").load()
    rows = [y for y in range(img.height) if any(px[x, y] < 128 for x in range(x0, x1))]
    y0, y1 = rows[0], rows[-1]
    cx0, cx1 = x0 + (x1 - x0) * 2 // 5, x0 + (x1 - x0) * 3 // 5
    cy0, cy1 = y0 + (y1 - y0) * 2 // 5, y0 + (y1 - y0) * 3 // 5
    return all(px[x, y] >= 128 for x in range(cx0, cx1) for y in range(cy0, cy1))


def test_big_number_zero_is_not_slashed_and_keeps_its_height():
    dec = decode(escpos.INIT + number_raster("2008", 576), 576)
    img = dec.image.crop(dec.image.convert("L").point(lambda v: 255 - v).getbbox())
    cols = _glyph_columns(img)
    assert len(cols) == 4, cols  # 2, 0, 0, 8
    assert _zero_has_empty_middle(img, *cols[1]) and _zero_has_empty_middle(img, *cols[2])
    assert not _zero_has_empty_middle(img, *cols[3])  # the check sees ink where there is some: 8's waist
    assert 110 <= img.height <= 140 and img.width <= 576
    for number in ("K01", "A001", "99999", "WWWWWW"):  # wider numbers shrink to the paper, never past it
        big = number_raster(number, 384)
        assert 2 * 8 * (big[4] | big[5] << 8) <= 384, number  # printed width: 2 dots per pixel


def test_counter_places_name_zone_floor_and_ranges():
    from edge.config import load
    from printer.layout import service_places
    prov = load(Path(__file__).resolve().parents[1] / "config/examples/province.toml")
    assert service_places(prov, "KH") == ("Khu D – Tầng 2, Quầy D01–D06",)
    ward = load(Path(__file__).resolve().parents[1] / "config/examples/ward.toml")  # one floor: no floor named
    assert service_places(ward, "HT") == ("Quầy 2, Quầy 3, Quầy 6 - Ưu tiên",)


def test_long_province_ticket_stays_near_the_budget():
    info = TicketInfo(office_name="Trung tâm Phục vụ hành chính công tỉnh Hưng Yên", number="D008",
                      service_name="Tài chính - Đầu tư - Doanh nghiệp", issued_at=INFO.issued_at,
                      qr_data="https://dichvucong.example.gov.vn/tra-cuu-stt?ve=20261121-KH-0008",
                      counters=("Khu D – Tầng 2, Quầy D01–D06",), waiting_ahead=12, estimated_wait_s=2700,
                      priority="other", priority_name="Người có công với cách mạng",
                      footer="Trung tâm Phục vụ hành chính công xin cảm ơn!")
    data = build_ticket(info, 80, True)
    dec = decode(data, 576)
    assert dec.unknown == [] and dec.rasters == 9  # each line one raster: nothing wrapped to a second one
    assert len(data) <= 14 * 1024, len(data)


def test_non_ascii_number_goes_as_raster():
    info = TicketInfo(**{**INFO.__dict__, "number": "Đ12"})
    dec = decode(build_ticket(info, 80, True))
    assert "Đ12" not in "".join(dec.texts) and dec.unknown == []


def test_decoder_reports_garbage_instead_of_crashing():
    dec = decode(b"\x1b@hello\n\x1d\x99\x01\xff" + b"\x1dv0\x00\x10\x00")
    assert "hello" in dec.texts
    assert any("GS 0x99" in u for u in dec.unknown)
    assert any("truncated" in u for u in dec.unknown)


def test_status_bytes_are_validated():
    unknown = parse(None, None, None)  # a silent printer is unknown: a warning, never "ok"
    assert unknown.online is None and unknown.paper == "unknown" and unknown.state == "warning"
    garbage = parse(0x00, 0xFF, 0x00)  # fails the fixed-bit pattern: not "fine"
    assert garbage.online is None and garbage.paper == "unknown" and garbage.state == "warning"
    assert parse(0x16, 0x12, 0x12).state == "ok"
    low = parse(0x16, 0x12, 0x1E)
    assert low.paper == "low" and low.state == "warning"
    out = parse(0x1E, 0x32, 0x72)
    assert out.paper == "out" and out.problem == "paper_out" and out.state == "error"
    cover = parse(0x1E, 0x16, 0x12)
    assert cover.cover_open and cover.problem == "cover_open"


# ------------------------------------------------------------------------- daemon


class Watch:
    """Collects results and device status from a real MQTT client."""

    def __init__(self, office, printer: str = "printer-1") -> None:
        self.results: list[dict] = []
        self.status: dict = {}
        c = office.client("admin")
        c.subscribe(office.topics.print_result(printer), lambda t, p: self.results.append(json.loads(p)))
        c.subscribe(office.topics.device_status(printer), lambda t, p: self.status.update(json.loads(p)))
        self.client = c

    def outcomes(self, job_id: str) -> list[str]:
        return [r["outcome"] for r in self.results if r["job_id"] == job_id]


def job(office, job_id: str, number: str = "2001", created: datetime | None = None) -> dict:
    now = created or datetime.now(office.cfg.office.tz)
    t = {"ticket_id": f"20261121-HT-{number}", "number": number, "seq": 1, "service": "HT",
         "service_name": "Chứng thực - Hộ tịch", "priority": "none", "day": now.date().isoformat(),
         "issued_at": P.rfc3339(now), "status": "waiting", "counter": None}
    return {"job_id": job_id, "ticket": t, "waiting_ahead": 2, "estimated_wait_s": 300,
            "source": "kiosk-1", "created_at": P.rfc3339(now)}


@pytest.fixture()
def printer(office):
    daemons = []

    def make():
        d = PrinterDaemon(office.ctx("printer-1", "printer"))
        d.start()
        daemons.append(d)
        return d

    yield make
    for d in daemons:
        if d.healthy():
            d.stop()


def test_daemon_prints_once_and_reports(office, printer):
    w = Watch(office)
    d = printer()
    out = d.backend.output_dir
    kiosk = office.client("kiosk-1", kind="kiosk")
    assert wait_until(lambda: w.status.get("state") == "ok", 5), w.status
    j = job(office, "k1-1")
    kiosk.publish(office.topics.print_job("printer-1"), j)
    kiosk.publish(office.topics.print_job("printer-1"), j)  # retry with the same id
    assert wait_until(lambda: "printed" in w.outcomes("k1-1"), 5), w.results
    time.sleep(0.3)
    assert d.backend.printed == ["k1-1"]
    png = out / "k1-1.png"
    assert png.exists()
    from PIL import Image
    assert [c.text for c in zxingcpp.read_barcodes(Image.open(png))] == \
        ["https://motcua.example.vn/ve/20261121-HT-2001"]
    # bad input: clear error, daemon keeps serving
    errors = []
    w.client.subscribe(office.topics.error, lambda t, p: errors.append(json.loads(p)))
    kiosk.publish(office.topics.print_job("printer-1"), b"not json")
    kiosk.publish(office.topics.print_job("printer-1"), {"job_id": "bad-1", "ticket": {}})
    assert wait_until(lambda: "rejected" in w.outcomes("bad-1") and errors, 5)
    kiosk.publish(office.topics.print_job("printer-1"), job(office, "k1-2", "2002"))
    assert wait_until(lambda: "printed" in w.outcomes("k1-2"), 5)


def test_paper_out_holds_job_until_paper_returns(office, printer):
    w = Watch(office)
    d = printer()
    d.backend.set_state(paper="out")
    assert wait_until(lambda: w.status.get("detail", {}).get("problem") == "paper_out", 8), w.status
    assert w.status["state"] == "error"
    kiosk = office.client("kiosk-1", kind="kiosk")
    kiosk.publish(office.topics.print_job("printer-1"), job(office, "po-1"))
    assert wait_until(lambda: "queued" in w.outcomes("po-1"), 5)
    time.sleep(0.5)
    assert "printed" not in w.outcomes("po-1")
    d.backend.set_state(paper="low")
    assert wait_until(lambda: "printed" in w.outcomes("po-1"), 10), w.results
    assert w.status["state"] == "warning" and w.status["detail"]["paper"] == "low"


def test_offline_job_survives_restart_and_old_jobs_expire(office, printer):
    w = Watch(office)
    d = printer()
    d.backend.set_state(online=False)
    assert wait_until(lambda: w.status.get("detail", {}).get("problem") == "offline", 8), w.status
    kiosk = office.client("kiosk-1", kind="kiosk")
    old = datetime.now(office.cfg.office.tz) - timedelta(seconds=3600)
    kiosk.publish(office.topics.print_job("printer-1"), job(office, "old-1", "2005", created=old))
    kiosk.publish(office.topics.print_job("printer-1"), job(office, "off-1", "2006"))
    assert wait_until(lambda: "queued" in w.outcomes("off-1"), 5)
    d.stop()
    d.backend.set_state(online=True)
    d2 = printer()  # a new process would see the same SQLite file
    assert wait_until(lambda: "printed" in w.outcomes("off-1"), 10), w.results
    assert "expired" in w.outcomes("old-1") and "printed" not in w.outcomes("old-1")
    assert d2.backend.printed == ["off-1"]


# ------------------------------------------------------------------------- real lines


class FakeEnd:
    """The printer's end of a cable: answers DLE EOT with status bytes, keeps every other byte."""

    def __init__(self, read, write) -> None:
        self.read, self.write = read, write
        self.received = bytearray()
        self.paper = 0x12
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="fake-printer-end", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                chunk = self.read()
            except OSError:
                return
            if not chunk:
                return
            self.received.extend(chunk)
            i = 0
            while (i := chunk.find(b"\x10\x04", i)) >= 0 and i + 2 < len(chunk):
                n = chunk[i + 2]
                try:
                    self.write(bytes([{1: 0x16, 2: 0x12, 4: self.paper}.get(n, 0x12)]))
                except OSError:
                    return
                i += 3

    def ticket(self) -> bytes:
        start = self.received.rindex(escpos.INIT)
        end = self.received.index(escpos.cut(), start) + len(escpos.cut())
        return bytes(self.received[start:end])


def open_pty(link) -> tuple[int, int, FakeEnd]:
    master, slave = pty.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(os.ttyname(slave))  # like a udev symlink /dev/motcua-printer
    return master, slave, FakeEnd(lambda: os.read(master, 65536), lambda b: os.write(master, b))


def test_serial_printer_on_pty_real_bytes_status_and_replug(office, tmp_path):
    link = tmp_path / "motcua-printer"
    master, slave, end = open_pty(link)
    dev = office.cfg.device("printer-1").model_copy(update={
        "backend": "serial", "port": str(link), "baudrate": 115200, "flow_control": "none", "poll_s": 0.3})
    w = Watch(office)
    d = PrinterDaemon(office.ctx("printer-1", "printer", device=dev))
    d.start()
    fds = [master, slave]
    try:
        assert wait_until(lambda: w.status.get("state") == "ok", 5), w.status
        end.paper = 0x72  # paper out
        assert wait_until(lambda: w.status.get("detail", {}).get("problem") == "paper_out", 5), w.status
        end.paper = 0x12
        assert wait_until(lambda: w.status.get("state") == "ok", 5)
        kiosk = office.client("kiosk-1", kind="kiosk")
        kiosk.publish(office.topics.print_job("printer-1"), job(office, "ser-1", "2011"))
        assert wait_until(lambda: "printed" in w.outcomes("ser-1"), 5), w.results
        assert wait_until(lambda: escpos.cut() in end.received, 3)
        dec = decode(end.ticket(), 576)
        assert [c.text for c in zxingcpp.read_barcodes(dec.image)] == \
            ["https://motcua.example.vn/ve/20261121-HT-2011"]
        # unplug: the adapter disappears
        end.stop.set()
        os.close(master)
        os.close(slave)
        fds = []
        link.unlink()
        assert wait_until(lambda: w.status.get("detail", {}).get("problem") == "offline", 5), w.status
        kiosk.publish(office.topics.print_job("printer-1"), job(office, "ser-2", "2012"))
        assert wait_until(lambda: "queued" in w.outcomes("ser-2"), 5)
        # replug: a new device node behind the same name; no daemon restart
        master, slave, end = open_pty(link)
        fds = [master, slave]
        assert wait_until(lambda: "printed" in w.outcomes("ser-2"), 15), (w.results, w.status)
        assert wait_until(lambda: escpos.cut() in end.received, 3)
        assert number_raster("2012", 576) in end.ticket()  # the job of number 2012, its big number as drawn
        assert wait_until(lambda: w.status.get("state") == "ok", 5)
    finally:
        d.stop()
        end.stop.set()
        for fd in fds:
            os.close(fd)


def test_network_printer_gets_the_ticket(office):
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    ends: list[FakeEnd] = []

    def accept():
        conn, _ = srv.accept()
        ends.append(FakeEnd(lambda: conn.recv(65536), conn.sendall))

    threading.Thread(target=accept, name="fake-net-printer", daemon=True).start()
    dev = office.cfg.device("printer-1").model_copy(update={
        "backend": "network", "address": f"127.0.0.1:{port}", "poll_s": 0.5, "native_qr": False})
    w = Watch(office)
    d = PrinterDaemon(office.ctx("printer-1", "printer", device=dev))
    d.start()
    try:
        assert wait_until(lambda: w.status.get("state") == "ok", 5), w.status
        kiosk = office.client("kiosk-1", kind="kiosk")
        kiosk.publish(office.topics.print_job("printer-1"), job(office, "net-1", "2021"))
        assert wait_until(lambda: "printed" in w.outcomes("net-1"), 5), w.results
        assert wait_until(lambda: escpos.cut() in ends[0].received, 3)
        dec = decode(ends[0].ticket(), 576)
        assert dec.qr == []  # raster QR, as configured
        assert [c.text for c in zxingcpp.read_barcodes(dec.image)] == \
            ["https://motcua.example.vn/ve/20261121-HT-2021"]
    finally:
        d.stop()
        srv.close()
