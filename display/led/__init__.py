"""The `led` daemon: counter number boards on an RS-485 line.

A board shows the number its counter is serving (from the retained counter state) and
blinks it on every `called`/`recalled` event for that counter; it is blank while the
counter is closed. Several boards may share one line (`port`): the daemon of the first
enabled LED device on that port (config order, same host) drives every board on it; the
daemons of the others only mirror that line's status onto their own status topic, so no
two processes ever open one port. See docs/led-and-keypads.md.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

import serial

from display.led.hall import HallFeed, Scroller, hall_protocol
from display.led.line import Board, LineDriver
from display.led.protocols import BoardProtocol, make_protocol
from display.led.virtual import PtyPair, SimulatedBoards
from edge import protocol as P
from edge.daemon import DaemonContext

log = logging.getLogger(__name__)

__all__ = ["create", "LedDaemon", "line_group"]


def line_group(cfg: Any, device: Any) -> list[Any]:
    """The LED devices whose boards hang on `device`'s line, in config order (owner first)."""
    if device.port is None:
        return [device]
    return [d for d in cfg.devices
            if d.kind == "led" and d.enabled and d.host == device.host
            and d.backend == device.backend and d.port == device.port]


class LedDaemon:
    """Drives one line (owner) or mirrors the owner's status (other boards on the line)."""

    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.device = ctx.device
        group = line_group(ctx.cfg, self.device)
        if self.device not in group:  # a disabled device run by hand drives its own line
            group = [self.device]
        self.group = group
        self.owner = group[0]
        self.is_owner = self.owner.id == self.device.id
        self.topics = ctx.topics
        self.bus = ctx.bus()
        self.line: LineDriver | None = None
        self.sim: SimulatedBoards | None = None
        self._pty: PtyPair | None = None
        self.by_counter: dict[int, list[Any]] = {}
        self.halls: list[Any] = []  # hall text boards on this line (display/led/hall.py)
        self.hall: HallFeed | None = None
        self.scrollers: dict[str, Scroller] = {}  # hall boards the daemon scrolls itself
        self.clashes: list[str] = []
        self._normal: dict[int, str] = {}  # address -> what the board shows when no feedback is up
        self._shows = 0  # bumped by every number shown, so a feedback timer never hides a newer call
        self._show_lock = threading.Lock()
        self._timers: list[threading.Timer] = []
        self._feedback_up: set[int] = set()  # boards showing a feedback code now

    # -------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self.is_owner:
            self._start_line()
        else:
            log.info("%s: boards on %s are driven by %s", self.device.id, self.device.port, self.owner.id)
            self.bus.subscribe(self.topics.device_status(self.owner.id), self._on_owner_status)
            self.bus.set_status("warning", {"line": self.device.port, "driven_by": self.owner.id,
                                            "state": "waiting for the line owner"})
        self.bus.start()

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self.hall is not None:
            self.hall.stop()
        for sc in self.scrollers.values():
            sc.stop()
        if self.line is not None:
            self.line.stop()
        if self.sim is not None:
            self.sim.stop()
        if self._pty is not None:
            self._pty.close()
        self.bus.stop()

    def healthy(self) -> bool:
        return self.line is None or self.line.healthy()

    # -------------------------------------------------------------- the line owner

    def _start_line(self) -> None:
        boards: dict[int, Board] = {}
        for dev in self.group:
            if dev.address in boards:
                self.clashes.append(f"{dev.id}: address {dev.address} is already used on this line")
                log.error("%s", self.clashes[-1])
                continue
            if getattr(dev, "board", "counter") == "hall":
                boards[dev.address] = Board(dev.address, hall_protocol(dev))
                self.halls.append(dev)
                continue
            boards[dev.address] = Board(dev.address, make_protocol(dev))
            if dev.counter is not None:
                self.by_counter.setdefault(dev.counter, []).append(dev)
        name = self.device.port or self.device.id
        self.line = LineDriver(name, self._opener(boards[self.device.address].protocol),
                               list(boards.values()), self._on_line_status)
        for topic in (self.topics.ticket_event("called"), self.topics.ticket_event("recalled")):
            self.bus.subscribe(topic, self._on_call)
        self.bus.subscribe(self.topics.counter_state_all, self._on_counter_state)
        self.bus.subscribe(self.topics.counter_feedback_all, self._on_feedback)
        if self.halls:
            self.hall = HallFeed(max(d.calls_shown for d in self.halls), self._show_halls, self.ctx.clock.now,
                                 self.bus.parse_payload)
            self.bus.subscribe(self.topics.queue_state, self.hall.on_queue_state)
            self.bus.subscribe(self.topics.display_notice, self.hall.on_notice)
        self.line.start()

    def _show_halls(self, text: str) -> None:
        line = self.line
        assert line is not None
        for dev in self.halls:
            if dev.scroll_cps > 0:
                if dev.id not in self.scrollers:
                    self.scrollers[dev.id] = Scroller(lambda t, a=dev.address: line.show(a, t), dev.window,
                                                      dev.scroll_cps)
                self.scrollers[dev.id].set(text)
            else:
                line.show(dev.address, text)

    def _opener(self, protocol: BoardProtocol):
        dev = self.device
        if dev.backend == "virtual":
            self._pty = PtyPair()
            self.sim = SimulatedBoards(self._pty.master, protocol, name=dev.id,
                                       out_dir=self.ctx.state_dir / "board").start()
            path = self._pty.path
            log.info("%s: virtual board on %s (pictures in %s)", dev.id, path, self.ctx.state_dir / "board")
        else:
            if not dev.port:
                raise ValueError(f"LED device {dev.id}: backend 'serial' needs a port")
            path = dev.port

        def open_port() -> serial.Serial:
            return serial.Serial(path, dev.baudrate, bytesize=8, parity="N", stopbits=1,
                                 timeout=0.3, write_timeout=1.0, exclusive=True)

        return open_port

    def _on_line_status(self, level: str, detail: dict[str, Any]) -> None:
        if self.clashes:
            level, detail = "error", {**detail, "config": self.clashes}
        self.bus.set_status(level, detail)

    def _on_call(self, topic: str, payload: bytes) -> None:
        try:
            ev = P.TicketEvent.model_validate(P.decode_json(payload))
        except (P.BadPayload, ValueError) as exc:
            log.warning("ignoring bad ticket event on %s: %s", topic, exc)
            return
        counter = ev.counter if ev.counter is not None else ev.ticket.counter
        for dev in self.by_counter.get(counter or -1, []):
            self._show(dev.address, ev.ticket.number, dev.blink_s)

    def _on_counter_state(self, topic: str, payload: bytes) -> None:
        if not payload:  # a cleared retained message
            return
        try:
            st = P.CounterState.model_validate(P.decode_json(payload))
        except (P.BadPayload, ValueError) as exc:
            log.warning("ignoring bad counter state on %s: %s", topic, exc)
            return
        for dev in self.by_counter.get(st.counter, []):
            if st.status == "closed":
                self._show(dev.address, "", keep_feedback=True)
            elif st.serving is not None:
                self._show(dev.address, st.serving.number, keep_feedback=True)
            # open with nobody served: the last number stays up, as counter boards do

    def _show(self, address: int, text: str, blink_s: float = 0.0, keep_feedback: bool = False) -> None:
        """What the board shows in normal running; a state refresh leaves a feedback code up."""
        assert self.line is not None
        with self._show_lock:
            self._normal[address] = text
            if keep_feedback and address in self._feedback_up:
                return
            self._feedback_up.discard(address)
            self._shows += 1
        self.line.show(address, text, blink_s)

    def _on_feedback(self, topic: str, payload: bytes) -> None:
        """MO / DONG / LOI from a screenless keypad: shown for a moment, then the number again."""
        fb = self.bus.parse_payload(topic, payload, P.CounterFeedback)
        counter = self.topics.counter_from_topic(topic)
        if fb is None or counter is None or not counter.isdigit():
            return
        assert self.line is not None
        for dev in self.by_counter.get(int(counter), []):
            with self._show_lock:
                self._feedback_up = self._feedback_up | {dev.address}
                mark = self._shows
            self.line.show(dev.address, fb.code[:dev.digits])
            timer = threading.Timer(fb.seconds, self._end_feedback, (dev.address, mark))
            timer.name = f"led-feedback-{dev.address}"
            timer.daemon = True
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
            timer.start()

    def _end_feedback(self, address: int, mark: int) -> None:
        with self._show_lock:
            if mark != self._shows or address not in self._feedback_up:
                return  # a newer call replaced the feedback already
            self._feedback_up = self._feedback_up - {address}
            text = self._normal.get(address, "")
        if self.line is not None:
            self.line.show(address, text)

    # -------------------------------------------------------------- boards driven by another daemon

    def _on_owner_status(self, topic: str, payload: bytes) -> None:
        try:
            st = P.DeviceStatus.model_validate(P.decode_json(payload))
        except (P.BadPayload, ValueError):
            return
        mine = str(self.device.address)
        board = (st.detail.get("boards") or {}).get(mine)
        detail = {"line": self.device.port, "driven_by": self.owner.id, "board": board}
        if not st.online:
            self.bus.set_status("error", {**detail, "error": f"{self.owner.id} is offline"})
        elif st.state == "error":
            self.bus.set_status("error", {**detail, "error": st.detail.get("error")})
        elif board not in (None, "ok"):
            self.bus.set_status("warning", detail)
        else:
            self.bus.set_status("ok", detail)


def create(ctx: DaemonContext) -> LedDaemon:
    return LedDaemon(ctx)
