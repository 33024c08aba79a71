"""The tablet daemon: MQTT on the bus thread, pygame on its UI thread, ratings via the outbox.

It follows its counter's retained state (clerk, number served) and the `done` ticket
events of its counter; a rating is stored in the durable outbox first and sent from
there, so a rating given while the engine or the broker is away is sent later.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any


from edge import protocol as P
from edge.daemon import DaemonContext
from kiosk.tablet.outbox import OutboxSender, RatingOutbox
from kiosk.tablet.screens import TabletScreens

log = logging.getLogger(__name__)


class TabletDaemon:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.dev = ctx.device
        if self.dev.counter is None:
            raise ValueError(f"tablet {self.dev.id}: set `counter` in the config")
        counter = ctx.cfg.counter(self.dev.counter)
        if counter is None:
            raise ValueError(f"tablet {self.dev.id}: counter {self.dev.counter} is not in the config")
        self.counter = counter
        self.bus = ctx.bus()
        self.outbox = RatingOutbox(ctx.state_dir / "outbox.db", self.dev.id)
        self.sender = OutboxSender(self.outbox, self.bus, ctx.topics.rating_submit, ctx.clock)
        self.loop: Any = None
        self.screens: TabletScreens | None = None
        from edge.ui import UiThread  # pygame loads only when a tablet daemon is built

        self._ui_thread = UiThread(f"ui-{self.dev.id}", self._ui)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._ui_thread.start("tablet screen", timeout=15)
        t = self.ctx.topics
        self.bus.subscribe(t.counter_state(self.counter.number), self._on_counter_state)
        self.bus.subscribe(t.ticket_event("done"), self._on_done)
        self.bus.start()
        self.sender.start()
        self.outbox.prune(P.rfc3339(self.ctx.clock.now() - timedelta(days=7)))

    def stop(self) -> None:
        self._ui_thread.stop(self.loop)
        self.sender.stop()
        self.bus.stop()
        self.outbox.close()

    def healthy(self) -> bool:
        return self._ui_thread.alive()

    # ------------------------------------------------------------------ UI thread
    def _ui(self) -> None:
        from edge.ui import device_loop

        loop = device_loop(self.ctx, f"motcua {self.dev.id}")
        screens = TabletScreens(loop.size, self.counter.number, self.counter.label, list(self.dev.reasons),
                                self.dev.idle_timeout_s, self._submit, loop.call_later,
                                locale=self.ctx.cfg.office.locale)

        def draw(surface: Any) -> None:
            screens.draw(surface)

        def tap(t: Any) -> None:
            screens.tap(t.pos)
            if screens.dirty:
                loop.invalidate()

        loop.on_draw = draw
        loop.on_tap = tap
        self.loop, self.screens = loop, screens
        loop.invalidate()
        self._ui_thread.ready.set()
        loop.run()

    def _apply(self, fn: Any, *args: Any) -> None:
        """Run a screen update on the UI thread and redraw."""
        assert self.screens is not None and self.loop is not None

        def run() -> None:
            fn(*args)
            self.loop.invalidate()

        self.loop.call_soon(run)

    def _submit(self, fields: dict[str, Any]) -> None:
        req_id = self.outbox.add(fields, P.rfc3339(self.ctx.clock.now()))
        log.info("rating %s stored (%s)", req_id, fields["level"])
        self.sender.kick()

    # ------------------------------------------------------------------ bus thread
    def _on_counter_state(self, topic: str, payload: bytes) -> None:
        st = self.bus.parse_payload(topic, payload, P.CounterState)
        if st is None:
            return
        assert self.screens is not None
        self._apply(self.screens.on_counter, st.status, st.staff, st.serving.number if st.serving else None)

    def _on_done(self, topic: str, payload: bytes) -> None:
        ev = self.bus.parse_payload(topic, payload, P.TicketEvent)
        if ev is None:
            return
        counter = ev.counter if ev.counter is not None else ev.ticket.counter
        if counter != self.counter.number:
            return
        assert self.screens is not None
        self._apply(self.screens.on_done, ev.ticket.ticket_id, ev.ticket.number)
