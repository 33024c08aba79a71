"""A procedure's printed checklist: its ESC/POS bytes decoded, the byte budget held for every
procedure of the sample catalogue on 80 and 58 mm paper, and the printer daemon's job path."""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import zxingcpp

from edge import protocol as P
from edge.bus import wait_until
from hub.catalogue import to_procedure
from printer.checklist import BYTES_PER_MM, budget, build_checklist, document_line
from printer.daemon import PrinterDaemon
from printer.decode import decode
from printer.layout import PAPER_DOTS

ROOT = Path(__file__).resolve().parent.parent
RECORDS = json.loads((ROOT / "config" / "examples" / "catalogue-ward.json").read_text(encoding="utf-8"))["DanhSach"]
OFFICE = "UBND phường Hải Châu - Bộ phận Một cửa"
AT = datetime(2026, 11, 23, 9, 5)


def proc(code: str) -> P.Procedure:
    return to_procedure(next(r for r in RECORDS if r["MaTTHC"] == code))


def test_checklist_bytes_decode_to_the_procedure() -> None:
    p = proc("1.001193")
    c = build_checklist(p, OFFICE, AT, 80, native_qr=True)
    dec = decode(c.data, 576)
    assert dec.cuts == 1 and not dec.unknown
    assert dec.qr == [p.url]
    assert dec.texts == ["Ma TTHC: 1.001193", "09:05  23/11/2026"]  # the only native text: ASCII
    joined = " ".join(c.lines)
    for d in p.documents:
        assert document_line(d) in joined
    assert "☐ Tờ khai đăng ký khai sinh theo mẫu — 01 bản chính" in joined
    assert "- Lệ phí đăng ký khai sinh đúng hạn: Miễn lệ phí" in joined
    for heading in ("Giấy tờ cần mang theo:", "Phí, lệ phí:", "Thời hạn giải quyết:", "Nơi nộp hồ sơ:",
                    "Dịch vụ công trực tuyến:", "Biểu mẫu:"):
        assert heading in c.lines
    assert "Nơi nhận kết quả:" not in c.lines  # the same place as submission: said once
    for text, raster in c.rasters:  # each line went as its own raster, in order
        assert raster in c.data, text
    img = dec.image
    assert img.size == c.size and img.width == 576
    out = Path(os.environ.get("MOTCUA_SCREENSHOTS", "/nonexistent"))
    if out.is_dir():
        img.save(out / "checklist-80mm.png")
    assert [r.text for r in zxingcpp.read_barcodes(img.convert("L"))] == [p.url]


@pytest.mark.parametrize("paper", [80, 58])
def test_every_sample_checklist_stays_within_the_ticket_byte_budget(paper: int) -> None:
    for rec in RECORDS:
        p = to_procedure(rec)
        c = build_checklist(p, OFFICE, AT, paper, native_qr=True)
        assert len(c.data) <= budget(c, paper), (p.code, len(c.data), budget(c, paper))
        assert c.size[0] == PAPER_DOTS[paper]
    assert BYTES_PER_MM == 12 * 1024 // 95


def test_raster_qr_for_printers_without_a_qr_engine() -> None:
    p = proc("2.000884")
    c = build_checklist(p, OFFICE, AT, 58, native_qr=False)
    dec = decode(c.data, 384)
    assert dec.qr == [] and [r.text for r in zxingcpp.read_barcodes(dec.image.convert("L"))] == [p.url]


def test_printer_daemon_prints_a_checklist_job_once(office: Any) -> None:
    d = PrinterDaemon(office.ctx("printer-1", "printer"))
    d.start()
    results: list[dict[str, Any]] = []
    w = office.client("admin")
    w.subscribe(office.topics.print_result("printer-1"), lambda t, b: results.append(json.loads(b)))
    try:
        job = P.ChecklistPrintJob(job_id="kiosk-3-tt-1", kind="checklist", procedure=proc("1.000656"),
                                  source="kiosk-3", created_at=P.rfc3339(datetime.now().astimezone()))
        w.publish(office.topics.print_job("printer-1"), job)
        w.publish(office.topics.print_job("printer-1"), job)  # a retry: printed once
        assert wait_until(lambda: any(r["outcome"] == "printed" for r in results), 10), results
        assert d.backend.printed == ["kiosk-3-tt-1"]
        assert (d.backend.output_dir / "kiosk-3-tt-1.png").exists()
        assert decode(d.backend.last_bytes).texts[0] == "Ma TTHC: 1.000656"
        bad = job.wire()
        bad.update(job_id="kiosk-3-tt-2", procedure={"code": "x"})
        w.publish(office.topics.print_job("printer-1"), bad)
        assert wait_until(lambda: any(r["job_id"] == "kiosk-3-tt-2" and r["outcome"] == "rejected" for r in results), 5)
        assert d.backend.printed == ["kiosk-3-tt-1"]
    finally:
        d.stop()
