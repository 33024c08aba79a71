"""The `keypad` daemon: a clerk's keys become PROTOCOL.md counter commands.

Backends (config `backend`): `evdev` (a USB keypad, grabbed), `serial` (a wired
serial/RS-485 keypad speaking the line protocol in serial_keys.py), `virtual` (the same
line protocol on a pty) and `screen` (a small pygame window on the clerk's PC). Every
backend reports key names; keys.py maps them to commands; link.py sends them in order
with retried, idempotent requests and follows the counter's state.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from edge import protocol as P
from edge.daemon import DaemonContext
from kiosk.keypad.keys import Command, Ignored, KeyInterpreter, Prompt, default_keymap
from kiosk.keypad.link import CounterLink, CounterView, Outcome

log = logging.getLogger(__name__)

#: LED board feedback after a command succeeded (a refused one shows LOI).
FEEDBACK = {"open": "MO", "close": "DONG", "pause": "NGHI", "resume": "MO"}

__all__ = ["create", "KeypadDaemon", "BACKENDS"]


def _evdev(d: "KeypadDaemon") -> Any:
    from kiosk.keypad.evdev_keys import EvdevKeys
    return EvdevKeys(d.device.id, d.device.path, d.device.usb, d.press, d.source_status)


def _serial(d: "KeypadDaemon") -> Any:
    from kiosk.keypad.serial_keys import LineKeys, serial_opener
    return LineKeys(d.device.id, serial_opener(d.device.port, d.device.baudrate), d.line,
                    d.source_status, path=d.device.port)


def _virtual(d: "KeypadDaemon") -> Any:
    from display.led.virtual import PtyPair
    from kiosk.keypad.serial_keys import FdPort, LineKeys, write_tty_file
    pair = PtyPair()
    d.closers.append(pair.close)
    write_tty_file(d.ctx.state_dir, pair.path)
    log.info("%s: virtual keypad on %s (write key lines to it)", d.device.id, pair.path)
    return LineKeys(d.device.id, lambda: FdPort(pair.master), d.line, d.source_status, path=pair.path)


def _screen(d: "KeypadDaemon") -> Any:
    from kiosk.keypad.screen import ScreenKeypad
    return ScreenKeypad(d)


#: backend name -> factory(daemon) of a key source with start/stop/send/healthy.
BACKENDS: dict[str, Callable[["KeypadDaemon"], Any]] = {
    "evdev": _evdev, "serial": _serial, "virtual": _virtual, "screen": _screen,
}


class KeypadDaemon:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.device = dev = ctx.device
        self.bus = ctx.bus()
        self.closers: list[Callable[[], None]] = []
        counter = ctx.cfg.counter(dev.counter)
        self.config_error = None if counter is not None else f"counter {dev.counter} is not in the config"
        services = list(counter.services) if counter is not None else []
        name = (counter.name if counter is not None and counter.name else f"Quầy {dev.counter}")
        self.link = CounterLink(self.bus, ctx.topics, dev.counter, services, name=name)
        all_services = [s.code for s in ctx.cfg.services]
        keymap = default_keymap(dev.backend, all_services) if dev.backend == "screen" or not dev.keymap \
            else dict(dev.keymap)
        self.keys = KeyInterpreter(keymap, evdev_names=dev.backend == "evdev",
                                   repeat_guard_s=dev.repeat_guard_s,
                                   transfer_timeout_s=dev.transfer_timeout_s,
                                   counter_status=self.link.status, clock=time.monotonic,
                                   services=all_services)
        self._source_status: tuple[str, dict[str, Any]] = ("warning", {"state": "starting"})
        self._command_error: str | None = None
        self._status_lock = threading.Lock()
        self._shown = ""
        self.source = BACKENDS[dev.backend](self)
        self.link.listeners.append(self._on_view)

    # -------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self.link.start()
        self.bus.start()
        self._publish_status()
        self.source.start()

    def stop(self) -> None:
        self.source.stop()
        self.link.stop()
        for close in reversed(self.closers):
            close()
        self.bus.stop()

    def healthy(self) -> bool:
        return self.source.healthy()

    # -------------------------------------------------------------- keys in

    def press(self, key: str) -> Command | Prompt | Ignored:
        """A key went down on the keypad (any thread)."""
        result = self.keys.press(key)
        if isinstance(result, Command):
            self.send(result)
        elif isinstance(result, Prompt) and result.kind == "transfer":
            self.source.send(f"ASK service {' '.join(result.options)}".rstrip())
        elif result == Ignored("closed"):
            self.feedback("LOI")
        return result

    def line(self, text: str) -> None:
        """A line from a serial keypad: a key name, or `transfer SERVICE` in one line."""
        word, _, arg = text.partition(" ")
        verb, args = word.lower(), arg.split()
        if verb == "transfer" and args:
            if args[0].lower() == "counter" and len(args) == 2 and args[1].isdigit():
                self.send(Command("transfer", {"to_counter": int(args[1])}))
            else:
                self.send(Command("transfer", {"service": args[0].upper()}))
        elif verb == "call" and len(args) == 1:
            self.send(Command("call", {"number": args[0]}))
        elif verb == "signin" and len(args) == 2:
            self.send(Command("open", {"staff_code": args[0], "pin": args[1]}))
        elif verb == "pause" and args:
            self.send(Command("pause", {"reason": arg.strip()[:100]}))
        elif self.press(word) == Ignored("unmapped"):
            self.source.send(f"ERR unknown_key {word[:16]}")

    def send(self, command: Command) -> None:
        log.info("counter %d: %s", self.device.counter, command.action)
        self.link.send(command, self._done)

    # -------------------------------------------------------------- feedback out

    def _done(self, outcome: Outcome) -> None:
        if outcome.ok:
            self.source.send(f"OK {outcome.command.action} {outcome.number or '-'}")
            code = FEEDBACK.get(outcome.command.action)
            if code:
                self.feedback(code)
        else:
            self.source.send(f"ERR {outcome.code}")
            self.feedback("LOI")
        problem = "engine did not answer" if outcome.code == "unavailable" else None
        if problem != self._command_error:
            self._command_error = problem
            self._publish_status()

    def feedback(self, code: str) -> None:
        """A short code on the counter's LED board: the keypad itself may have no screen."""
        self.bus.publish(self.ctx.topics.counter_feedback(self.device.counter),
                         P.CounterFeedback(code=code, seconds=self.device.feedback_s,
                                           ts=P.rfc3339(self.ctx.clock.now())))

    def _on_view(self, view: CounterView) -> None:
        if view.busy:
            return
        line = (f"SHOW {view.serving or '-'} {'-' if view.waiting is None else view.waiting} "
                f"{view.status or '-'}")
        if line != self._shown:  # a keypad display needs changes only
            self._shown = line
            self.source.send(line)

    def source_status(self, level: str, detail: dict[str, Any]) -> None:
        self._source_status = (level, detail)
        self._publish_status()

    def _publish_status(self) -> None:
        with self._status_lock:  # the key source and the command thread both report
            self._publish_status_locked()

    def _publish_status_locked(self) -> None:
        level, detail = self._source_status
        detail = {**detail, "counter": self.device.counter, "backend": self.device.backend}
        if self._command_error and level == "ok":
            level, detail["error"] = "warning", self._command_error
        if self.config_error:
            level, detail["error"] = "error", self.config_error
        self.bus.set_status(level, detail)


def create(ctx: DaemonContext) -> KeypadDaemon:
    return KeypadDaemon(ctx)
