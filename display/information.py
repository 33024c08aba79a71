"""Information screens (`display` mode `information`): slides from a folder on a schedule.

The folder (``content_dir``, default DATA/<id>/content) holds images (PNG, JPEG, WebP, BMP),
PDF files (each page a slide, rendered with pypdfium2 when it is installed), and ``.txt``
notices (a slide of large text); they play in name order. ``schedule`` names a subfolder per
time span of the day ("07:00-11:30" = "sang"): in that span its slides play instead of the
folder's own. Procedure cards from the hub's catalogue are added to each round
(``procedure_cards``), and the office notice (``display/notice``) is laid over every slide
until its ``until``. A technician changes what plays by copying files: the folder is looked
at again at every round. Videos (MP4, MKV, AVI, MOV, WebM) play to their end, without
sound, where the host has ffmpeg (display/video.py); elsewhere they are skipped with a log line.

The schedule follows the office clock (``ctx.clock``, so a simulated or injected clock
switches it); slide durations and transitions are real seconds.
"""
from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pygame
import qrcode

from display import video
from display.screen import ScreenDaemon
from edge import protocol as P
from edge.bus import RequestTimeout
from edge.daemon import DaemonContext
from edge.ui import UiLoop
from edge.ui.text import blit_text

log = logging.getLogger(__name__)

IMAGES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
VIDEOS = (".mp4", ".mkv", ".avi", ".mov", ".webm")
FPS = 25  # transition frames per second
CACHE_SLIDES = 12  # rendered slides kept (others are rendered again when their turn comes)
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

BG = (12, 30, 56)
WHITE = (255, 255, 255)
GOLD = (255, 210, 80)
INK = (20, 24, 32)


# ------------------------------------------------------------------ schedule and slides


def parse_span(text: str) -> tuple[time, time]:
    m = _SPAN.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a span like '07:00-11:30'")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    if not (h1 < 24 and m1 < 60 and h2 <= 24 and m2 < 60) or (h2, m2) <= (h1, m1):
        raise ValueError(f"{text!r} is not a span within one day")
    return time(h1, m1), (time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2))


class Schedule:
    """Which subfolder plays at a time of day ("" for the folder itself)."""

    def __init__(self, spans: dict[str, str]) -> None:
        self.spans = [(*parse_span(k), v) for k, v in spans.items()]

    def folder(self, t: time) -> str:
        for start, end, name in self.spans:
            if start <= t < end:
                return name
        return ""


@dataclass(frozen=True)
class Slide:
    kind: str                      # image | pdf | notice | procedure | video
    key: str                       # what identifies it (path[#page] or procedure code)
    path: Path | None = None
    page: int = 0
    text: str = ""
    procedure: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def pdf_pages(path: Path) -> int:
    try:
        import pypdfium2 as pdfium
    except ImportError:
        log.warning("%s: PDF slides need pypdfium2 (pip install pypdfium2); skipped", path.name)
        return 0
    try:
        doc = pdfium.PdfDocument(str(path))
    except Exception as exc:  # noqa: BLE001 - a broken PDF is skipped, not fatal
        log.warning("%s: cannot open the PDF (%s); skipped", path.name, exc)
        return 0
    try:
        return len(doc)
    finally:
        doc.close()


def scan_folder(folder: Path) -> list[Slide]:
    """The slides a folder holds, in name order (subfolders are the schedule's, not listed)."""
    if not folder.is_dir():
        return []
    out: list[Slide] = []
    for p in sorted(folder.iterdir(), key=lambda x: x.name.lower()):
        if not p.is_file() or p.name.startswith("."):
            continue
        ext = p.suffix.lower()
        if ext in IMAGES:
            out.append(Slide("image", str(p), p))
        elif ext == ".pdf":
            out.extend(Slide("pdf", f"{p}#{i}", p, i) for i in range(pdf_pages(p)))
        elif ext == ".txt":
            try:
                text = P.nfc(p.read_text(encoding="utf-8").strip())
            except (OSError, UnicodeDecodeError) as exc:
                log.warning("%s: not readable UTF-8 text (%s); skipped", p.name, exc)
                continue
            if text:
                out.append(Slide("notice", str(p), p, text=text))
        elif ext in VIDEOS:
            if video.available():
                out.append(Slide("video", str(p), p))
            else:
                log.info("%s: video needs ffmpeg on this host; skipped", p.name)
    return out


class Show:
    """The running order: slides of the folder for now, then procedure cards; no pygame."""

    def __init__(self, root: Path, schedule: Schedule) -> None:
        self.root = root
        self.schedule = schedule
        self.folder = ""
        self.slides: list[Slide] = []
        self.cards: list[Slide] = []
        self.index = -1

    def playlist(self) -> list[Slide]:
        return self.slides + self.cards

    def refresh(self, now: datetime) -> bool:
        """Look at the folder for `now` again; True when the schedule switched folders."""
        folder = self.schedule.folder(now.time())
        switched = folder != self.folder
        self.folder = folder
        self.slides = scan_folder(self.root / folder if folder else self.root)
        if switched:
            self.index = -1
        return switched

    def next(self, now: datetime) -> Slide | None:
        """The slide after the current one (a new round re-reads the folder)."""
        if self.index + 1 >= len(self.playlist()) or self.index < 0:
            self.refresh(now)
            self.index = -1
        items = self.playlist()
        if not items:
            return None
        self.index = (self.index + 1) % len(items)
        return items[self.index]


# ------------------------------------------------------------------ rendering


def _fit(img: pygame.Surface, size: tuple[int, int]) -> pygame.Surface:
    W, H = size
    w, h = img.get_size()
    k = min(W / w, H / h)
    scaled = pygame.transform.smoothscale(img, (max(1, int(w * k)), max(1, int(h * k))))
    out = pygame.Surface(size)
    out.fill((0, 0, 0))
    out.blit(scaled, ((W - scaled.get_width()) // 2, (H - scaled.get_height()) // 2))
    return out


def _pil_to_surface(img: Any) -> pygame.Surface:
    img = img.convert("RGB")
    return pygame.image.frombytes(img.tobytes(), img.size, "RGB")


def render(slide: Slide, size: tuple[int, int]) -> pygame.Surface:
    """One slide as a screen-sized surface (an unreadable file becomes a plain slide, not a crash)."""
    W, H = size
    try:
        if slide.kind == "image":
            return _fit(pygame.image.load(str(slide.path)).convert(), size)
        if slide.kind == "pdf":
            import pypdfium2 as pdfium
            doc = pdfium.PdfDocument(str(slide.path))
            try:
                page = doc[slide.page]
                pw, ph = page.get_size()
                scale = min(W / pw, H / ph)
                img = page.render(scale=scale).to_pil()
            finally:
                doc.close()
            return _fit(_pil_to_surface(img), size)
    except Exception as exc:  # noqa: BLE001 - a broken file must not stop the screen
        log.warning("slide %s cannot be shown: %s", slide.key, exc)
        return _text_slide(f"({Path(slide.key).name})", size)
    if slide.kind == "procedure":
        return _card(slide.procedure, size)
    return _text_slide(slide.text, size)


def _text_slide(text: str, size: tuple[int, int]) -> pygame.Surface:
    W, H = size
    s = pygame.Surface(size)
    s.fill(BG)
    m = W // 16
    head, _, rest = text.partition("\n")
    y = blit_text(s, head, pygame.Rect(m, H // 8, W - 2 * m, H // 4), H // 10, GOLD, bold=True)
    if rest.strip():
        blit_text(s, rest.strip(), pygame.Rect(m, y + H // 20, W - 2 * m, H - y - H // 5), H // 16, WHITE)
    return s


def _card(p: dict[str, Any], size: tuple[int, int]) -> pygame.Surface:
    """A procedure card: name, field, time limit, fees, documents, the portal QR."""
    W, H = size
    s = pygame.Surface(size)
    s.fill(BG)
    m = W // 24
    qr_side = H // 3 if p.get("url") else 0
    text_w = W - 2 * m - (qr_side + m if qr_side else 0)
    blit_text(s, "THỦ TỤC HÀNH CHÍNH", pygame.Rect(m, m // 2, text_w, H // 14), H // 22, GOLD, bold=True, align="left")
    y = blit_text(s, p.get("name", ""), pygame.Rect(m, m // 2 + H // 14, text_w, H // 5), H // 14, WHITE, bold=True,
                  align="left", valign="top")
    meta = f"Mã {p.get('code', '')}" + (f" · {p['field']}" if p.get("field") else "")
    y = blit_text(s, meta, pygame.Rect(m, y + 6, text_w, H // 18), H // 30, (180, 200, 230), align="left", wrap=False)
    lines: list[tuple[str, str]] = []
    if p.get("time_limit"):
        lines.append(("Thời hạn giải quyết", p["time_limit"]))
    fees = "; ".join(f"{f['name']}: {f['amount']}" for f in p.get("fees") or [])
    if fees:
        lines.append(("Phí, lệ phí", fees))
    docs = p.get("documents") or []
    if docs:
        lines.append(("Giấy tờ cần mang", "; ".join(d["name"] for d in docs[:4]) + ("…" if len(docs) > 4 else "")))
    if p.get("submit_at"):
        lines.append(("Nơi nộp hồ sơ", p["submit_at"]))
    size_txt = H // 28
    for label, value in lines:
        y = blit_text(s, label, pygame.Rect(m, y + H // 40, text_w, size_txt + 10), size_txt, GOLD, bold=True,
                      align="left", wrap=False)
        y = blit_text(s, value, pygame.Rect(m, y, text_w, size_txt * 3 + 12), size_txt, WHITE, align="left",
                      valign="top")
        if y > H - m:
            break
    if qr_side:
        q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=2)
        q.add_data(p["url"])
        q.make(fit=True)
        img = _pil_to_surface(q.make_image(fill_color="black", back_color="white").get_image())
        s.blit(pygame.transform.scale(img, (qr_side, qr_side)), (W - m - qr_side, H // 6))
        blit_text(s, "Xem và nộp trực tuyến", pygame.Rect(W - m - qr_side, H // 6 + qr_side + 8, qr_side, H // 20),
                  H // 36, WHITE, wrap=False)
    return s


def compose(old: pygame.Surface | None, new: pygame.Surface, t: float, kind: str) -> pygame.Surface:
    """The frame `t` (0..1) of the transition from `old` to `new`."""
    if old is None or kind == "none" or t >= 1:
        return new
    frame = old.copy()
    if kind == "slide":
        W = new.get_width()
        x = int(W * (1 - t))
        frame.blit(old, (x - W, 0))
        frame.blit(new, (x, 0))
        return frame
    new.set_alpha(int(255 * t))
    frame.blit(new, (0, 0))
    new.set_alpha(None)
    return frame


def draw_notice(surface: pygame.Surface, text: str) -> None:
    W, H = surface.get_size()
    band = pygame.Rect(0, H - H // 9, W, H // 9)
    overlay = pygame.Surface(band.size, pygame.SRCALPHA)
    overlay.fill((150, 20, 20, 225))
    surface.blit(overlay, band.topleft)
    blit_text(surface, text, band.inflate(-W // 20, -H // 60), H // 22, WHITE, bold=True)


# ------------------------------------------------------------------ the daemon


class InformationScreen(ScreenDaemon):
    what = "information"
    minute_tick = False  # the slides and the clock watch redraw it

    def __init__(self, ctx: DaemonContext) -> None:
        super().__init__(ctx)
        root = Path(self.dev.content_dir) if self.dev.content_dir else ctx.state_dir / "content"
        if not root.is_absolute() and ctx.config_path is not None:
            root = Path(ctx.config_path).parent / root
        root.mkdir(parents=True, exist_ok=True)
        self.show = Show(root, Schedule(self.dev.schedule))
        self.current: Slide | None = None
        self.notice: P.Notice | None = None
        self.slides_shown = 0
        self._frame: pygame.Surface | None = None
        self._old: pygame.Surface | None = None
        self._new: pygame.Surface | None = None
        self._t = 1.0
        self._gen = 0
        self._cache: OrderedDict[str, pygame.Surface] = OrderedDict()  # rendered slides, newest last
        self._slide_timer: Any = None
        self._player: video.VideoPlayer | None = None
        self._pending: tuple[int, bytes] | None = None
        self._frame_lock = threading.Lock()
        self.video_frames = 0
        self._card_offset = 0

    def start(self) -> None:
        super().start()
        self.bus.set_status("ok", {"mode": "information", "content": str(self.show.root)})
        if self.dev.procedure_cards:
            self._fetch_cards()

    def stop(self) -> None:
        super().stop()
        if self._player is not None:
            self._player.stop()

    def subscribe(self) -> None:
        self.bus.subscribe(self.ctx.topics.display_notice, self._on_notice)

    # ---------------------------------------------------------------- UI thread
    def setup(self, loop: UiLoop) -> None:
        self.show.refresh(self.ctx.clock.now())
        self._advance()
        self._watch_clock()

    def paint(self, surface: pygame.Surface) -> None:
        if self._new is None:
            surface.fill(BG)
            blit_text(surface, self.ctx.cfg.office.name, surface.get_rect().inflate(-80, -200),
                      surface.get_height() // 14, WHITE, bold=True)
        else:
            surface.blit(compose(self._old, self._new, self._t, self.dev.transition), (0, 0))
        text = self._notice_text()
        if text:
            draw_notice(surface, text)

    def _notice_text(self) -> str:
        n = self.notice
        if n is None or not n.text.strip():
            return ""
        if n.until:
            try:
                if self.ctx.clock.now() >= datetime.fromisoformat(n.until):
                    return ""
            except ValueError:
                pass
        return n.text.strip()

    def _watch_clock(self) -> None:
        """Once a second: switch at once when the schedule's folder changes (or the notice ends)."""
        assert self.loop is not None
        now = self.ctx.clock.now()
        if self.show.schedule.folder(now.time()) != self.show.folder:
            log.info("schedule: now playing %s", self.show.schedule.folder(now.time()) or "the content folder")
            self.show.refresh(now)
            self._advance()
        elif self.notice is not None and self.notice.until:
            self.loop.invalidate()
        self.loop.call_later(1.0, self._watch_clock)

    def _advance(self) -> None:
        assert self.loop is not None
        if self._slide_timer is not None:
            self._slide_timer.cancel()
        if self._player is not None:
            self._player.stop()
            self._player = None
        slide = self.show.next(self.ctx.clock.now())
        if slide is not None and slide.kind == "video":
            self._play(slide)
            return
        if slide is not None:
            new = self._surface(slide)  # rendered first: the transition starts from a ready slide
            self._old, self._new, self._frame = self._frame, new, new
            self._t = 0.0 if self._old is not None and self.dev.transition != "none" and self.dev.transition_s > 0 else 1.0
            self.slides_shown += 1
        self.current = slide
        if slide is not None:
            self._gen += 1
            if self._t < 1.0:
                gen = self._gen
                self.loop.call_later(1.0 / FPS, lambda: self._tick(gen))
            if self.show.index == len(self.show.playlist()) - 1 and self.dev.procedure_cards:
                self._fetch_cards()  # the next round gets other cards
        self.loop.invalidate()
        self._slide_timer = self.loop.call_later(self.dev.slide_s, self._advance)

    def _play(self, slide: Slide) -> None:
        """A video slide: frames as ffmpeg decodes them; the next slide when it ends."""
        assert self.loop is not None and slide.path is not None
        self._gen += 1
        gen = self._gen
        self.current = slide
        self.slides_shown += 1
        size = self.loop.size
        loop = self.loop

        def frame(data: bytes) -> None:
            # only the newest frame waits for the UI thread: a slow screen drops frames, never queues them
            with self._frame_lock:
                scheduled = self._pending is not None
                self._pending = (gen, data)
            if not scheduled:
                loop.call_soon(self._video_frame)

        def end() -> None:
            loop.call_soon(self._video_end, gen)

        self._player = video.VideoPlayer(slide.path, size, 25, frame, end).start()
        # a video that never ends (a stream, a hung decoder) still gives way after its cap
        self._slide_timer = self.loop.call_later(self._player.max_s + 5, self._advance)

    def _video_frame(self) -> None:
        with self._frame_lock:
            pending, self._pending = self._pending, None
        if pending is None:
            return
        gen, data = pending
        if gen != self._gen or self.loop is None:
            return  # a frame of a video that was stopped
        surf = pygame.image.frombuffer(data, self.loop.size, "RGB").copy()
        self._old, self._new, self._frame, self._t = None, surf, surf, 1.0
        self.video_frames += 1
        self.loop.invalidate()

    def _video_end(self, gen: int) -> None:
        if gen == self._gen:
            self._player = None
            self._advance()

    def _tick(self, gen: int) -> None:
        assert self.loop is not None
        if gen != self._gen:
            return  # a newer slide started its own transition
        self._t = min(1.0, self._t + 1.0 / (FPS * max(0.05, self.dev.transition_s)))
        self.loop.invalidate()
        if self._t < 1.0:
            self.loop.call_later(1.0 / FPS, lambda: self._tick(gen))
        else:
            self._old = None

    def _surface(self, slide: Slide) -> pygame.Surface:
        assert self.loop is not None
        stamp = ""
        if slide.path is not None:
            try:
                stamp = str(slide.path.stat().st_mtime_ns)
            except OSError:
                stamp = "gone"
        key = f"{slide.key}@{stamp}@{slide.text[:40]}"
        surf = self._cache.get(key)
        if surf is None:
            surf = render(slide, self.loop.size)
            self._cache[key] = surf
            while len(self._cache) > CACHE_SLIDES:  # a 1920x1080 slide is 8 MB: keep a few
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return surf

    # ---------------------------------------------------------------- bus side
    def _on_notice(self, topic: str, payload: bytes) -> None:
        notice = self.bus.parse_payload(topic, payload, P.Notice) if payload else None
        if payload and notice is None:
            return  # reported on the error topic by the bus
        if self.loop is not None:
            self.loop.call_soon(self._set_notice, notice)

    def _set_notice(self, notice: P.Notice | None) -> None:
        self.notice = notice
        if self.loop is not None:
            self.loop.invalidate()

    def _fetch_cards(self) -> None:
        threading.Thread(target=self._cards_worker, name=f"information-cards-{self.dev.id}", daemon=True).start()

    def _cards_worker(self) -> None:
        t = self.ctx.topics
        try:
            rep = self.bus.request(t.procedures_search, {"query": "", "limit": self.dev.procedure_cards,
                                                         "offset": self._card_offset}, timeout=2.0, retries=1)
            if not rep.get("ok"):
                return
            total = int(rep.get("total") or 0)
            self._card_offset = (self._card_offset + self.dev.procedure_cards) % max(1, total)
            cards = []
            for row in rep.get("procedures") or []:
                got = self.bus.request(t.procedures_get, {"code": row["code"]}, timeout=2.0, retries=1)
                if got.get("ok"):
                    cards.append(Slide("procedure", f"procedure:{row['code']}:{got['procedure'].get('updated', '')}",
                                       procedure=got["procedure"]))
        except RequestTimeout:
            log.info("the hub did not answer; procedure cards left as they were")
            return
        if self.loop is not None:
            self.loop.call_soon(self._set_cards, cards)

    def _set_cards(self, cards: list[Slide]) -> None:
        self.show.cards = cards


def create_information(ctx: DaemonContext) -> InformationScreen:
    return InformationScreen(ctx)
