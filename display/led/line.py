"""One RS-485 line and the boards on it, driven by one thread.

Boards on one line share one half-duplex wire, so one thread owns the port and talks to
one board at a time. Callers only say what each board should show (`show`); the thread
sends a frame when that differs from what the board last confirmed, blinks boards that
cannot blink themselves, retries boards that did not answer, and when the USB adapter
disappears it closes the port, reports it, reopens it with backoff and sends every
board its text again.
"""
from __future__ import annotations

import enum
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import serial

from display.led.protocols import BoardError, BoardProtocol, TextError

log = logging.getLogger(__name__)

Opener = Callable[[], serial.Serial]
StatusFn = Callable[[str, dict[str, Any]], None]


class LineState(enum.Enum):
    CONNECTING = "connecting"
    READY = "ready"
    LOST = "lost"
    STOPPED = "stopped"


@dataclass
class Board:
    """One board: what it should show and what it last confirmed."""

    address: int
    protocol: BoardProtocol
    text: str = ""
    blink_start: float = 0.0
    blink_until: float = 0.0
    sent: tuple[str, bool] | None = None
    retry_at: float = 0.0
    error: str | None = None
    refused: str | None = None  # the last text it could not show (too long, no shape)
    frames: int = field(default=0)

    def wanted(self, now: float, half_period: float) -> tuple[str, bool]:
        """(text on the glass now, ask the board to blink)."""
        if now >= self.blink_until or not self.text:
            return self.text, False
        if self.protocol.native_blink:
            return self.text, True
        phase = int((now - self.blink_start) / half_period) % 2
        return (self.text if phase == 0 else ""), False

    def next_change(self, now: float, half_period: float) -> float | None:
        if now >= self.blink_until or not self.text:
            return None
        if self.protocol.native_blink:
            return self.blink_until
        k = int((now - self.blink_start) / half_period) + 1
        return min(self.blink_start + k * half_period, self.blink_until)


class LineDriver:
    """Owns one serial line; `show()` from any thread, frames go out on the line thread."""

    def __init__(self, name: str, opener: Opener, boards: list[Board], on_status: StatusFn, *,
                 reply_timeout: float = 0.3, retry_s: float = 2.0, blink_half_period: float = 0.5,
                 backoff: tuple[float, float] = (0.2, 5.0), probe_s: float = 1.0) -> None:
        self.name = name
        self.opener = opener
        self.boards = {b.address: b for b in boards}
        self.on_status = on_status
        self.reply_timeout = reply_timeout
        self.retry_s = retry_s
        self.half = blink_half_period
        self.backoff = backoff
        self.probe_s = probe_s
        self.state = LineState.CONNECTING
        self.port: serial.Serial | None = None
        self.last_error: str | None = None
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"led-line-{name}", daemon=True)

    # -------------------------------------------------------------- API (any thread)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=5)
        self._close()
        self.state = LineState.STOPPED

    def show(self, address: int, text: str, blink_s: float = 0.0) -> None:
        """Make board `address` show `text` ("" blanks it); blink for blink_s seconds."""
        board = self.boards[address]
        refused = None
        try:
            text = board.protocol.check_text(text)
        except TextError as exc:
            log.warning("%s: board %d cannot show %r: %s", self.name, address, text, exc)
            refused = str(exc)
            text = board.protocol.check_text("-" * min(board.protocol.digits, 4))
        if refused != board.refused:
            board.refused = refused
            self._report()
        with self._cond:
            board.text = text
            if blink_s > 0:
                now = time.monotonic()
                board.blink_start, board.blink_until = now, now + blink_s
            board.retry_at = 0.0
            self._cond.notify_all()

    def healthy(self) -> bool:
        return self._thread.is_alive()

    # -------------------------------------------------------------- line thread

    def _run(self) -> None:
        delay = self.backoff[0]
        while not self._stop:
            if self.port is None:
                if not self._open():
                    self._wait(delay)
                    delay = min(delay * 2, self.backoff[1])
                    continue
                delay = self.backoff[0]
            try:
                wake = self._send_due()
                self._probe()
            except (serial.SerialException, OSError) as exc:
                self._lost(exc)
                continue
            timeout = self.probe_s if wake is None else min(self.probe_s, max(0.0, wake - time.monotonic()))
            self._wait(timeout)

    def _probe(self) -> None:
        """Notice an unplugged adapter while idle: its device node goes, its ioctls fail."""
        port = self.port
        if port is None:
            return
        path = getattr(port, "port", None)
        if isinstance(path, str) and path.startswith("/") and not os.path.exists(path):
            raise serial.SerialException(f"{path} disappeared")
        port.in_waiting  # noqa: B018 - TIOCINQ raises on a dead device

    def _wait(self, timeout: float | None) -> None:
        with self._cond:
            if not self._stop and not self._due():
                self._cond.wait(timeout)

    def _due(self) -> bool:
        """True when some board needs a frame now (called under the lock)."""
        if self.port is None:
            return False
        now = time.monotonic()
        return any(b.wanted(now, self.half) != b.sent and now >= b.retry_at for b in self.boards.values())

    def _open(self) -> bool:
        try:
            self.port = self.opener()
        except (serial.SerialException, OSError, ValueError) as exc:
            self._set_state(LineState.LOST if self.state is not LineState.CONNECTING else LineState.CONNECTING,
                            f"cannot open: {exc}")
            return False
        self.port.timeout = self.reply_timeout
        for b in self.boards.values():
            b.sent, b.retry_at = None, 0.0  # the board may have lost power too: resend all
        log.info("%s: line open", self.name)
        self._set_state(LineState.READY, None)
        return True

    def _lost(self, exc: BaseException) -> None:
        log.warning("%s: line lost: %s", self.name, exc)
        self._close()
        self._set_state(LineState.LOST, f"line lost: {exc}")

    def _close(self) -> None:
        port, self.port = self.port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def _send_due(self) -> float | None:
        """Send every frame that is due; the monotonic time of the next change, if any."""
        wake: float | None = None
        changed = False
        # Boards that answer go first: a dead board's reply timeout must not delay a call.
        for board in sorted(self.boards.values(), key=lambda b: b.error is not None):
            with self._cond:
                now = time.monotonic()
                want = board.wanted(now, self.half)
                due = want != board.sent and now >= board.retry_at
            if due:
                changed |= self._send(board, want)
            with self._cond:
                now = time.monotonic()
                for t in (board.next_change(now, self.half),
                          board.retry_at if board.retry_at > now and board.wanted(now, self.half) != board.sent else None):
                    if t is not None and (wake is None or t < wake):
                        wake = t
        if changed:
            self._report()
        return wake

    def _send(self, board: Board, want: tuple[str, bool]) -> bool:
        """One frame to one board; True when its error state changed."""
        frame = board.protocol.frame(board.address, *want)
        port = self.port
        assert port is not None
        port.reset_input_buffer()
        port.write(frame)
        port.flush()
        board.frames += 1
        before = board.error
        if board.protocol.expects_reply(board.address):
            try:
                board.protocol.read_reply(port.read, frame)
            except BoardError as exc:
                if board.error is None:
                    log.warning("%s: board %d: %s", self.name, board.address, exc)
                board.error = str(exc)
                board.retry_at = time.monotonic() + self.retry_s
                return before != board.error
        board.sent, board.error = want, None
        log.debug("%s: board %d shows %r%s", self.name, board.address, want[0], " (blink)" if want[1] else "")
        return before is not None

    # -------------------------------------------------------------- status

    def _set_state(self, state: LineState, error: str | None) -> None:
        changed = state is not self.state or error != self.last_error
        self.state, self.last_error = state, error
        if changed:
            self._report()

    def board_states(self) -> dict[str, str]:
        return {str(a): (b.error or b.refused or "ok") for a, b in sorted(self.boards.items())}

    def _report(self) -> None:
        detail: dict[str, Any] = {"line": self.name, "state": self.state.value, "boards": self.board_states()}
        if self.state is not LineState.READY:
            detail["error"] = self.last_error
            level = "error"
        else:
            level = "warning" if any(b.error or b.refused for b in self.boards.values()) else "ok"
        try:
            self.on_status(level, detail)
        except Exception:  # noqa: BLE001 - status reporting must not stop the line
            log.exception("%s: status callback failed", self.name)
