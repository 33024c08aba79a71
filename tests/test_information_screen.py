"""Information screens: the schedule switching folders at its times on an injected clock,
images, PDF pages and notices from a folder, procedure cards from the catalogue over MQTT,
the office notice laid over the slides, transitions; screenshots of each."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pygame
import pytest
from harness import TestOffice, copy_config
from PIL import Image, ImageDraw, ImageFont

from display.information import InformationScreen, Schedule, Show, compose, scan_folder
from edge import protocol as P
from edge.bus import wait_until
from edge.clock import ManualClock
from edge.config.model import Catalogue as CatalogueConfig
from edge.ui import font_path, save_screenshot
from hub.catalogue import Catalogue
from hub.catalogue_import import import_file
from hub.catalogue_service import CatalogueService

ROOT = Path(__file__).resolve().parent.parent
HAVE_FFMPEG = shutil.which("ffmpeg") is not None  # videos play only where the host has it
SCREEN = ('[[devices]]\nid = "display-7"\nkind = "display"\nmode = "information"\nfullscreen = false\n'
          'width = 960\nheight = 540\nslide_s = 2\ntransition = "fade"\ntransition_s = 0.4\n'
          'procedure_cards = {cards}\ncontent_dir = "{content}"\nschedule = {{ "08:00-11:30" = "sang" }}\n\n[hub]')


def poster(size: tuple[int, int], colour: tuple[int, int, int], lines: list[str]) -> Image.Image:
    img = Image.new("RGB", size, colour)
    d = ImageDraw.Draw(img)
    y = size[1] // 6
    for i, text in enumerate(lines):
        f = ImageFont.truetype(font_path(i == 0), 44 if i == 0 else 30)
        d.text((size[0] // 12, y), text, fill=(255, 255, 255) if sum(colour) < 400 else (0, 0, 0), font=f)
        y += 70 if i == 0 else 46
    return img


def make_video(path: Path, seconds: float) -> None:
    """A short real video (ffmpeg's test pattern and a moving box), H.264 in MP4."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=320x180:rate=25:duration={seconds}",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", str(path)], check=True, timeout=60)


def make_content(root: Path) -> None:
    (root / "sang").mkdir(parents=True)
    poster((800, 450), (0, 90, 40), ["Chào mừng quý khách", "đến Trung tâm Phục vụ hành chính công",
                                     "Xin lấy số thứ tự tại máy ở cửa vào"]).save(root / "01-xanh.png")
    (root / "02-thong-bao.txt").write_text("Lịch tiếp công dân\nChủ tịch UBND phường tiếp công dân vào sáng thứ Năm "
                                           "hằng tuần tại phòng tiếp dân.", encoding="utf-8")
    if HAVE_FFMPEG:
        make_video(root / "03-clip.mp4", 1.5)
    poster((800, 450), (20, 40, 160), ["Buổi sáng", "Tiếp nhận hồ sơ từ 7 giờ 30 đến 11 giờ 30"]).save(
        root / "sang" / "01-lam.png")
    pages = [poster((842, 595), (200, 30, 30), ["QUY TRÌNH TIẾP NHẬN HỒ SƠ", "1. Lấy số thứ tự",
                                                 "2. Chờ gọi số tại khu vực chờ", "3. Nộp hồ sơ tại quầy",
                                                 "4. Nhận giấy hẹn trả kết quả"]),
             poster((842, 595), (230, 200, 20), ["TRA CỨU HỒ SƠ", "Quét mã trên giấy hẹn tại máy tra cứu"])]
    pages[0].save(root / "sang" / "02-quy-trinh.pdf", save_all=True, append_images=pages[1:])


def test_schedule_and_the_running_order(tmp_path: Path) -> None:
    make_content(tmp_path)
    sch = Schedule({"08:00-11:30": "sang", "13:30-17:00": "chieu"})
    assert sch.folder(time(7, 59)) == "" and sch.folder(time(8, 0)) == "sang" and sch.folder(time(11, 30)) == ""
    assert [s.kind for s in scan_folder(tmp_path)] == ["image", "notice"] + (["video"] if HAVE_FFMPEG else [])
    assert [s.key.rsplit("/", 1)[-1] for s in scan_folder(tmp_path / "sang")] == \
        ["01-lam.png", "02-quy-trinh.pdf#0", "02-quy-trinh.pdf#1"]
    show = Show(tmp_path, sch)
    day = datetime(2026, 11, 23, 7, 59)
    assert [show.next(day).kind for _ in range(4)] == (["image", "notice", "video", "image"] if HAVE_FFMPEG
                                                       else ["image", "notice", "image", "notice"])
    assert show.refresh(day.replace(hour=8)) is True
    assert [show.next(day.replace(hour=8)).key.rsplit("/", 1)[-1] for _ in range(4)] == \
        ["01-lam.png", "02-quy-trinh.pdf#0", "02-quy-trinh.pdf#1", "01-lam.png"]
    (tmp_path / "sang" / "00-moi.png").write_bytes((tmp_path / "01-xanh.png").read_bytes())
    keys = [show.next(day.replace(hour=9)).key.rsplit("/", 1)[-1] for _ in range(4)]
    assert "00-moi.png" in keys  # a file copied in plays from the next round
    with pytest.raises(ValueError):
        Schedule({"9h-10h": "x"})


def test_fade_and_slide_frames() -> None:
    pygame.display.init()
    a, b = pygame.Surface((100, 50)), pygame.Surface((100, 50))
    a.fill((0, 0, 0))
    b.fill((200, 100, 0))
    r, g, b_, _ = compose(a, b, 0.5, "fade").get_at((50, 25))
    assert abs(r - 100) <= 2 and abs(g - 50) <= 2 and b_ == 0
    frame = compose(a, b, 0.5, "slide")
    assert frame.get_at((10, 25))[:3] == (0, 0, 0) and frame.get_at((90, 25))[:3] == (200, 100, 0)
    assert compose(None, b, 0.0, "fade") is b


def grab(scr: InformationScreen, path: Path | None = None) -> pygame.Surface:
    seq = scr.screen_seq
    scr.loop.invalidate()
    scr.loop.call_soon(lambda: None)
    assert wait_until(lambda: scr.screen_seq > seq, 5)
    out: list[pygame.Surface] = []
    done = threading.Event()

    def take() -> None:
        out.append(scr.loop.surface.copy())
        if path is not None:
            save_screenshot(scr.loop.surface, path)
        done.set()
    scr.loop.call_soon(take)
    assert done.wait(5)
    return out[0]


def shots(tmp: Path) -> Path:
    return Path(os.environ.get("MOTCUA_SCREENSHOTS", tmp))


def test_screen_switches_at_its_times_with_pdf_pages_and_the_notice(tmp_path: Path) -> None:
    content = tmp_path / "content"
    make_content(content)
    cfg = copy_config(tmp_path, replace={"[hub]": SCREEN.format(cards=0, content=content)})
    office = TestOffice(tmp_path / "data", cfg).start()
    tz = office.cfg.office.tz
    clock = ManualClock(tz, datetime(2026, 11, 23, 7, 59, 58, tzinfo=tz))
    scr = InformationScreen(office.ctx("display-7", "display", clock=clock))
    scr.start()
    try:
        assert scr.current is not None and scr.show.folder == ""
        assert wait_until(lambda: scr.current.kind == "notice" and scr._t >= 1.0, 5)
        grab(scr, shots(tmp_path) / "information-notice-slide.png")
        clock.set(datetime(2026, 11, 23, 8, 0, 0, tzinfo=tz))   # the morning folder, at once
        assert wait_until(lambda: scr.show.folder == "sang" and scr.current.key.endswith("01-lam.png"), 3)
        assert wait_until(lambda: scr.current.kind == "pdf", 6)
        assert wait_until(lambda: scr._t >= 1.0, 3)
        surf = grab(scr, shots(tmp_path) / "information-pdf.png")
        r, g, b, _ = surf.get_at((480, 270))
        r, g, b, _ = surf.get_at((300, 500))
        assert r > 150 and g < 80 and b < 80, (r, g, b)   # the PDF's first (red) page fills the screen
        admin = office.client("admin")
        until = clock.now() + timedelta(minutes=30)
        admin.publish(office.topics.display_notice, P.Notice(text="Từ 14 giờ hôm nay tạm dừng tiếp nhận hồ sơ đất đai",
                                                             until=P.rfc3339(until)), retain=True)
        assert wait_until(lambda: scr.notice is not None, 5)
        surf = grab(scr, shots(tmp_path) / "information-notice-overlay.png")
        r, g, b, _ = surf.get_at((10, 540 - 20))
        assert r > 120 and g < 60, (r, g, b)    # the red notice band over the slide
        clock.set(until + timedelta(seconds=1))  # the notice's time is over
        assert wait_until(lambda: grab(scr).get_at((10, 520))[:3] != (r, g, b), 5)
        clock.set(datetime(2026, 11, 23, 11, 30, 0, tzinfo=tz))  # back to the folder itself
        assert wait_until(lambda: scr.show.folder == "" and scr.current.key.endswith("01-xanh.png"), 3)
        assert scr.healthy()
    finally:
        scr.stop()
        office.close()


def test_procedure_cards_come_from_the_catalogue(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    cfg = copy_config(tmp_path, replace={"[hub]": SCREEN.format(cards=2, content=content)})
    office = TestOffice(tmp_path / "data", cfg).start()
    cat = Catalogue(tmp_path / "catalogue.sqlite")
    import_file(cat, ROOT / "config" / "examples" / "catalogue-ward.json", CatalogueConfig())
    service = CatalogueService(office.cfg, cat, None, None, tmp_path)
    hub = office.client("hub", "hub")  # the hub's own answers, from the real catalogue service
    hub.serve(office.topics.procedures_search, P.ProcedureSearchRequest, service.search)
    hub.serve(office.topics.procedures_get, P.ProcedureGetRequest, service.get)
    scr = InformationScreen(office.ctx("display-7", "display"))
    scr.start()
    try:
        assert wait_until(lambda: len(scr.show.cards) == 2, 10)
        first = cat.search("", limit=2)[1]
        assert [c.procedure["code"] for c in scr.show.cards] == [r.code for r in first]
        assert scr.show.cards[0].procedure["documents"]
        assert wait_until(lambda: scr.current is not None and scr.current.kind == "procedure", 8)
        assert wait_until(lambda: scr._t >= 1.0, 3)
        grab(scr, shots(tmp_path) / "information-procedure-card.png")
    finally:
        scr.stop()
        cat.close()
        office.close()


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg (Debian package) plays videos; this host has none")
def test_a_video_plays_to_its_end_then_the_next_slide(tmp_path: Path, monkeypatch: Any) -> None:
    content = tmp_path / "content"
    content.mkdir()
    make_video(content / "01-gioi-thieu.mp4", 1.5)
    Image.new("RGB", (320, 180), (0, 90, 40)).save(content / "02-anh.png")
    cfg = copy_config(tmp_path, replace={"[hub]": SCREEN.format(cards=0, content=content)})
    office = TestOffice(tmp_path / "data", cfg).start()
    scr = InformationScreen(office.ctx("display-7", "display"))
    scr.start()
    try:
        assert wait_until(lambda: scr.current is not None and scr.current.kind == "video" and scr.video_frames > 5, 10)
        grab(scr, shots(tmp_path) / "information-video.png")
        f0 = scr.video_frames
        assert wait_until(lambda: scr.video_frames > f0, 3)  # frames keep coming
        # 1.5 s of video at 25 fps, then the image (long before the 2 s slide time would matter twice)
        assert wait_until(lambda: scr.current.kind == "image", 8), scr.current
        assert 20 <= scr.video_frames <= 40, scr.video_frames
        assert scr._player is None
        # without ffmpeg the video is skipped, not shown broken
        from display import video
        monkeypatch.setattr(video, "available", lambda: False)
        assert [s.kind for s in scan_folder(content)] == ["image"]
    finally:
        scr.stop()
        office.close()
