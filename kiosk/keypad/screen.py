"""The on-screen keypad: a small pygame window on the clerk's PC.

It shows the counter, its status, the number being served and how many wait for the
counter's services, with touch/click buttons for the counter commands; `Chuyển`
(transfer) swaps the buttons for the office's services (names wrapped on two columns) and
a `Sang quầy` choice of counters, `Tạm dừng` for the office's pause reasons, `Gọi số` for
a number pad to call a ticket out of turn; `Đóng quầy` closes. The window runs on its own
thread (`keypad-screen`); bus threads only hand it new views through `call_soon`.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from kiosk.keypad.keys import Command, Prompt
from kiosk.keypad.link import CounterView, Outcome

log = logging.getLogger(__name__)

TEXT: dict[str, dict[str, Any]] = {
    "vi": {
        "next": "Gọi tiếp", "recall": "Gọi lại", "skip": "Vắng mặt", "finish": "Xong",
        "pause": "Tạm dừng", "resume": "Tiếp tục", "transfer": "Chuyển", "open": "Mở quầy",
        "close": "Đóng quầy", "cancel": "Hủy", "serving": "Đang phục vụ", "waiting": "Đang chờ",
        "status": {"open": "Đang mở", "paused": "Tạm dừng", "closed": "Đã đóng", None: "Đang kết nối…"},
        "choose": "Chuyển số {n} đến dịch vụ:", "nobody": "Không còn ai chờ.",
        "called": "Đã gọi số {n}.", "sending": "Đang gửi…", "ok": "Đã thực hiện: {a}.",
        "to_counter": "Sang quầy…", "call": "Gọi số", "why": "Lý do tạm dừng:", "which": "Chuyển số {n} đến quầy:",
        "type": "Số cần gọi: {n}", "ok_key": "Gọi", "del": "Xóa",
        "errors": {},
    },
    "en": {
        "next": "Next", "recall": "Recall", "skip": "No-show", "finish": "Done",
        "pause": "Pause", "resume": "Resume", "transfer": "Transfer", "open": "Open counter",
        "close": "Close counter", "cancel": "Cancel", "serving": "Serving", "waiting": "Waiting",
        "status": {"open": "Open", "paused": "Paused", "closed": "Closed", None: "Connecting…"},
        "choose": "Transfer {n} to service:", "nobody": "Nobody is waiting.",
        "called": "Called {n}.", "sending": "Sending…", "ok": "Done: {a}.",
        "to_counter": "To counter…", "call": "Call number", "why": "Reason for the pause:",
        "which": "Transfer {n} to counter:", "type": "Number to call: {n}", "ok_key": "Call", "del": "Del",
        "errors": {"counter_closed": "The counter is closed.", "not_serving": "Nobody is being served.",
                   "unavailable": "The queue system does not answer; try again.",
                   "unknown_service": "Unknown service.", "bad_request": "Invalid request."},
    },
}

STATUS_COLOURS = {"open": (0, 120, 60), "paused": (200, 120, 0), "closed": (150, 30, 30), None: (90, 90, 90)}


class ScreenKeypad:
    """Key source with a window: taps become key presses of the screen keymap."""

    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon
        dev = daemon.device
        self.size = (dev.width, dev.height)
        self.fullscreen = dev.fullscreen
        self.text = TEXT[dev.locale]
        self.services = [(s.code, s.name) for s in daemon.ctx.cfg.services][:9]
        self.counters = [(c.number, c.label) for c in daemon.ctx.cfg.counters if c.number != dev.counter][:11]
        self.reasons = list(daemon.ctx.cfg.web.pause_reasons)[:8]
        self.view = CounterView(name=daemon.link.view.name)
        self.mode = "main"  # main | transfer | to_counter | reasons | call
        self.entry = ""
        self.buttons: list[Any] = []
        self.loop: Any = None
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keypad-screen", daemon=True)
        daemon.link.listeners.append(self._on_view)

    # -------------------------------------------------------------- key source API

    def start(self) -> None:
        self._thread.start()
        if not self.ready.wait(10):
            log.error("keypad screen did not open")

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.stop()
        self._thread.join(timeout=5)

    def healthy(self) -> bool:
        return self._thread.is_alive()

    def send(self, line: str) -> None:
        """Serial-style feedback lines are not needed: the window draws the view."""

    def screenshot(self, path: Path) -> threading.Event:
        """Save the window to `path` on the UI thread; the event is set when written."""
        done = threading.Event()

        def shoot() -> None:
            from edge.ui import save_screenshot
            self._draw(self.loop.surface)
            save_screenshot(self.loop.surface, path)
            done.set()
        self.loop.call_soon(shoot)
        return done

    # -------------------------------------------------------------- UI thread

    def _run(self) -> None:
        try:
            from edge.ui import UiLoop
            self.loop = UiLoop(size=self.size, fullscreen=self.fullscreen,
                               title=f"motcua - {self.view.name}")
        except Exception as exc:  # noqa: BLE001 - no display: say so on the status topic
            log.error("cannot open the keypad window: %s", exc)
            self.daemon.source_status("error", {"error": f"cannot open the window: {exc}"})
            self.ready.set()
            return
        self.loop.on_draw = self._draw
        self.loop.on_tap = self._on_tap
        self.view = self.daemon.link.snapshot()  # state that arrived before the window opened
        self.daemon.source_status("ok", {"window": f"{self.size[0]}x{self.size[1]}"})
        self.ready.set()
        self.loop.run()

    def _on_view(self, view: CounterView) -> None:
        if self.loop is not None:
            self.loop.call_soon(self._set_view, view)

    def _set_view(self, view: CounterView) -> None:
        self.view = view
        self.loop.invalidate()

    @property
    def choosing(self) -> bool:
        """Picking the service of a transfer (the keypad waits for that key)."""
        return self.mode == "transfer"

    def _command(self, command: Command) -> None:
        self.mode = "main"
        self.view.busy = True
        self.daemon.send(command)

    def _on_tap(self, tap: Any) -> None:
        from edge.ui.widgets import hit_test
        button = hit_test(self.buttons, tap.pos)
        if button is None:
            return
        value = str(button.value)
        kind, _, arg = value.partition(":")
        if value == "cancel":
            self.daemon.keys.cancel()
            self.mode, self.entry = "main", ""
        elif value in ("pause", "call", "to_counter") and self.mode in ("main", "transfer"):
            self.daemon.keys.cancel()
            self.mode = {"pause": "reasons", "call": "call", "to_counter": "to_counter"}[value]
            self.entry = ""
        elif kind == "reason":
            self._command(Command("pause", {"reason": self.reasons[int(arg)]}))
        elif kind == "counter":
            self._command(Command("transfer", {"to_counter": int(arg)}))
        elif kind == "digit":
            self.entry = (self.entry + arg)[:12]
        elif value == "del":
            self.entry = self.entry[:-1]
        elif value == "call_ok":
            if self.entry:
                self._command(Command("call", {"number": self.entry}))
                self.entry = ""
        else:
            result = self.daemon.press(button.value)
            self.mode = "transfer" if isinstance(result, Prompt) else "main"
            if self.choosing:
                self.loop.call_later(self.daemon.device.transfer_timeout_s, self._transfer_expired)
            elif isinstance(result, Command):
                self.view.busy = True
        self.loop.invalidate()

    def _transfer_expired(self) -> None:
        if self.choosing and not self.daemon.keys.awaiting_service:
            self.mode = "main"
            self.loop.invalidate()

    # -------------------------------------------------------------- drawing

    def message(self) -> str:
        tx, v = self.text, self.view
        if v.busy:
            return tx["sending"]
        last: Outcome | None = v.last
        if last is None:
            return ""
        if not last.ok:
            return tx["errors"].get(last.code, last.message) or str(last.code)
        if last.command.action == "next":
            return tx["called"].format(n=last.number) if last.number else tx["nobody"]
        return tx["ok"].format(a=tx.get(last.command.action, last.command.action))

    def _draw(self, surface: Any) -> None:
        import pygame
        from edge.ui import blit_text
        from edge.ui.widgets import Button

        tx, v = self.text, self.view
        w, h = surface.get_size()
        surface.fill((245, 245, 240))
        head = pygame.Rect(0, 0, w, h * 14 // 100)
        pygame.draw.rect(surface, STATUS_COLOURS.get(v.status, (90, 90, 90)), head)
        blit_text(surface, f"{v.name} · {tx['status'].get(v.status, v.status)}", head.inflate(-16, -6),
                  max(14, head.height * 5 // 10), (255, 255, 255), bold=True, align="left", wrap=False)
        mid = pygame.Rect(0, head.bottom, w, h * 36 // 100)
        left = pygame.Rect(8, mid.y, w * 6 // 10 - 8, mid.height)
        right = pygame.Rect(left.right, mid.y, w - left.right - 8, mid.height)
        label_h = mid.height // 4
        blit_text(surface, tx["serving"], pygame.Rect(left.x, left.y, left.w, label_h), label_h * 7 // 10,
                  (60, 60, 60), wrap=False)
        blit_text(surface, v.serving or "—", pygame.Rect(left.x, left.y + label_h, left.w, mid.height - label_h),
                  (mid.height - label_h) * 8 // 10, (180, 20, 20), bold=True, wrap=False)
        blit_text(surface, tx["waiting"], pygame.Rect(right.x, right.y, right.w, label_h), label_h * 7 // 10,
                  (60, 60, 60), wrap=False)
        blit_text(surface, "—" if v.waiting is None else str(v.waiting),
                  pygame.Rect(right.x, right.y + label_h, right.w, mid.height - label_h),
                  (mid.height - label_h) * 6 // 10, (30, 30, 30), bold=True, wrap=False)
        msg = pygame.Rect(8, mid.bottom, w - 16, h * 10 // 100)
        blit_text(surface, self.message(), msg, max(12, msg.height * 6 // 10), (40, 40, 40), wrap=False)
        area = pygame.Rect(6, msg.bottom, w - 12, h - msg.bottom - 6)
        self.buttons = self._layout(area, Button)
        prompt = {"transfer": tx["choose"].format(n=v.serving or ""), "to_counter": tx["which"].format(n=v.serving or ""),
                  "reasons": tx["why"], "call": tx["type"].format(n=self.entry)}.get(self.mode)
        if prompt:
            surface.fill((245, 245, 240), msg)
            blit_text(surface, prompt, msg, max(12, msg.height * 6 // 10), (0, 70, 140), wrap=False)
        for b in self.buttons:
            b.draw(surface)

    def _layout(self, area: Any, Button: Any) -> list[Any]:
        import pygame

        tx, v = self.text, self.view
        cols = 3
        if self.mode == "transfer":  # long service names: two wide columns, wrapped labels
            items = [(str(i + 1), name, "") for i, (code, name) in enumerate(self.services)]
            items += [("to_counter", tx["to_counter"], ""), ("cancel", tx["cancel"], "")]
            cols = 2
        elif self.mode == "to_counter":
            items = [(f"counter:{n}", label, "") for n, label in self.counters] + [("cancel", tx["cancel"], "")]
        elif self.mode == "reasons":
            items = [(f"reason:{i}", r, "") for i, r in enumerate(self.reasons)] + [("cancel", tx["cancel"], "")]
            cols = 2
        elif self.mode == "call":
            items = [(f"digit:{d}", d, "") for d in "1234567890"] + [("del", tx["del"], ""),
                                                                     ("call_ok", tx["ok_key"], ""),
                                                                     ("cancel", tx["cancel"], "")]
            cols = 5
        elif v.status == "closed":
            items = [("open", tx["open"], "")]
            cols = 1
        else:
            pause = "resume" if v.status == "paused" else "pause"
            items = [("next", tx["next"], ""), ("recall", tx["recall"], ""), ("skip", tx["skip"], ""),
                     ("finish", tx["finish"], ""), (pause, tx[pause], ""), ("transfer", tx["transfer"], ""),
                     ("call", tx["call"], ""), ("close", tx["close"], "")]
        rows = (len(items) + cols - 1) // cols
        gap = 6
        bw = (area.width - gap * (cols - 1)) // cols
        bh = (area.height - gap * (rows - 1)) // rows
        size = max(12, min(bh * 4 // 10, bw // 6, 26 if self.mode in ("transfer", "reasons") else 99))
        out = []
        for i, (value, label, sub) in enumerate(items):
            r, c = divmod(i, cols)
            rect = pygame.Rect(area.x + c * (bw + gap), area.y + r * (bh + gap), bw, bh)
            bg = (0, 110, 60) if value in ("next", "call_ok") else (130, 130, 130) if value == "cancel" \
                else (150, 30, 30) if value == "close" else (0, 94, 160)
            out.append(Button(rect, label, value=value, sublabel=sub, bg=bg, size=size, radius=8,
                              enabled=not v.busy or value == "cancel"))
        return out
