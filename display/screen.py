"""What a display daemon with a window has in common (information screen, in/out board):
the bus, the UI thread with its loop, the redraw counter tests wait on, and a tick each
office minute for the clock on screen.

A subclass sets ``what`` (for messages), implements ``paint(surface)``, and may override
``setup(loop)`` (timers before the first frame) and ``subscribe()`` (its topics).
"""
from __future__ import annotations

import logging
from typing import Any

import pygame

from edge.daemon import DaemonContext
from edge.ui import UiLoop, UiThread, device_loop

log = logging.getLogger(__name__)


class ScreenDaemon:
    what = "screen"
    minute_tick = True

    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.dev: Any = ctx.device
        self.bus = ctx.bus()
        self.loop: UiLoop | None = None
        self.screen_seq = 0  # bumps on every redraw
        self._ui = UiThread(f"{self.what}-{ctx.device_id}", self._ui_main)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._ui.start(f"{self.what} UI")
        self.subscribe()
        self.bus.start(wait=5)
        self.bus.set_status("ok", {"mode": self.dev.mode})

    def stop(self) -> None:
        self._ui.stop(self.loop)
        self.bus.stop()

    def healthy(self) -> bool:
        return self._ui.alive()

    # ---------------------------------------------------------------- hooks
    def subscribe(self) -> None:
        """Subscribe to this screen's topics (before the bus starts)."""

    def setup(self, loop: UiLoop) -> None:
        """On the UI thread, before the first frame."""

    def paint(self, surface: pygame.Surface) -> None:
        raise NotImplementedError

    # ---------------------------------------------------------------- UI thread
    def _ui_main(self) -> None:
        loop = device_loop(self.ctx, self.ctx.cfg.office.name)
        self.loop = loop

        def on_draw(surface: pygame.Surface) -> None:
            self.paint(surface)
            self.screen_seq += 1

        loop.on_draw = on_draw
        self.setup(loop)
        if self.minute_tick:
            self._minute()
        self._ui.ready.set()
        try:
            loop.run()
        finally:
            pygame.display.quit()

    def _minute(self) -> None:
        assert self.loop is not None
        self.loop.invalidate()
        now = self.ctx.clock.now()
        self.loop.call_later(60.5 - now.second - now.microsecond / 1e6, self._minute)
