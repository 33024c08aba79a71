"""The waiting-room calling board: bus in, pygame out, idle when nothing moves.

The bus worker applies retained state and events to a BoardState; the UI thread redraws
the whole screen only when that state changed, and otherwise wakes for three small things:
the minute (the clock region), the blink of a new call (the hero region, for `highlight_s`)
and, only when a notice is too long to stand still, the ticker strip.
"""
from __future__ import annotations

import heapq
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pygame

from display.calling.model import BoardState
from display.calling.render import Painter
from edge import protocol as P
from edge.daemon import DaemonContext
from edge.ui import UiLoop, save_screenshot

log = logging.getLogger(__name__)

BLINK_S = 0.5
CONNECTION_CHECK_S = 2.0


class CallingBoard:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.dev = ctx.device
        self.topics = ctx.topics
        self.clock = ctx.clock
        self.state = BoardState.from_config(ctx.cfg, self.dev.counters, self.dev.zones, self.dev.floors)
        self.bus = ctx.bus()
        self.loop: UiLoop | None = None
        self.painter: Painter | None = None
        self.ready = threading.Event()
        self.partial_updates = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._ui_main, name=f"display-{ctx.device_id}", daemon=True)
        self._blink_seq = 0
        self._blink_until = 0.0
        self._blink_on = True
        self._shown_connected = False
        self._ticker_offset = 0.0
        self._ticker_running = False
        self._ticker_notice: str | None = None
        self._wake = threading.Event()
        self._deadlines: list[float] = []
        self._screen_every = 0.0
        self._last_turn = time.monotonic()
        self._screen_drawn: tuple[int, int] = (-1, -1)
        self._tiles_path = ctx.state_dir / "tiles.json"
        self._tiles_saved: dict[str, Any] | None = None
        self._restore_tiles()
        self._page = 0
        self._page_until = 0.0  # monotonic time the current page may turn
        self._paging = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        t = self.topics
        self.bus.subscribe(t.queue_state, self._on_queue)
        self.bus.subscribe(t.counter_state_all, self._on_counter)
        self.bus.subscribe(t.display_notice, self._on_notice)
        for action in ("called", "recalled"):
            self.bus.subscribe(t.ticket_event(action), self._on_call)
        self.bus.on_connect(lambda: self._post(self._check_connection))
        self.bus.start()
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self.loop is not None:
            self.loop.stop()
        self._thread.join(timeout=10)
        self.bus.stop()
        self._save_tiles()  # what arrived after the last redraw is kept too

    def healthy(self) -> bool:
        """For the systemd watchdog: the UI thread runs and has turned within the last 30 s."""
        if not self._thread.is_alive():
            return False
        return not self.ready.is_set() or time.monotonic() - self._last_turn < 30.0

    def run_on_ui(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run `fn` on the UI thread and return its result (tools, tests, screenshots)."""
        if not self.ready.wait(timeout) or self.loop is None:
            raise RuntimeError("the board is not running")
        done = threading.Event()
        box: list[Any] = []

        def call() -> None:
            try:
                box.append(fn())
            finally:
                done.set()

        self._post(call)
        if not done.wait(timeout):
            raise TimeoutError("the UI thread did not answer")
        return box[0] if box else None

    def screenshot(self, path: Path | str, *, blink_on: bool | None = None,
                   ticker_offset: float | None = 0.0) -> Path:
        """Draw the current state and save it as PNG.

        By default the notice is drawn from its start, so pictures for the docs do not
        change from run to run; `blink_on` picks a blink phase (None: the current one).
        """
        def shot() -> Path:
            assert self.loop is not None
            saved = (self._blink_on, self._ticker_offset)
            if blink_on is not None:
                self._blink_on = blink_on
            if ticker_offset is not None:
                self._ticker_offset = ticker_offset
            try:
                self._draw(self.loop.surface)
                return save_screenshot(self.loop.surface, path)
            finally:
                self._blink_on, self._ticker_offset = saved
                self.loop.invalidate()
        return self.run_on_ui(shot)

    # ------------------------------------------------------------------ bus side

    def _post(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.loop is not None:
            self.loop.call_soon(fn, *args)
            self._wake.set()

    def _on_queue(self, topic: str, payload: bytes) -> None:
        qs = self.bus.parse_payload(topic, payload, P.QueueState)
        if qs is not None and self.state.apply_queue(qs):
            self._post(self._changed)

    def _on_counter(self, topic: str, payload: bytes) -> None:
        cs = self.bus.parse_payload(topic, payload, P.CounterState)
        if cs is not None and self.state.apply_counter(cs):
            self._post(self._changed)

    def _on_notice(self, topic: str, payload: bytes) -> None:
        notice = None if not payload else self.bus.parse_payload(topic, payload, P.Notice)  # empty: notice cleared
        if notice is not None and notice.boards is not None and self.ctx.device_id not in notice.boards:
            notice = P.Notice(text="")  # meant for other boards: this one shows none
        if (notice is not None or not payload) and self.state.apply_notice(notice):
            self._post(self._changed)

    def _on_call(self, topic: str, payload: bytes) -> None:
        ev = self.bus.parse_payload(topic, payload, P.TicketEvent)
        if ev is not None and self.state.apply_call(ev, self.topics.last_level(topic) == "recalled"):
            self._post(self._changed)

    # ------------------------------------------------------------------ UI thread

    def _ui_main(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                self.loop = UiLoop((self.dev.width, self.dev.height), self.dev.fullscreen,
                                   title=f"motcua {self.ctx.device_id}", hide_cursor=self.dev.fullscreen)
                break
            except pygame.error as exc:
                log.error("cannot open the screen: %s", exc)
                self.bus.set_status("error", {"mode": "calling", "error": f"no screen: {exc}"})
                if self._stopping.wait(min(30.0, 2.0 * 2 ** attempt)):
                    return
                attempt += 1
        if self.loop is None:
            return
        loop = self.loop
        self.painter = Painter(loop.size, self.ctx.cfg.office.name, self.dev.english,
                               counters=len(self.state.snapshot().counters))
        loop.on_draw = self._draw
        self._schedule_clock()
        self._later(CONNECTION_CHECK_S, self._connection_tick)
        self._screen_every = self._screenshot_interval()
        if self._screen_every:
            self._later(min(1.0, self._screen_every), self._screen_tick)
        if self.state.shown is not None and not self.state.snapshot().counters:
            log.warning("no counter of the config matches this board's counters/zones/floors")
            self.bus.set_status("warning", {"mode": "calling", "size": list(loop.size),
                                            "error": "no counter matches counters/zones/floors"})
        else:
            self.bus.set_status("ok", {"mode": "calling", "size": list(loop.size)})
        self.ready.set()
        try:
            self._run_loop()
        finally:
            pygame.display.quit()

    def _run_loop(self) -> None:
        """Sleep on a plain Event until the next tick or a bus update, then run one UI turn.

        The board takes no input, so it need not block in SDL: pygame.event.wait polls
        every millisecond on drivers without a native wait (dummy, and KMSDRM), which alone
        costs about 2 % of a core; this loop sleeps at about zero CPU instead.
        """
        assert self.loop is not None
        while not self._stopping.is_set():
            stepped = self._last_turn = time.monotonic()
            self.loop.step(0.0)
            while self._deadlines and self._deadlines[0] <= stepped:
                heapq.heappop(self._deadlines)
            timeout = 1.0  # window events (expose, close) are handled within a second
            if self._deadlines:
                timeout = min(timeout, max(0.0, self._deadlines[0] - time.monotonic()))
            self._wake.wait(timeout)
            self._wake.clear()

    def _later(self, delay_s: float, fn: Callable[[], Any]) -> None:
        assert self.loop is not None
        self.loop.call_later(delay_s, fn)
        heapq.heappush(self._deadlines, time.monotonic() + delay_s)

    def _draw(self, surface: pygame.Surface) -> None:
        assert self.painter is not None
        now = self.clock.now()
        snap = self.state.snapshot(now)
        self._shown_connected = self.bus.connected.is_set()
        self.painter.page = self._page
        self.painter.draw_all(surface, snap, now, self._blink_on, self._shown_connected, self._ticker_offset)
        self._page = self.painter.page
        self._update_ticker(snap.notice)
        if self.painter.page_count > 1 and not self._paging:
            self._paging = True
            self._page_until = time.monotonic() + self.dev.page_s
            self._later(self.dev.page_s, self._page_tick)

    def _restore_tiles(self) -> None:
        try:
            saved = json.loads(self._tiles_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s: %s", self._tiles_path, exc)
            return
        if isinstance(saved, dict):
            self.state.restore(saved, self.clock.today().isoformat())
            self._tiles_saved = saved

    def _save_tiles(self) -> None:
        """Keep the tiles' last numbers on disk when they changed (UI thread, or after it stopped)."""
        now = self.state.last_numbers()
        if now == self._tiles_saved or now["day"] is None:
            return
        self._tiles_saved = now
        tmp = self._tiles_path.with_name(".tiles.tmp")
        try:
            self._tiles_path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(now, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self._tiles_path)
        except OSError as exc:
            log.warning("cannot save %s: %s", self._tiles_path, exc)

    def show_page(self, page: int) -> None:
        """Show page `page` (UI thread); it stays `page_s` before the rotation goes on."""
        assert self.loop is not None
        self._page = page
        self._page_until = time.monotonic() + self.dev.page_s
        self.loop.invalidate()

    def _page_tick(self) -> None:
        """Turn to the next page of counters; stops when everything fits on one page again."""
        assert self.loop is not None and self.painter is not None
        if self.painter.page_count <= 1:
            self._paging = False
            return
        left = self._page_until - time.monotonic()
        if left > 0.05:  # a call showed another page meanwhile: let it stay its time
            self._later(left, self._page_tick)
            return
        self.show_page((self._page + 1) % self.painter.page_count)
        self._later(self.dev.page_s, self._page_tick)

    def _partial(self, rect: pygame.Rect) -> None:
        pygame.display.update(rect)
        self.partial_updates += 1

    def _changed(self) -> None:
        """State changed: redraw once; a new live call starts blinking."""
        assert self.loop is not None
        self.loop.invalidate()
        self._save_tiles()
        snap = self.state.snapshot()
        latest = snap.latest
        if latest is not None and latest.live and latest.seq != self._blink_seq:
            self._blink_seq = latest.seq
            page = self.painter.page_of(snap.counters, latest.counter) if self.painter else None
            if page is not None and page != self._page:  # the called counter's tile must be in sight
                self.show_page(page)
            self._blink_on = True
            if self.dev.highlight_s <= 0:
                self.state.settle()
                return
            first = self._blink_until <= time.monotonic()  # no blink timer running yet
            self._blink_until = time.monotonic() + self.dev.highlight_s
            if first:
                self._later(BLINK_S, self._blink_tick)

    def _blink_tick(self) -> None:
        assert self.loop is not None and self.painter is not None
        if time.monotonic() >= self._blink_until:
            self._blink_on = True
            self.state.settle()
            self.loop.invalidate()  # full redraw: the counter tile loses its highlight too
            return
        self._blink_on = not self._blink_on
        snap = self.state.snapshot()
        self._partial(self.painter.draw_hero(self.loop.surface, snap.latest, self._blink_on))
        self._later(BLINK_S, self._blink_tick)

    def _schedule_clock(self) -> None:
        assert self.loop is not None
        now = self.clock.now()
        office_s = 60.0 - now.second - now.microsecond / 1e6
        self._later(max(0.05, office_s / max(self.clock.speed, 1e-6)) + 0.01, self._clock_tick)

    def _clock_tick(self) -> None:
        assert self.loop is not None and self.painter is not None
        now = self.clock.now()
        snap = self.state.snapshot(now)
        if snap.notice != self._ticker_notice:  # a notice expired
            self.loop.invalidate()
        else:
            self._partial(self.painter.draw_header(self.loop.surface, now, self._shown_connected))
        self._schedule_clock()

    def _screenshot_interval(self) -> float:
        """Headless boards (simulated offices) keep a picture of their screen for people to see."""
        if self.dev.screenshot_s is not None:
            return float(self.dev.screenshot_s)
        return 5.0 if pygame.display.get_driver() in ("dummy", "offscreen") else 0.0

    def _screen_tick(self) -> None:
        assert self.loop is not None
        drawn = (self.loop.redraws, self.partial_updates)
        if drawn != self._screen_drawn:
            self._screen_drawn = drawn
            path = self.ctx.state_dir / "screen.png"
            tmp = path.with_name(".screen.tmp.png")
            try:
                pygame.image.save(self.loop.surface, str(tmp))
                tmp.replace(path)
            except (OSError, pygame.error) as exc:
                log.warning("cannot save %s: %s", path, exc)
        self._later(self._screen_every, self._screen_tick)

    def _connection_tick(self) -> None:
        self._check_connection()
        assert self.loop is not None
        self._later(CONNECTION_CHECK_S, self._connection_tick)

    def _check_connection(self) -> None:
        if self.loop is None or self.painter is None:
            return
        if self.bus.connected.is_set() != self._shown_connected:
            self._shown_connected = self.bus.connected.is_set()
            self._partial(self.painter.draw_header(self.loop.surface, self.clock.now(), self._shown_connected))

    def _update_ticker(self, notice: str) -> None:
        assert self.loop is not None and self.painter is not None
        if notice != self._ticker_notice:
            self._ticker_notice = notice
            self._ticker_offset = 0.0
        if self.painter.ticker_scrolls(notice) and not self._ticker_running:
            self._ticker_running = True
            self._later(1.0 / self.dev.scroll_fps, self._ticker_tick)

    def _ticker_tick(self) -> None:
        assert self.loop is not None and self.painter is not None
        notice = self._ticker_notice or ""
        if not self.painter.ticker_scrolls(notice):
            self._ticker_running = False
            return
        self._ticker_offset = (self._ticker_offset + self.dev.scroll_px_s / self.dev.scroll_fps) \
            % self.painter.ticker_period(notice)
        self._partial(self.painter.draw_ticker(self.loop.surface, notice, self._ticker_offset))
        self._later(1.0 / self.dev.scroll_fps, self._ticker_tick)


def create_board(ctx: DaemonContext) -> CallingBoard:
    return CallingBoard(ctx)
