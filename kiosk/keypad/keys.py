"""From key presses to counter commands: key maps and the small state machine between them.

Every keypad backend (evdev, serial line, screen) only reports key names; this module
turns them into PROTOCOL.md counter actions. `transfer` takes a second key (the service),
`pause` toggles with `resume` by the counter's known status, and a second press of the
same key within `repeat_guard_s` is dropped so a bouncing key never calls two citizens.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)

ACTIONS: tuple[str, ...] = ("next", "recall", "skip", "finish", "pause", "resume", "open", "close",
                            "transfer")
#: Keys that build a typed entry (a ticket number to call, or `code.PIN` to sign in).
ENTRY_VERBS: tuple[str, ...] = ("digit", "dot", "enter", "clear")
MAX_ENTRY = 16


@dataclass(frozen=True)
class Command:
    """One counter command to send (PROTOCOL.md `action` and its extra fields)."""

    action: str
    fields: dict[str, Any] = field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        return {"action": self.action, **self.fields}


@dataclass(frozen=True)
class Prompt:
    """Not a command yet: the keypad waits for a second key (the service of a transfer)."""

    kind: str
    options: tuple[str, ...] = ()


def key_name(name: str) -> str:
    """evdev names with or without KEY_, any case: 'kpenter', 'KEY_KPENTER' -> 'KEY_KPENTER'."""
    n = name.strip().upper()
    return n if n.startswith(("KEY_", "BTN_")) else f"KEY_{n}"


def default_keymap(backend: str, services: list[str]) -> dict[str, str]:
    """The map used when the config gives none.

    evdev (a USB numeric keypad): Enter next, + recall, - skip, * finish, / pause or resume,
    . transfer (then 1..9 picks the office's service in config order), NumLock close,
    Backspace/Esc clear. Digits typed before Enter call that number out of turn; on a closed
    counter `CODE . PIN Enter` signs the clerk in and opens it.
    serial/virtual/screen: the action words themselves, and 1..9 for services.
    """
    if backend == "evdev":
        keys = {"KEY_KPENTER": "enter", "KEY_KPPLUS": "recall", "KEY_KPMINUS": "skip",
                "KEY_KPASTERISK": "finish", "KEY_KPSLASH": "pause", "KEY_KPDOT": "dot",
                "KEY_NUMLOCK": "close", "KEY_BACKSPACE": "clear", "KEY_ESC": "clear"}
        keys.update({f"KEY_KP{i}": f"digit:{i}" for i in range(10)})
        return keys
    keys = {a: a for a in ACTIONS}
    keys.update({str(i + 1): f"service:{code}" for i, code in enumerate(services[:9])})
    return keys


@dataclass(frozen=True)
class Ignored:
    """A key that did nothing, and why: `unmapped`, `repeat` or `no_transfer`."""

    reason: str


class KeyInterpreter:
    """press(key) -> Command, Prompt or Ignored. Not thread-safe: one backend thread calls it."""

    def __init__(self, keymap: dict[str, str], *, evdev_names: bool, repeat_guard_s: float,
                 transfer_timeout_s: float, counter_status: Callable[[], str | None],
                 clock: Callable[[], float], services: list[str] | None = None,
                 entry_timeout_s: float = 20.0) -> None:
        self.evdev_names = evdev_names
        self.keymap = {self._norm(k): v for k, v in keymap.items()}
        self.guard = repeat_guard_s
        self.transfer_timeout = transfer_timeout_s
        self.counter_status = counter_status
        self.clock = clock
        mapped = tuple(v.split(":", 1)[1] for v in self.keymap.values() if v.startswith("service:"))
        self.services = mapped or tuple(services or ())
        self._last: tuple[str, float] | None = None
        self._transfer_until = 0.0
        self.entry_timeout = entry_timeout_s
        self._entry = ""  # digits (and one dot) typed so far; never logged: it may hold a PIN
        self._entry_at = 0.0

    def _norm(self, key: str) -> str:
        return key_name(key) if self.evdev_names else key.strip().lower()

    def cancel(self) -> None:
        """Forget a pending transfer."""
        self._transfer_until = 0.0

    @property
    def awaiting_service(self) -> bool:
        return self.clock() < self._transfer_until

    @property
    def entry(self) -> str:
        return self._entry

    def press(self, key: str) -> Command | Prompt | Ignored:
        key = self._norm(key)
        action = self.keymap.get(key)
        if action is None:
            log.info("key %s is not mapped; ignored", key)
            return Ignored("unmapped")
        now = self.clock()
        verb, _, arg = action.partition(":")
        if self._entry and now - self._entry_at > self.entry_timeout:
            self._entry = ""  # a half-typed entry (perhaps a PIN) does not linger
        if verb in ENTRY_VERBS:  # typing repeats keys (1001, 1111): no bounce guard here
            return self._entry_key(verb, arg, now)
        if self._last is not None and self._last[0] == key and now - self._last[1] < self.guard:
            log.info("key %s pressed again within %.1fs; ignored", key, self.guard)
            return Ignored("repeat")
        self._last = (key, now)
        self._entry = ""
        if verb == "service":
            if not self.awaiting_service:
                log.info("service key %s without transfer; ignored", key)
                return Ignored("no_transfer")
            self._transfer_until = 0.0
            return Command("transfer", {"service": arg})
        self._transfer_until = 0.0  # any other key cancels a pending transfer
        if verb == "transfer":
            if arg:
                return Command("transfer", {"service": arg})
            self._transfer_until = now + self.transfer_timeout
            return Prompt("transfer", self.services)
        if verb == "pause":
            return Command("resume" if self.counter_status() == "paused" else "pause")
        return Command(verb)

    def _entry_key(self, verb: str, arg: str, now: float) -> Command | Prompt | Ignored:
        if verb == "digit" and self.awaiting_service and not self._entry:
            self._transfer_until = 0.0
            index = int(arg) - 1
            if 0 <= index < len(self.services):
                return Command("transfer", {"service": self.services[index]})
            return Ignored("no_service")
        closed = self.counter_status() in (None, "closed")
        if verb == "clear":
            self._entry, self._transfer_until = "", 0.0
            return Prompt("entry", ())
        if verb == "digit":
            self._entry = (self._entry + arg)[:MAX_ENTRY]
            self._entry_at = now
            return Prompt("entry", ())
        if verb == "dot":
            if self._entry or closed:
                if "." not in self._entry:
                    self._entry += "."
                self._entry_at = now
                return Prompt("entry", ())
            self._transfer_until = now + self.transfer_timeout  # . alone on an open counter: transfer
            return Prompt("transfer", self.services)
        # enter
        entry, self._entry = self._entry, ""
        self._transfer_until = 0.0
        if not entry:
            if self._last is not None and self._last[0] == "\0enter" and now - self._last[1] < self.guard:
                return Ignored("repeat")
            self._last = ("\0enter", now)
            return Command("next")
        self._last = None
        if "." in entry:
            code, _, pin = entry.partition(".")
            return Command("open", {"staff_code": code, "pin": pin})
        if closed:
            return Ignored("closed")
        return Command("call", {"number": entry})
