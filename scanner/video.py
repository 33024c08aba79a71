"""Camera barcode readers: OpenCV capture from a device index, an RTSP URL or a video file.

Each frame goes to the decoder (zxing-cpp by default, see bench/decode.py). A capture
that stops giving frames is released and reopened with backoff (a camera unplugged, an
RTSP stream dropped); a video file that ends is reopened from the start, which is how a
demo or a test loops a recording.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from scanner.base import Backoff, OnRead, OnState, Reader, ReaderState
from scanner.decode import Decoder, make_decoder, to_gray

log = logging.getLogger(__name__)


def open_capture(source: str) -> Any:
    import cv2

    src: int | str = int(source) if source.isdigit() else source
    cap = cv2.VideoCapture(src)
    if not cap.isOpened():
        cap.release()
        raise OSError(f"cannot open video source {source!r}")
    return cap


class VideoReader(Reader):
    source = "camera"

    def __init__(self, device: Any, on_read: OnRead, on_state: OnState,
                 decoder: Decoder | None = None, backoff: Backoff | None = None) -> None:
        super().__init__(device, on_read, on_state)
        if device.source is None:
            raise ValueError(f"scanner {device.id}: camera backend needs `source`")
        self.decoder = decoder or make_decoder(getattr(device, "decoder", None))
        self.backoff = backoff or Backoff(cap=10)
        self.frames = 0

    def run(self, stop: threading.Event) -> None:
        seen = False
        while not stop.is_set():
            try:
                cap = open_capture(str(self.device.source))
            except OSError as exc:
                self.set_state(ReaderState.DISCONNECTED if seen else ReaderState.CONNECTING, reason=str(exc))
                self.backoff.wait(stop)
                continue
            seen = True
            self.set_state(ReaderState.READY)
            try:
                while not stop.is_set():
                    ok, frame = cap.read()
                    if not ok or frame is None:
                        log.info("video source %s gave no frame; reopening", self.device.source)
                        break
                    self.backoff.reset()
                    self.frames += 1
                    for text, sym in self.decoder.decode(to_gray(frame)):
                        self.emit(text, sym)
            finally:
                cap.release()
            self.backoff.wait(stop)
        self.set_state(ReaderState.STOPPED)
