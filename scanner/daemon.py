"""The `scanner` daemon: one reader (by backend) -> repeat filter -> the scan topic.

The reader runs in its own named thread and recovers from unplugs by itself; its states
become the device status (`ok` while reading, `error` with the reason while the reader is
away), so a technician sees a missing reader on the status topic.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from edge.daemon import DaemonContext
from edge.protocol import Scan, rfc3339
from kiosk.ticket.cccd import card_token, looks_like_card, office_secret
from scanner.base import Read, Reader, ReaderState, reader_class
from scanner.decode import DecoderUnavailable
from scanner.filefeed import feed_path
from scanner.repeat import RepeatFilter

log = logging.getLogger(__name__)


class ScannerDaemon:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.device = ctx.device
        self.bus = ctx.bus()
        self.repeats = RepeatFilter(self.device.repeat_window_s)
        cls = reader_class(self.device.backend)
        kwargs: dict[str, Any] = {}
        if self.device.backend in ("file", "virtual"):
            kwargs["default_path"] = feed_path(ctx.data_dir, self.device)
        self.reader: Reader | None = None
        self.config_error: str | None = None
        self.missing_decoder = False
        try:
            self.reader = cls(self.device, self._on_read, self._on_state, **kwargs)
        except DecoderUnavailable as exc:   # a camera reader without its decoder library
            self.config_error, self.missing_decoder = str(exc), True
            log.error("scanner %s cannot decode: %s", self.device.id, exc)
        except ValueError as exc:  # e.g. serial without `port`: say so on the status topic
            self.config_error = str(exc)
            log.error("scanner %s cannot start: %s", self.device.id, exc)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"reader-{self.device.id}", daemon=True)
        self.published = 0
        self.dropped = 0
        self._person_secret: bytes | None = None

    def start(self) -> None:
        self.bus.start()
        if self.reader is None:
            if self.missing_decoder:
                self.bus.set_status("error", {"reader": "error", "backend": self.device.backend,
                                              "decoder": "missing", "reason": self.config_error})
                return
            self.bus.set_status("error", {"reader": "error", "backend": self.device.backend,
                                          "reason": f"configuration: {self.config_error}"})
            return
        self.bus.set_status("warning", {"reader": "connecting"})
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3)
        self.bus.stop()

    def healthy(self) -> bool:
        return self.reader is None or self._thread.is_alive()

    def _run(self) -> None:
        assert self.reader is not None
        while not self._stop.is_set():
            try:
                self.reader.run(self._stop)
            except Exception:  # a bug in a backend must not silence the reader for good
                log.exception("reader %s crashed; restarting it", self.device.id)
                self._on_state(ReaderState.ERROR, {"reason": "reader crashed; restarting"})
                self._stop.wait(2)

    def _on_state(self, state: ReaderState, detail: dict[str, Any]) -> None:
        info = {"reader": state.value, "backend": self.device.backend, **detail}
        if state == ReaderState.READY:
            self.bus.set_status("ok", info)
        elif state in (ReaderState.CONNECTING,):
            self.bus.set_status("warning", info)
        elif state in (ReaderState.DISCONNECTED, ReaderState.ERROR):
            self.bus.set_status("error", info)

    def _on_read(self, read: Read) -> None:
        code, card = read.code, looks_like_card(read.code)
        if card:  # a citizen ID card: only its token leaves this function (kiosk/ticket/cccd.py)
            try:
                code = card_token(read.code, self._secret(), self.ctx.clock.now().date(),
                                  self.ctx.cfg.office.elderly_age).wire()
            except ValueError as exc:
                self.dropped += 1
                log.warning("unreadable citizen ID card QR dropped (%s)", exc)
                return
        shown = "<citizen ID card>" if card else code
        if not self.repeats.accept(code):
            self.dropped += 1
            log.debug("repeat of %s dropped", shown)
            return
        scan = Scan(code=code, symbology=read.symbology, source=read.source,
                    ts=rfc3339(self.ctx.clock.now()))
        self.bus.publish(self.ctx.topics.scan(self.device.id), scan)
        self.published += 1
        log.info("scan %s (%s, %s)", shown, read.symbology, read.source)

    def _secret(self) -> bytes:
        if self._person_secret is None:
            self._person_secret = office_secret(self.ctx.data_dir)
        return self._person_secret


def create(ctx: DaemonContext) -> ScannerDaemon:
    return ScannerDaemon(ctx)
