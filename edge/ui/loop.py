"""Event-driven UI loop: waits for events, redraws only when dirty, idles at near-zero CPU.

Usage::

    loop = UiLoop(size=(1080, 1920), fullscreen=True, title="motcua")
    loop.on_draw = lambda surface: ...      # paint the whole screen
    loop.on_tap = lambda tap: ...           # one Tap per touch or click (never both)
    loop.on_press = lambda pos: ...         # optional: finger/mouse went down (feedback)
    loop.call_soon(fn, *args)               # from ANY thread (MQTT handlers): run on UI thread
    handle = loop.call_later(8.0, fn)       # UI thread: timer; handle.cancel()
    loop.invalidate()                       # mark dirty; the next turn redraws once
    loop.run()                              # blocks until loop.stop() (thread-safe)

Touch vs mouse: SDL reports a touch both as FINGERDOWN/FINGERUP and as synthesized mouse
events whose ``.touch`` is true. We take fingers from FINGER* events and ignore mouse events
flagged ``touch``; real mice come through MOUSEBUTTON*. Only the first finger counts until it
is lifted (a palm or second finger does not tap). A ``Tap`` is emitted on release and carries
the press position (the screen hit-tests that) and the release position.

Other threads never touch pygame: they enqueue callables and post one wakeup event.
``step(timeout)`` runs one turn (handy for tests and screenshot tools).
"""
from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pygame

log = logging.getLogger(__name__)


PICTURE_EVERY_S = 2.0
INPUT_POLL_S = 0.015  # how often an idle screen looks for touches (latency <= 15 ms)


@dataclass(frozen=True)
class Tap:
    """One completed touch or click: ``pos`` where it went down, ``up`` where it was lifted."""

    pos: tuple[int, int]
    up: tuple[int, int]
    source: str  # "touch" or "mouse"
    t_down: float  # time.monotonic() at press


class TimerHandle:
    """Cancellable timer returned by ``UiLoop.call_later``."""

    def __init__(self, when: float, fn: Callable[[], Any]) -> None:
        self.when = when
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class UiLoop:
    """One pygame window and its event loop (create and run it on the same thread)."""

    def __init__(self, size: tuple[int, int] = (1080, 1920), fullscreen: bool = False,
                 title: str = "motcua", hide_cursor: bool = False, block_motion: bool = True,
                 picture: Path | None = None) -> None:
        pygame.display.init()
        pygame.font.init()
        if pygame.display.get_driver() in ("dummy", "offscreen"):
            fullscreen = False  # no screen to fill: keep the configured size for the pictures
        flags = pygame.FULLSCREEN if fullscreen else 0
        if fullscreen and size == (0, 0):
            self.surface = pygame.display.set_mode((0, 0), flags)
        else:
            self.surface = pygame.display.set_mode(size, flags)
        pygame.display.set_caption(title)
        if hide_cursor:
            pygame.mouse.set_visible(False)
        self.size = self.surface.get_size()
        self.wake_type = pygame.event.custom_type()
        self.on_draw: Callable[[pygame.Surface], None] | None = None
        self.on_tap: Callable[[Tap], None] | None = None
        self.on_press: Callable[[tuple[int, int]], None] | None = None
        self.on_event: Callable[[pygame.event.Event], None] | None = None
        self.redraws = 0
        self._calls: queue.SimpleQueue[tuple[Callable[..., Any], tuple]] = queue.SimpleQueue()
        self._timers: list[tuple[float, int, TimerHandle]] = []
        self._seq = itertools.count()
        self._dirty = True
        self._running = False
        self._stop = threading.Event()
        self._wakeup = threading.Event()
        self._finger: tuple[int, tuple[int, int], float] | None = None  # (finger id, pos, t)
        self._mouse: tuple[tuple[int, int], float] | None = None
        # With no visible screen (a simulated office), keep a picture of it for people to see.
        self.picture = picture if pygame.display.get_driver() in ("dummy", "offscreen") else None
        self._picture_due: TimerHandle | None = None
        self._picture_at = 0.0
        if block_motion:  # motion floods the queue and wakes the loop; screens that drag opt in
            pygame.event.set_blocked([pygame.MOUSEMOTION, pygame.FINGERMOTION])
        else:
            pygame.event.set_allowed([pygame.MOUSEMOTION, pygame.FINGERMOTION])

    # ---- thread-safe API -------------------------------------------------
    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the UI thread soon. Safe from any thread."""
        self._calls.put((fn, args))
        self._wake()

    def stop(self) -> None:
        """Ask ``run()`` to return. Safe from any thread."""
        self._stop.set()
        self._wake()

    def _wake(self) -> None:
        self._wakeup.set()
        try:
            pygame.event.post(pygame.event.Event(self.wake_type))
        except pygame.error:  # queue full or video gone: the queued call still runs next turn
            log.debug("wakeup post failed", exc_info=True)

    # ---- UI-thread API ---------------------------------------------------
    def invalidate(self) -> None:
        """Mark the screen dirty: it is redrawn once at the end of this turn."""
        self._dirty = True

    def call_later(self, delay_s: float, fn: Callable[[], Any]) -> TimerHandle:
        """Run ``fn`` on the UI thread after ``delay_s`` seconds (monotonic)."""
        h = TimerHandle(time.monotonic() + max(0.0, delay_s), fn)
        heapq.heappush(self._timers, (h.when, next(self._seq), h))
        return h

    def run(self) -> None:
        """Loop until ``stop()``; exceptions in callbacks are logged, never fatal."""
        self._running = True
        try:
            while not self._stop.is_set():
                self.step(None)
        finally:
            self._running = False

    def step(self, timeout: float | None = 0.0) -> None:
        """One turn: wait for an event (at most ``timeout`` s, None = until a timer/event)."""
        wait_s = self._next_timer_delay()
        if timeout is not None:
            wait_s = timeout if wait_s is None else min(wait_s, timeout)
        if self._dirty or not self._calls.empty():
            wait_s = 0.0
        events = pygame.event.get()
        if not events and (wait_s is None or wait_s > 0):
            events = self._wait_events(wait_s)
        for e in events:
            self._guard(self._handle, e)
        while True:
            try:
                fn, args = self._calls.get_nowait()
            except queue.Empty:
                break
            self._guard(fn, *args)
        self._run_timers()
        if self._dirty:
            self._dirty = False
            if self.on_draw is not None:
                self._guard(self.on_draw, self.surface)
            self.redraws += 1
            pygame.display.flip()
            if self.picture is not None and self._picture_due is None:
                delay = max(0.0, self._picture_at + PICTURE_EVERY_S - time.monotonic())
                self._picture_due = self.call_later(delay, self._save_picture)

    def _save_picture(self) -> None:
        """Write the screen to `picture` (at most every PICTURE_EVERY_S seconds)."""
        self._picture_due = None
        self._picture_at = time.monotonic()
        assert self.picture is not None
        tmp = self.picture.with_name(f".{self.picture.name}.tmp.png")
        try:
            self.picture.parent.mkdir(parents=True, exist_ok=True)
            pygame.image.save(self.surface, str(tmp))
            tmp.replace(self.picture)
        except (OSError, pygame.error) as exc:
            log.warning("cannot save %s: %s", self.picture, exc)

    # ---- internals -------------------------------------------------------
    def _wait_events(self, wait_s: float | None) -> list[pygame.event.Event]:
        """Sleep until input, a call_soon() or `wait_s`, looking at SDL's queue every
        INPUT_POLL_S. SDL's own wait polls every millisecond on drivers without a native
        wait (dummy, KMSDRM): about 2 % of a core on an idle kiosk; this costs about 0.5 %."""
        deadline = None if wait_s is None else time.monotonic() + wait_s
        while not self._stop.is_set():
            slice_s = INPUT_POLL_S if deadline is None else min(INPUT_POLL_S, deadline - time.monotonic())
            if slice_s <= 0:
                break
            if self._wakeup.wait(slice_s):
                self._wakeup.clear()
                break
            events = pygame.event.get()
            if events:
                return events
        return pygame.event.get()

    def _guard(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # a bad callback must not kill the screen
            log.exception("UI callback %r failed", fn)

    def _next_timer_delay(self) -> float | None:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return None
        return max(0.0, self._timers[0][0] - time.monotonic())

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, h = heapq.heappop(self._timers)
            if not h.cancelled:
                self._guard(h.fn)

    def _finger_pos(self, e: pygame.event.Event) -> tuple[int, int]:
        w, h = self.size
        return (min(w - 1, max(0, int(e.x * w))), min(h - 1, max(0, int(e.y * h))))

    def _handle(self, e: pygame.event.Event) -> None:
        t = e.type
        if t == pygame.QUIT:
            self._stop.set()
        elif t == self.wake_type or t == pygame.NOEVENT:
            return
        elif t == pygame.FINGERDOWN:
            if self._finger is None:
                pos = self._finger_pos(e)
                self._finger = (e.finger_id, pos, time.monotonic())
                if self.on_press:
                    self.on_press(pos)
        elif t == pygame.FINGERUP:
            if self._finger is not None and self._finger[0] == e.finger_id:
                _, pos, t0 = self._finger
                self._finger = None
                if self.on_tap:
                    self.on_tap(Tap(pos, self._finger_pos(e), "touch", t0))
        elif t == pygame.MOUSEBUTTONDOWN:
            if not getattr(e, "touch", False) and e.button == 1 and self._mouse is None:
                self._mouse = (tuple(e.pos), time.monotonic())
                if self.on_press:
                    self.on_press(tuple(e.pos))
        elif t == pygame.MOUSEBUTTONUP:
            if not getattr(e, "touch", False) and e.button == 1 and self._mouse is not None:
                pos, t0 = self._mouse
                self._mouse = None
                if self.on_tap:
                    self.on_tap(Tap(pos, tuple(e.pos), "mouse", t0))
        elif t in (pygame.WINDOWEXPOSED, pygame.VIDEOEXPOSE, pygame.WINDOWRESTORED):
            self._dirty = True
        if self.on_event:
            self.on_event(e)


def device_loop(ctx: Any, title: str) -> UiLoop:
    """The window of a screen device (kiosk, tablet, board) as its config sets it up; with no
    visible screen its picture is kept in DATA/<device>/screen.png."""
    dev = ctx.device
    return UiLoop(size=(dev.width, dev.height), fullscreen=dev.fullscreen, title=title,
                  hide_cursor=dev.fullscreen, picture=ctx.state_dir / "screen.png")


class UiThread:
    """The thread a screen daemon's window lives on (pygame wants one thread for a window).

    `main` builds the window with device_loop(), calls `ready.set()` once it can draw, then runs
    the loop; start() waits for that, stop() ends the loop and joins the thread.
    """

    def __init__(self, name: str, main: Callable[[], None]) -> None:
        self.ready = threading.Event()
        self._thread = threading.Thread(target=main, name=name, daemon=True)

    def start(self, what: str, timeout: float = 10.0) -> None:
        self._thread.start()
        if not self.ready.wait(timeout):
            raise RuntimeError(f"{what} did not start")

    def stop(self, loop: UiLoop | None) -> None:
        if loop is not None:
            loop.stop()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def alive(self) -> bool:
        return self._thread.is_alive()
