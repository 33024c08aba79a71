"""The hall LED board: one office-wide text board that scrolls the latest calls and the notice.

It hangs on an RS-485 line like the counter boards and is driven by the same line driver
(display/led/line.py) as one more board with its own protocol: one ASCII-framed message per
change ("\\x02{address:02d}{text}\\x03" by default), which the board's controller scrolls by
itself (or, with ``scroll_cps``, the daemon moves a window of ``window`` characters along it
for boards that cannot). Boards whose font has Vietnamese letters (``charset = "utf-8"``) get the text as
written; the others get a clean transliteration ("Mời số 2005 đến quầy 3" ->
"Moi so 2005 den quay 3", edge/vi.py), never "?" or broken bytes.

What it shows comes from retained topics, so a restarted daemon shows the right text at
once: ``queue/state``'s ``recent_calls`` (newest first) and ``display/notice`` (until its
``until``).
"""
from __future__ import annotations

import logging
import re
import string
import threading
from datetime import datetime
from typing import Any, Callable

from display.led.protocols import BoardProtocol, FrameDecoder, Shown, TextError
from edge import protocol as P
from edge.vi import ascii_text

log = logging.getLogger(__name__)

SEPARATOR = "   |   "


class HallText(BoardProtocol):
    """Text frames from a template ({address}, {text}, {xor}); `text` in `charset`, any length
    up to `chars`. The template must have a literal after {text} (the frame's end)."""

    name = "hall"

    def __init__(self, chars: int, template: str, charset: str = "ascii") -> None:
        super().__init__(chars)
        self.template = template
        self.charset = charset
        self.parts = list(string.Formatter().parse(template))
        fields = [f for _, f, _, _ in self.parts if f is not None]
        unknown = set(fields) - {"address", "text", "xor"}
        if unknown or "text" not in fields:
            raise ValueError(f"hall board template {template!r}: needs {{text}}, may use {{address}} {{xor}}")
        i = next(k for k, part in enumerate(self.parts) if part[1] == "text")
        if not any(lit for lit, _, _, _ in self.parts[i + 1:]):
            raise ValueError(f"hall board template {template!r}: put an end marker after {{text}}, e.g. \\x03")

    def check_text(self, text: str) -> str:
        text = P.nfc(re.sub(r"\s", " ", text))  # one line; every space kept (separators, scroll windows)
        if self.charset == "ascii":
            text = ascii_text(text)
        if len(text) > self.digits:
            cut = text[: self.digits - 3].rsplit(" ", 1)[0]
            text = cut + ("…" if self.charset != "ascii" else "...")
        return text

    def _encode(self, s: str) -> bytes:
        return s.encode("utf-8") if self.charset == "utf-8" else s.encode("ascii", "replace")

    def frame(self, address: int, text: str, blink: bool = False) -> bytes:
        text = self.check_text(text)
        out = b""
        for literal, field, spec, _ in self.parts:
            out += literal.encode("latin-1")
            if field is None:
                continue
            if field == "xor":
                x = 0
                for b in out:
                    x ^= b
                out += f"{x:02X}".encode("ascii")
            elif field == "address":
                out += format(address, spec or "").encode("ascii")
            else:
                out += self._encode(text)
        return out

    def decoder(self) -> FrameDecoder:
        return _HallDecoder(self)


class _HallDecoder(FrameDecoder):
    def __init__(self, proto: HallText) -> None:
        super().__init__()
        self.proto = proto
        rx = b""
        for literal, field, _, _ in proto.parts:
            rx += re.escape(literal.encode("latin-1"))
            if field == "address":
                rx += rb"(?P<address>\s*\d+)"
            elif field == "text":
                rx += rb"(?P<text>.*?)"
            elif field == "xor":
                rx += rb"[0-9A-F]{2}"
        self.rx = re.compile(rx, re.S)

    def _one(self) -> tuple[Shown, bytes] | None:
        m = self.rx.search(bytes(self.buf))
        if m is None:
            return None
        if m.start():
            self.errors += 1
        del self.buf[: m.end()]
        raw = m.group("text")
        text = raw.decode("utf-8", "replace") if self.proto.charset == "utf-8" else raw.decode("ascii", "replace")
        address = int(m.group("address")) if "address" in m.groupdict() else 0
        return Shown(address, text), b""


def hall_protocol(device: Any) -> HallText:
    return HallText(device.chars, device.template, device.charset)


def call_line(number: str, counter: int) -> str:
    return f"Mời số {number} đến quầy {counter}"


class HallFeed:
    """What the hall boards say, from queue/state and the notice; `show(text)` on each change."""

    def __init__(self, calls: int, show: Callable[[str], None], now: Callable[[], datetime],
                 parse: Callable[[str, bytes, Any], Any]) -> None:
        self.calls_shown = calls
        self.show = show
        self.now = now
        self.parse = parse  # Bus.parse_payload: a bad message is reported, never fatal
        self.calls: list[tuple[str, int]] = []
        self.notice: str = ""
        self.until: datetime | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.text = ""

    def compose(self) -> str:
        parts = [call_line(n, c) for n, c in self.calls[: self.calls_shown]]
        if self.notice and (self.until is None or self.now() < self.until):
            parts.append(f"Thông báo: {self.notice}")
        return SEPARATOR.join(parts)

    def _update(self) -> None:
        text = self.compose()
        if text != self.text:
            self.text = text
            self.show(text)

    def on_queue_state(self, topic: str, payload: bytes) -> None:
        st = self.parse(topic, payload, P.QueueState) if payload else None
        if st is None:
            return
        with self._lock:
            self.calls = [(c.number, c.counter) for c in st.recent_calls]
            self._update()

    def on_notice(self, topic: str, payload: bytes) -> None:
        notice = self.parse(topic, payload, P.Notice) if payload else None
        if payload and notice is None:
            return
        with self._lock:
            self.notice = P.nfc(notice.text.strip()) if notice else ""
            self.until = None
            if notice and notice.until:
                try:
                    self.until = datetime.fromisoformat(notice.until)
                except ValueError:
                    log.warning("hall board: notice 'until' %r is not RFC 3339; shown without end", notice.until)
            if self._timer is not None:
                self._timer.cancel()
            if self.until is not None:
                delay = max(0.0, (self.until - self.now()).total_seconds()) + 0.05
                self._timer = threading.Timer(delay, self._expire)
                self._timer.name = "led-hall-notice"
                self._timer.daemon = True
                self._timer.start()
            self._update()

    def _expire(self) -> None:
        with self._lock:
            self._update()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class Scroller:
    """For boards that cannot scroll by themselves: a `window` of the text, moved `cps`
    characters a second by a thread (``led-hall-scroll``); a text that fits stands still."""

    GAP = "     "

    def __init__(self, show: Callable[[str], None], window: int, cps: float) -> None:
        self.show = show
        self.window = window
        self.period = 1.0 / cps
        self.text = ""
        self.pos = 0
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="led-hall-scroll", daemon=True)
        self._thread.start()

    def set(self, text: str) -> None:
        with self._cond:
            self.text, self.pos = text, 0
            self._cond.notify_all()
        if len(text) <= self.window:
            self.show(text)

    def frame(self) -> str:
        """The window on the glass now (called under the lock)."""
        loop = self.text + self.GAP
        doubled = loop + loop
        return doubled[self.pos % len(loop): self.pos % len(loop) + self.window]

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and len(self.text) <= self.window:
                    self._cond.wait()
                if self._stop:
                    return
                window = self.frame()
                self.pos += 1
            self.show(window)
            with self._cond:
                if self._stop:
                    return
                self._cond.wait(self.period)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=2)


__all__ = ["HallFeed", "HallText", "Scroller", "TextError", "call_line", "hall_protocol"]
