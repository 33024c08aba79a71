"""The procedure kiosk end to end, all real: the hub (catalogue from the sample export), the
engine, the printer daemon (virtual backend) and the kiosk under SDL's dummy driver, driven by
real mouse events posted to SDL. Screens go to tmp or $MOTCUA_SCREENSHOTS (docs/screenshots)."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator

import pygame
import pytest
from harness import TestOffice, copy_config

from edge.bus import wait_until
from edge.ui import save_screenshot
from hub.daemon import HubDaemon
from kiosk.procedures import ProcedureController, ProcedureKiosk, paginate
from kiosk.ticket.controller import Screen as TicketScreen
from printer.daemon import PrinterDaemon
from edge import protocol as P
from printer.checklist import build_checklist
from printer.decode import decode

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "config" / "examples" / "catalogue-ward.json"
URL = "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1.001193"

KIOSK = """[[devices]]
id = "kiosk-3"
kind = "kiosk"
mode = "procedures"
printer = "printer-1"
fullscreen = false
width = 720
height = 1280
idle_timeout_s = 60

[catalogue]
files = ["catalogue-ward.json"]

[catalogue.services]
"Hộ tịch" = "HT"
"Chứng thực" = "HT"
"Đất đai" = "DD"

[hub]"""


def printed_lines(data: bytes, ref: Any) -> list[str]:
    """The reference layout's lines whose rasters are found in `data`, in order."""
    found, at = [], 0
    for line, raster in ref.rasters:
        i = data.find(raster, at)
        if i >= 0:
            found.append(line)
            at = i + len(raster)
    return found


def folder(tmp: Path) -> Path:
    return Path(os.environ.get("MOTCUA_SCREENSHOTS", tmp))


class Rig:
    def __init__(self, tmp: Path) -> None:
        cfg = copy_config(tmp, replace={"[hub]": KIOSK, "simulator_dossiers = 200": "simulator_dossiers = 20"})
        (tmp / "catalogue-ward.json").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
        self.tmp = tmp
        self.office = TestOffice(tmp / "data", cfg).start()
        self.hub = HubDaemon(self.office.ctx("hub", "hub"))
        self.hub.start()
        self.engine = self.office.start_engine()
        self.printer = PrinterDaemon(self.office.ctx("printer-1", "printer"))
        self.printer.start()
        self.kiosk = ProcedureKiosk(self.office.ctx("kiosk-3", "kiosk"))
        self.kiosk.start()
        self.issued: list[dict[str, Any]] = []
        w = self.office.client("admin")
        w.subscribe(self.office.topics.ticket_event("issued"), lambda t, p: self.issued.append(json.loads(p)))

    def close(self) -> None:
        self.kiosk.stop()
        self.printer.stop()
        self.hub.stop()
        self.office.close()

    @property
    def pc(self) -> ProcedureController:
        return self.kiosk.pc

    def settle(self) -> None:
        """Wait until the UI thread drew the current state."""
        seq = self.kiosk.screen_seq
        self.kiosk.loop.invalidate()
        self.kiosk.loop.call_soon(lambda: None)
        assert wait_until(lambda: self.kiosk.screen_seq > seq, 5)

    def click(self, value: tuple) -> None:
        """A real mouse click (SDL events) on the button whose action is `value`."""
        self.settle()
        assert wait_until(lambda: any(b.value == value and b.enabled for b in self.kiosk.buttons), 5), \
            ([b.value for b in self.kiosk.buttons], value)
        b = next(b for b in self.kiosk.buttons if b.value == value)
        self.click_at(b.rect.center)

    def click_at(self, pos: tuple[int, int]) -> None:
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1, touch=False))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1, touch=False))
        self.kiosk.loop._wake()

    def shot(self, name: str) -> Path:
        self.settle()
        done = threading.Event()
        out: list[Path] = []

        def grab() -> None:
            out.append(save_screenshot(self.kiosk.loop.surface, folder(self.tmp) / f"procedures-{name}.png"))
            done.set()
        self.kiosk.loop.call_soon(grab)
        assert done.wait(5)
        return out[0]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    try:
        assert wait_until(lambda: bool(r.pc.fields), 15), "the kiosk never got the catalogue's fields"
        assert wait_until(lambda: r.kiosk.ctrl.printer.get("state") in ("ok", "warning"), 10)
        yield r
    finally:
        r.close()


def test_browse_detail_print_qr_and_take_a_number(rig: Rig) -> None:
    pc = rig.pc
    img = pygame.image.load(str(rig.shot("home")))
    assert img.get_size() == (720, 1280)
    assert {f["name"] for f in pc.fields} >= {"Hộ tịch", "Chứng thực", "Đất đai"}

    rig.click(("field", "Hộ tịch"))
    assert wait_until(lambda: pc.screen == "list" and pc.list.rows, 5)
    assert pc.list.total == 4 and {r["field"] for r in pc.list.rows} == {"Hộ tịch"}
    rig.shot("field")

    rig.click(("procedure", "1.001193"))
    assert wait_until(lambda: pc.screen == "detail" and "documents" in (pc.procedure or {}), 5)
    p = pc.procedure
    assert p["name"] == "Đăng ký khai sinh" and p["service"] == "HT" and len(p["documents"]) == 4
    rig.shot("detail")

    # the checklist: a job to the printer daemon, laid out there, its bytes decoded here
    rig.click(("print",))
    assert wait_until(lambda: pc.print_state == "printed", 10), pc.print_state
    data = rig.printer.backend.last_bytes
    dec = decode(data, 576)
    assert dec.cuts == 1 and dec.qr == [URL] and "Ma TTHC: 1.001193" in dec.texts and not dec.unknown
    ref = build_checklist(P.Procedure.model_validate(p), rig.office.cfg.office.name, rig.kiosk.ctx.clock.now(),
                          80, rig.printer.native_qr)
    assert "☐ Giấy chứng sinh (hoặc văn bản của người làm chứng, giấy cam đoan về việc sinh) — 01 bản chính" \
        in " ".join(ref.lines)
    assert printed_lines(data, ref) == ref.lines  # every line of the layout is on the paper, in order
    rig.shot("printed")
    rig.click(("qr",))
    assert wait_until(lambda: pc.screen == "qr", 5)
    rig.shot("qr")
    rig.click(("back",))
    assert wait_until(lambda: pc.screen == "detail", 5)

    # "Lấy số cho thủ tục này": the ticket flow for service HT, then back to the procedure
    rig.click(("ticket",))
    assert wait_until(lambda: rig.kiosk.mode == "ticket" and rig.kiosk.ctrl.view.screen == TicketScreen.PRIORITY, 5)
    rig.click(("priority", "none"))
    assert wait_until(lambda: rig.kiosk.ctrl.view.screen == TicketScreen.TICKET and rig.kiosk.ctrl.view.printed, 10)
    rig.shot("ticket")
    assert [e["ticket"]["service"] for e in rig.issued] == ["HT"]
    assert rig.issued[0]["ticket"]["number"] == rig.kiosk.ctrl.view.ticket["number"]
    rig.click(("home",))
    assert wait_until(lambda: rig.kiosk.mode == "procedures" and pc.screen == "detail", 5)
    assert len(rig.issued) == 1


def test_search_by_typing_without_marks_and_idle_home(rig: Rig) -> None:
    pc = rig.pc
    rig.click(("search",))
    assert wait_until(lambda: pc.screen == "search", 5)
    kb = pc.keyboard
    for ch in "khai si":
        rig.settle()
        rig.click_at(kb.key_at("space" if ch == " " else f"char:{ch}").center)
        assert wait_until(lambda: kb.text.endswith(ch.strip()), 3), kb.text
    assert kb.text == "khai si"
    assert wait_until(lambda: pc.live and pc.live[0]["code"] == "1.001193", 5), pc.live
    rig.shot("search")
    rig.click_at(kb.key_at("enter").center)
    assert wait_until(lambda: pc.screen == "list" and pc.list.rows, 5)
    assert pc.list.rows[0]["code"] == "1.001193"
    rig.shot("results")
    # with marks typed on the keyboard's tone keys: "kết hôn"
    rig.click(("back",))
    assert wait_until(lambda: pc.screen == "search", 5)
    for action in ["clear", "char:k", "char:e", "shape:ê", "char:t", "tone:sac", "space", "char:h", "char:o", "shape:ô",
                   "char:n"]:
        rig.settle()
        rig.click_at(kb.key_at(action).center)
    assert wait_until(lambda: kb.text == "kết hôn", 3), kb.text
    rig.click_at(kb.key_at("enter").center)
    assert wait_until(lambda: pc.screen == "list" and pc.list.rows, 5)
    assert pc.list.rows[0]["code"] == "1.000894"
    # nobody touches it: home by itself
    pc.idle_timeout_s = 0.5
    rig.click(("procedure", "1.000894"))
    assert wait_until(lambda: pc.screen == "detail", 5)
    assert wait_until(lambda: pc.screen == "home", 5)
    assert pc.procedure is None


def test_the_hub_away_is_said_plainly(tmp_path: Path) -> None:
    asked: list[tuple] = []
    timers: list[tuple[float, Any]] = []
    c = ProcedureController(lambda *a: asked.append(a), lambda *a: None, lambda p: None, lambda s: None)
    c.set_timer = lambda delay, fn: timers.append((delay, fn))
    c.start()
    c.listed(-c._seq, None)  # the fields never came
    assert c.fields_error and timers and timers[-1][1] == c.start
    timers[-1][1]()
    assert len(asked) == 2 and asked[-1][:3] == ("", None, 0)
    c.set_timer = None
    c.open_field("Hộ tịch")
    c.listed(c._seq, None)
    assert c.list.error and "Chưa lấy được danh mục" in c.t("unavailable")
    c.open_procedure("1.001193")
    c.listed(c._seq - 1, {"ok": True, "procedures": [{"code": "x", "name": "late"}], "total": 1})
    c.got(c._seq, {"ok": True, "procedure": {"code": 5}})  # malformed: an error, not garbage
    assert c.procedure["error"] is True
    c.print_checklist()
    assert c.print_state is None  # nothing to print yet
    pygame.font.init()
    pages = paginate([("x " * 400, 0, False, (0, 0, 0))] * 3, 600, 400, 30)
    assert len(pages) == 3


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (720, 1280)])
def test_every_screen_keeps_its_buttons_on_screen_and_apart(size: tuple[int, int], tmp_path: Path) -> None:
    from edge.config.model import Catalogue as CatalogueConfig
    from edge.ui.keyboard import Keyboard
    from hub.catalogue import Catalogue
    from hub.catalogue_import import import_file
    from kiosk.procedures import draw
    pygame.display.init()
    cat = Catalogue(tmp_path / "c.sqlite")
    import_file(cat, SAMPLE, CatalogueConfig())
    W, H = size
    c = ProcedureController(lambda *a: None, lambda *a: None, lambda p: None, lambda s: None)
    c.fields = [f.wire() for f in cat.fields()]
    c.keyboard = Keyboard(pygame.Rect(16, H * 9 // 20, W * 3 // 5, H * 10 // 20) if W > H
                          else pygame.Rect(16, H * 12 // 20, W - 32, H * 7 // 20), "text")
    total, rows = cat.search("", field="Hộ tịch")
    surface = pygame.Surface(size)
    screens = {
        "home": {},
        "list": {"list": type(c.list)(title="Hộ tịch", field="Hộ tịch", total=total, rows=[r.wire() for r in rows])},
        "search": {"live": [r.wire() for r in cat.search("chung")[1]]},
        "detail": {"procedure": {**cat.get("1.000894").wire(), "service": "HT"}, "print_state": "printed"},
        "qr": {"procedure": {**cat.get("1.001193").wire(), "service": "HT"}},
    }
    for screen, state in screens.items():
        c.screen = screen
        for k, v in state.items():
            setattr(c, k, v)
        buttons = draw(surface, c, "UBND phường Hải Châu - Bộ phận Một cửa")
        rects = [pygame.Rect(b.rect) for b in buttons]
        assert rects, screen
        for i, r in enumerate(rects):
            assert surface.get_rect().contains(r), (screen, buttons[i].value, r)
            assert r.w >= 80 and r.h >= 40, (screen, buttons[i].value, r)   # a finger's target
            for j in range(i):
                assert not r.colliderect(rects[j]), (screen, buttons[i].value, buttons[j].value)
        if W > H and screen in ("detail", "search"):
            save_screenshot(surface, folder(tmp_path) / f"procedures-{screen}-landscape.png")
    if size == (1080, 1920):  # English is the second locale (the catalogue itself stays Vietnamese)
        c.lang, c.screen, c.procedure = "en", "detail", {**cat.get("1.001193").wire(), "service": "HT"}
        draw(surface, c, "UBND phường Hải Châu - Bộ phận Một cửa")
        assert c.t("ticket") == "Take a number for this"
        save_screenshot(surface, folder(tmp_path) / "procedures-detail-en.png")
    cat.close()
