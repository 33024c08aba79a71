"""The camera monitor (`display` mode `cameras`): a grid of the office's cameras on a dedicated screen.

Each tile shows one camera's sub-stream (decoding is what a small box pays for, so the
grid never opens a main stream), labelled with its counter, the number being served and
the clerk signed in, from the retained counter states. A tile is outlined amber while its
counter is paused and red while the camera reports the open counter's desk empty for too
long (`event/camera/presence` absent, until present; the camera's retained status carries
`desk_absent` too, so a monitor started later knows). A tile whose stream is lost says so
and its feed reconnects with backoff. One decoding thread per camera keeps only the
latest frame, already shrunk to its tile; the UI thread repaints at `monitor_fps` at most,
and only when a frame or a label changed.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import cv2
import numpy as np
import pygame

from edge import protocol as P
from edge.daemon import DaemonContext
from edge.ui import UiLoop, UiThread, device_loop
from edge.ui.text import blit_text

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 10.0
# OpenCV's FFmpeg backend opens RTSP in ~0.7 s with these (5 s without; HARDWARE.md)
CAPTURE_OPTIONS = "rtsp_transport;tcp|analyzeduration;1000000|probesize;100000"
TIMEOUT_MS = 5000  # a camera silent this long is lost (open and read)

BG = (8, 14, 24)
BAND = (12, 35, 64)
WHITE = (255, 255, 255)
SOFT = (190, 208, 230)
AMBER = (235, 160, 30)
RED = (220, 60, 60)
LOST = (40, 44, 52)

TEXTS = {
    "title": "GIÁM SÁT CAMERA",
    "counter": "Quầy {n}",
    "hall": "Khu vực {a}",
    "serving": "Đang phục vụ {num}",
    "idle": "Chưa gọi số",
    "closed": "Quầy đóng",
    "paused": "TẠM DỪNG",
    "absent": "VẮNG MẶT TẠI QUẦY",
    "lost": "Mất tín hiệu camera",
    "reconnecting": "Đang kết nối lại…",
    "connecting": "Đang kết nối…",
    "no_clerk": "chưa đăng nhập",
}


# ==================================================================== the feeds (one thread each)

class TileFeed:
    """Decodes one camera's sub-stream, keeps the latest frame at the tile's size (RGB)."""

    def __init__(self, cam: Any, on_frame: Any = None) -> None:
        self.cam = cam
        self.url = cam.sub_stream or cam.source
        self.virtual = cam.backend == "virtual" and not cam.sub_stream
        self.on_frame = on_frame
        self.size = (320, 180)
        self.frame: np.ndarray | None = None
        self.state = "connecting"  # connecting | live | lost
        self.error: str | None = None
        self.frames = 0  # frames kept for the screen
        self.decoded = 0  # frames decoded
        self.interval = 0.0  # seconds between kept frames (the screen's repaint period)
        self.reconnects = 0
        self.people = 1  # a virtual desk camera shows a clerk while the counter is open
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"monitor-{cam.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def latest(self) -> np.ndarray | None:
        with self._lock:
            return self.frame

    def _keep(self, bgr: np.ndarray) -> None:
        w, h = self.size
        small = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA) if bgr.shape[1::-1] != (w, h) else bgr
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        with self._lock:
            self.frame = rgb
            self.frames += 1
        if self.state != "live":
            log.info("monitor: camera %s live", self.cam.id)
        self.state, self.error = "live", None
        if self.on_frame:
            self.on_frame()

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                before = self.frames
                if self.virtual:
                    self._run_virtual()
                else:
                    self._run_stream()
                if self.frames > before:
                    backoff = 1.0  # it showed pictures: a new loss starts the backoff again
            except Exception as exc:  # noqa: BLE001 - a broken stream must not end the feed
                log.exception("monitor: camera %s feed failed", self.cam.id)
                self.error = str(exc)
            if self._stop.is_set():
                break
            self.state = "lost"
            self.reconnects += 1
            if self.on_frame:
                self.on_frame()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _run_stream(self) -> None:
        if self.url is None:
            self.error = "no sub_stream or source configured"
            return
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", CAPTURE_OPTIONS)
        target: int | str = int(self.url) if self.url.isdigit() else self.url
        live = isinstance(target, int) or "://" in str(target)
        if isinstance(target, int):
            cap = cv2.VideoCapture(target)
        else:
            cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, TIMEOUT_MS,
                                                            cv2.CAP_PROP_READ_TIMEOUT_MSEC, TIMEOUT_MS])
        try:
            if not cap.isOpened():
                self.error = f"cannot open {self.url}"
                return
            fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
            period = 1.0 / fps if 0 < fps <= 60 else 0.1
            next_t = time.monotonic()
            kept = 0.0
            while not self._stop.is_set():
                # every frame is decoded (grab) to stay current; only those the screen can show
                # are converted and shrunk (retrieve)
                ok = cap.grab()
                if not ok and not live and self.decoded:  # a recorded file plays in a loop
                    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    ok = cap.grab()
                if not ok:
                    self.error = f"no frame from {self.url}"
                    return
                self.decoded += 1
                now = time.monotonic()
                if now - kept >= self.interval:
                    ok, frame = cap.retrieve()
                    if not ok or frame is None:
                        self.error = f"no frame from {self.url}"
                        return
                    kept = now
                    self._keep(frame)
                if not live:  # a file is read at its own pace, like a camera
                    next_t += period
                    delay = next_t - time.monotonic()
                    if delay > 0:
                        self._stop.wait(delay)
                    else:
                        next_t = time.monotonic()
        finally:
            cap.release()

    def _run_virtual(self) -> None:
        from scanner.camera.synth import Scene
        kind = "desk" if self.cam.counter is not None else "waiting"
        w, h = self.size
        scene = Scene(kind, w, h, seed=self.cam.counter or 7, people=self.people)
        while not self._stop.wait(1.0 / min(self.cam.fps, 5)):
            if (w, h) != self.size:
                return  # the tile changed size: start a scene of the new size
            scene.people = self.people
            self._keep(scene.frame())


# ==================================================================== what the tiles say

@dataclass
class Tile:
    cam_id: str
    counter: int | None
    area: str | None
    counter_name: str | None = None
    status: str | None = None  # the counter's: open | paused | closed
    staff: str | None = None
    serving: str | None = None
    absent: bool = False
    texts: list[str] = field(default_factory=list)  # what was drawn, for tests

    @property
    def title(self) -> str:
        if self.counter is not None:
            return self.counter_name or TEXTS["counter"].format(n=self.counter)
        return TEXTS["hall"].format(a=self.area or self.cam_id)

    @property
    def outline(self) -> tuple[int, int, int] | None:
        if self.status == "paused":
            return AMBER
        if self.absent and self.status == "open":
            return RED
        return None


class MonitorView:
    """The tiles and their labels, fed from MQTT (no pygame here)."""

    def __init__(self, cams: list[Any]) -> None:
        self.tiles = [Tile(c.id, c.counter, c.area) for c in cams]
        self.by_cam = {t.cam_id: t for t in self.tiles}

    def counter_state(self, state: P.CounterState) -> bool:
        changed = False
        for t in self.tiles:
            if t.counter == state.counter:
                t.counter_name, t.status, t.staff = state.name, state.status, state.staff
                t.serving = state.serving.number if state.serving else None
                if state.status != "open":
                    t.absent = False
                changed = True
        return changed

    def camera_status(self, status: P.DeviceStatus) -> bool:
        """A counter camera's retained status says whether it is warning of an empty desk now."""
        tile = self.by_cam.get(status.device)
        absent = status.detail.get("desk_absent")
        if tile is None or not isinstance(absent, bool) or absent == tile.absent:
            return False
        tile.absent = absent
        return True

    def presence(self, ev: P.CameraEvent) -> bool:
        tile = self.by_cam.get(ev.device)
        if tile is None or ev.state not in ("absent", "present"):
            return False
        tile.absent = ev.state == "absent"
        return True


def grid(n: int, w: int, h: int) -> tuple[int, int]:
    """Columns and rows for n tiles on a w x h area, tiles as close to 16:9 as fits."""
    best = (1, n)
    best_score = -1.0
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        tw, th = w / cols, h / rows
        fit = min(tw, th * 16 / 9)  # the 16:9 picture's width inside a tile
        score = fit * fit * 9 / 16 * n  # shown picture area
        if score > best_score:
            best, best_score = (cols, rows), score
    return best


def layout(n: int, size: tuple[int, int]) -> tuple[pygame.Rect, list[pygame.Rect]]:
    w, h = size
    header = pygame.Rect(0, 0, w, max(28, h // 22))
    cols, rows = grid(max(1, n), w, h - header.h)
    tw, th = w // cols, (h - header.h) // rows
    rects = [pygame.Rect((i % cols) * tw, header.h + (i // cols) * th, tw, th) for i in range(n)]
    return header, rects


def picture_rect(tile: pygame.Rect) -> pygame.Rect:
    """Where the video goes in a tile: above the label band, inside the outline."""
    band = max(22, tile.h // 7)
    return pygame.Rect(tile.x + 4, tile.y + 4, tile.w - 8, tile.h - band - 8)


def draw(surface: pygame.Surface, view: MonitorView, feeds: dict[str, TileFeed], office: str,
         now: datetime) -> None:
    surface.fill(BG)
    header, rects = layout(len(view.tiles), surface.get_size())
    pygame.draw.rect(surface, BAND, header)
    blit_text(surface, f"{TEXTS['title']} · {office}", header.inflate(-24, -6), header.h * 3 // 5, WHITE,
              bold=True, align="left", wrap=False)
    blit_text(surface, now.strftime("%H:%M  %d/%m/%Y"), header.inflate(-24, -6), header.h * 3 // 5, SOFT,
              align="right", wrap=False)
    for tile, rect in zip(view.tiles, rects):
        _draw_tile(surface, tile, feeds.get(tile.cam_id), rect)


def _draw_tile(surface: pygame.Surface, tile: Tile, feed: TileFeed | None, rect: pygame.Rect) -> None:
    pic = picture_rect(rect)
    tile.texts = []
    frame = feed.latest() if feed else None
    if feed is not None and feed.state == "live" and frame is not None:
        img = pygame.image.frombuffer(frame.tobytes(), (frame.shape[1], frame.shape[0]), "RGB")
        if img.get_size() != pic.size:
            img = pygame.transform.scale(img, pic.size)
        surface.blit(img, pic.topleft)
    else:
        pygame.draw.rect(surface, LOST, pic)
        first = TEXTS["connecting"] if feed is None or feed.state == "connecting" else TEXTS["lost"]
        second = "" if first == TEXTS["connecting"] else TEXTS["reconnecting"]
        tile.texts += [first] + ([second] if second else [])
        mid = pic.inflate(-pic.w // 8, -pic.h // 2)
        blit_text(surface, first, pygame.Rect(mid.x, mid.y, mid.w, mid.h // 2), mid.h // 3, RED, bold=True, wrap=False)
        if second:
            blit_text(surface, second, pygame.Rect(mid.x, mid.centery, mid.w, mid.h // 2), mid.h // 4, SOFT, wrap=False)
    band = pygame.Rect(rect.x + 4, pic.bottom, rect.w - 8, rect.bottom - 4 - pic.bottom)
    pygame.draw.rect(surface, BAND, band)
    if tile.counter is not None:
        if tile.status == "open":
            what = TEXTS["serving"].format(num=tile.serving) if tile.serving else TEXTS["idle"]
        elif tile.status == "paused":
            what = TEXTS["paused"]
        else:
            what = TEXTS["closed"]
        who = tile.staff or TEXTS["no_clerk"]
        label = f"{tile.title} · {what} · {who}" if tile.status in ("open", "paused") else f"{tile.title} · {what}"
    else:
        label = tile.title
    tile.texts.insert(0, label)
    blit_text(surface, label, band.inflate(-12, -4), band.h * 3 // 5, WHITE, bold=True, align="left", wrap=False)
    colour = tile.outline
    if colour is not None:
        pygame.draw.rect(surface, colour, rect.inflate(-2, -2), 6)
        flag = TEXTS["paused"] if colour == AMBER else TEXTS["absent"]
        tile.texts.append(flag)
        fr = pygame.Rect(pic.x + 8, pic.y + 8, min(pic.w - 16, pic.w * 3 // 4), max(20, pic.h // 7))
        pygame.draw.rect(surface, colour, fr)
        blit_text(surface, flag, fr.inflate(-8, -2), fr.h * 3 // 4, WHITE, bold=True, wrap=False)


# ==================================================================== daemon

class CameraMonitorDaemon:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.dev = ctx.device
        wanted = self.dev.cameras
        cams = [d for d in ctx.cfg.devices if d.kind == "camera" and (wanted is None or d.id in wanted)]
        if wanted is not None:
            order = {cid: i for i, cid in enumerate(wanted)}
            cams.sort(key=lambda d: order[d.id])
        self.view = MonitorView(cams)
        self.feeds = {c.id: TileFeed(c, self._frame_arrived) for c in cams}
        for feed in self.feeds.values():
            feed.interval = 0.9 / self.dev.monitor_fps
        self.bus = ctx.bus()
        self.loop: UiLoop | None = None
        self.screen_seq = 0
        self._fresh = threading.Event()
        self._minute = -1
        self._ui = UiThread(f"cameras-{ctx.device_id}", self._ui_main)

    def start(self) -> None:
        self._ui.start("camera monitor UI")
        t = self.ctx.topics
        self.bus.subscribe(t.counter_state_all, self._on_counter)
        self.bus.subscribe(t.camera_event("presence"), self._on_presence)
        for cam_id in self.feeds:
            self.bus.subscribe(t.device_status(cam_id), self._on_camera_status)
        self.bus.start(wait=5)
        for feed in self.feeds.values():
            feed.start()

    def stop(self) -> None:
        for feed in self.feeds.values():
            feed._stop.set()
        for feed in self.feeds.values():
            feed.stop()
        self._ui.stop(self.loop)
        self.bus.stop()

    def healthy(self) -> bool:
        return self._ui.alive() and all(f._thread.is_alive() for f in self.feeds.values())

    def screenshot(self, path: Any, timeout: float = 10.0) -> Any:
        """Save the screen as it is drawn now (on the UI thread); returns the path."""
        from edge.ui.shot import save_screenshot
        done = threading.Event()

        def shoot() -> None:
            assert self.loop is not None and self.loop.on_draw is not None
            self.loop.on_draw(self.loop.surface)  # paint what is pending first
            save_screenshot(self.loop.surface, path)
            done.set()

        assert self.loop is not None
        self.loop.call_soon(shoot)
        if not done.wait(timeout):
            raise TimeoutError("screenshot not taken")
        return path

    def _frame_arrived(self) -> None:
        self._fresh.set()

    # ---------------------------------------------------------------- bus thread
    def _on_counter(self, topic: str, payload: bytes) -> None:
        if not payload:
            return  # a cleared retained state
        state = self.bus.parse_payload(topic, payload, P.CounterState)
        if state is not None and self.loop is not None:
            self.loop.call_soon(self._apply, self.view.counter_state, state)

    def _on_camera_status(self, topic: str, payload: bytes) -> None:
        if not payload:
            return
        status = self.bus.parse_payload(topic, payload, P.DeviceStatus)
        if status is not None and self.loop is not None:
            self.loop.call_soon(self._apply, self.view.camera_status, status)

    def _on_presence(self, topic: str, payload: bytes) -> None:
        ev = self.bus.parse_payload(topic, payload, P.CameraEvent)
        if ev is not None and self.loop is not None:
            self.loop.call_soon(self._apply, self.view.presence, ev)

    # ---------------------------------------------------------------- UI thread
    def _apply(self, fn: Any, value: Any) -> None:
        if fn(value):
            for tile in self.view.tiles:  # a virtual desk shows its clerk while there is one
                feed = self.feeds[tile.cam_id]
                feed.people = 0 if tile.counter is not None and (tile.status != "open" or tile.absent) else 1
            assert self.loop is not None
            self.loop.invalidate()

    def _ui_main(self) -> None:
        loop = device_loop(self.ctx, self.ctx.cfg.office.name)
        self.loop = loop
        _, rects = layout(len(self.view.tiles), loop.size)
        for tile, rect in zip(self.view.tiles, rects):
            self.feeds[tile.cam_id].size = picture_rect(rect).size

        def on_draw(surface: pygame.Surface) -> None:
            draw(surface, self.view, self.feeds, self.ctx.cfg.office.name, self.ctx.clock.now())
            self.screen_seq += 1

        loop.on_draw = on_draw
        self._tick()
        self._ui.ready.set()
        try:
            loop.run()
        finally:
            pygame.display.quit()

    def _tick(self) -> None:
        """Repaint at most `monitor_fps` times a second, when a frame arrived, a feed was lost
        or the header's minute changed; the device status names the lost cameras."""
        assert self.loop is not None
        minute = self.ctx.clock.now().minute
        if self._fresh.is_set() or minute != self._minute:
            self._fresh.clear()
            self._minute = minute
            self.loop.invalidate()
        lost = sorted(cid for cid, f in self.feeds.items() if f.state == "lost")
        self.bus.set_status("warning" if lost else "ok", {"mode": "cameras", "cameras": len(self.feeds),
                                                          "lost": lost})
        self.loop.call_later(1.0 / self.dev.monitor_fps, self._tick)


def create_monitor(ctx: DaemonContext) -> CameraMonitorDaemon:
    return CameraMonitorDaemon(ctx)
