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

    evdev (a USB numeric keypad): Enter next, + recall, - skip, * finish, / pause,
    . transfer, then 1..9 pick the office's services in config order.
    serial/virtual/screen: the action words themselves, and 1..9 for services.
    """
    if backend == "evdev":
        keys = {"KEY_KPENTER": "next", "KEY_KPPLUS": "recall", "KEY_KPMINUS": "skip",
                "KEY_KPASTERISK": "finish", "KEY_KPSLASH": "pause", "KEY_KPDOT": "transfer"}
        keys.update({f"KEY_KP{i + 1}": f"service:{code}" for i, code in enumerate(services[:9])})
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
                 clock: Callable[[], float]) -> None:
        self.evdev_names = evdev_names
        self.keymap = {self._norm(k): v for k, v in keymap.items()}
        self.guard = repeat_guard_s
        self.transfer_timeout = transfer_timeout_s
        self.counter_status = counter_status
        self.clock = clock
        self.services = tuple(v.split(":", 1)[1] for v in self.keymap.values() if v.startswith("service:"))
        self._last: tuple[str, float] | None = None
        self._transfer_until = 0.0

    def _norm(self, key: str) -> str:
        return key_name(key) if self.evdev_names else key.strip().lower()

    def cancel(self) -> None:
        """Forget a pending transfer."""
        self._transfer_until = 0.0

    @property
    def awaiting_service(self) -> bool:
        return self.clock() < self._transfer_until

    def press(self, key: str) -> Command | Prompt | Ignored:
        key = self._norm(key)
        action = self.keymap.get(key)
        if action is None:
            log.info("key %s is not mapped; ignored", key)
            return Ignored("unmapped")
        now = self.clock()
        if self._last is not None and self._last[0] == key and now - self._last[1] < self.guard:
            log.info("key %s pressed again within %.1fs; ignored", key, self.guard)
            return Ignored("repeat")
        self._last = (key, now)
        verb, _, arg = action.partition(":")
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
