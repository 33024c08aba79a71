"""The keypad's side of the counter: commands out in order, the counter's state in.

Commands go one at a time, from one thread, as PROTOCOL.md requests; a retry reuses the
request id so the engine never calls two citizens for one press. What the clerk should
see (status, number served, how many wait for this counter's services, the outcome of
the last press) is kept here for every backend to show in its own way.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable

from edge import protocol as P
from edge.bus import Bus, RequestTimeout
from kiosk.keypad.keys import Command

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How one command ended."""

    command: Command
    ok: bool
    number: str | None = None
    code: str | None = None
    message: str = ""


@dataclass
class CounterView:
    """What a keypad shows about its counter."""

    status: str | None = None
    staff: str | None = None
    serving: str | None = None
    waiting: int | None = None
    name: str = ""
    last: Outcome | None = None
    busy: bool = False


Listener = Callable[[CounterView], None]


def _parse(model: type[P.Payload], topic: str, payload: bytes) -> Any:
    """The payload as `model`, or None (logged) when it is empty or invalid."""
    if not payload:  # a cleared retained message
        return None
    try:
        return model.model_validate(P.decode_json(payload))
    except (P.BadPayload, ValueError) as exc:
        log.warning("ignoring bad payload on %s: %s", topic, exc)
        return None


class CounterLink:
    """Sends one counter's commands and follows its state (thread `keypad-cmd-N`)."""

    def __init__(self, bus: Bus, topics: P.Topics, counter: int, services: list[str], *,
                 name: str = "", timeout: float = 1.0, retries: int = 4) -> None:
        self.bus = bus
        self.topics = topics
        self.counter = counter
        self.services = list(services)
        self.timeout, self.retries = timeout, retries
        self.view = CounterView(name=name or f"Quầy {counter}")
        self.listeners: list[Listener] = []
        self._waiting_by_service: dict[str, int] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Command, Callable[[Outcome], None] | None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"keypad-cmd-{counter}", daemon=True)

    def start(self) -> None:
        self.bus.subscribe(self.topics.counter_state(self.counter), self._on_counter_state)
        self.bus.subscribe(self.topics.queue_state, self._on_queue_state)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=self.timeout * (self.retries + 1) + 1)

    def snapshot(self) -> CounterView:
        with self._lock:
            return CounterView(**vars(self.view))

    def status(self) -> str | None:
        with self._lock:
            return self.view.status

    def send(self, command: Command, done: Callable[[Outcome], None] | None = None) -> None:
        """Queue a command; `done(outcome)` runs on the command thread when it has ended."""
        self._queue.put((command, done))

    # -------------------------------------------------------------- command thread

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            command, done = item
            self._update(busy=True)
            outcome = self._execute(command)
            changes: dict[str, Any] = {"busy": False, "last": outcome}
            if outcome.ok and command.action in ("next", "recall"):
                changes["serving"] = outcome.number  # the reply is faster than the retained state
            self._update(**changes)
            if done is not None:
                try:
                    done(outcome)
                except Exception:  # noqa: BLE001 - feedback must not stop the keypad
                    log.exception("keypad feedback failed")

    def _execute(self, command: Command) -> Outcome:
        topic = self.topics.counter_command(self.counter)
        try:
            reply = self.bus.request(topic, command.wire(), timeout=self.timeout, retries=self.retries)
        except RequestTimeout:
            log.warning("counter %d: no reply to %s", self.counter, command.action)
            return Outcome(command, False, code="unavailable", message=P.ERROR_MESSAGES["unavailable"])
        if reply.get("ok"):
            ticket = reply.get("ticket") or {}
            return Outcome(command, True, number=ticket.get("number"))
        err = reply.get("error") or {}
        code = str(err.get("code") or "internal")
        log.info("counter %d: %s refused: %s", self.counter, command.action, code)
        return Outcome(command, False, code=code, message=str(err.get("message") or ""))

    # -------------------------------------------------------------- state in

    def _on_counter_state(self, topic: str, payload: bytes) -> None:
        st = _parse(P.CounterState, topic, payload)
        if st is None:
            return
        if st.services:
            self.services = list(st.services)
        self._update(status=st.status, staff=st.staff, name=st.name,
                     serving=st.serving.number if st.serving else None, waiting=self._waiting())

    def _on_queue_state(self, topic: str, payload: bytes) -> None:
        qs = _parse(P.QueueState, topic, payload)
        if qs is None:
            return
        self._waiting_by_service = {s.code: s.waiting for s in qs.services}
        self._update(waiting=self._waiting())

    def _waiting(self) -> int | None:
        by = self._waiting_by_service
        if not by:
            return None
        return sum(by.get(code, 0) for code in self.services)

    def _update(self, **changes: Any) -> None:
        with self._lock:
            for k, v in changes.items():
                setattr(self.view, k, v)
            view = CounterView(**vars(self.view))
        for listener in self.listeners:
            try:
                listener(view)
            except Exception:  # noqa: BLE001
                log.exception("keypad view listener failed")
