"""A scanner fed from a file: the `file` and `virtual` backends.

`path` names either a file (or FIFO) of codes, one a line, that something appends to (the
simulated office, a technician with `echo CODE >> file`), or a folder into which images of
receipts are dropped; each image is decoded and moved to `done/`. Scans are live events: a
file is read from its end at start, so codes written while the daemon was down are not
replayed to a citizen who has left. `virtual` without a path uses DATA/<device>/codes.txt.
"""
from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path
from typing import Any

from scanner.base import Backoff, OnRead, OnState, Reader, ReaderState
from scanner.keymap import symbology_of

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def feed_path(data_dir: Path | str, device: Any) -> Path | None:
    """Where a `file`/`virtual` scanner reads its codes (the simulator appends there), else None."""
    if device.backend not in ("file", "virtual"):
        return None
    return Path(device.path) if device.path else Path(data_dir) / device.id / "codes.txt"


class FileReader(Reader):
    source = "file"
    poll_s = 0.1

    def __init__(self, device: Any, on_read: OnRead, on_state: OnState,
                 default_path: Path | None = None, decoder: Any = None) -> None:
        super().__init__(device, on_read, on_state)
        path = device.path or (str(default_path) if default_path else None)
        if not path:
            raise ValueError(f"scanner {device.id}: file backend needs `path`")
        self.path = Path(path)
        if device.backend == "virtual" and not device.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch(exist_ok=True)
        self._decoder = decoder
        self.backoff = Backoff()

    def run(self, stop: threading.Event) -> None:
        self.set_state(ReaderState.CONNECTING)
        while not stop.is_set():
            try:
                if self.path.is_dir():
                    self._watch_folder(stop)
                elif self.path.exists() and stat.S_ISFIFO(self.path.stat().st_mode):
                    self._read_fifo(stop)
                elif self.path.exists():
                    self._tail(stop)
                else:
                    self.set_state(ReaderState.DISCONNECTED, reason=f"{self.path} does not exist")
                    self.backoff.wait(stop)
            except OSError as exc:
                self.set_state(ReaderState.ERROR, reason=f"{self.path}: {exc}")
                self.backoff.wait(stop)
        self.set_state(ReaderState.STOPPED)

    def _emit_lines(self, data: bytes) -> None:
        for line in data.decode("utf-8", errors="replace").splitlines():
            if line.strip():
                self.emit(line.strip(), symbology_of(line.strip()))

    def _tail(self, stop: threading.Event) -> None:
        with open(self.path, "rb") as f:
            f.seek(0, os.SEEK_END)
            self.set_state(ReaderState.READY)
            self.backoff.reset()
            partial = b""
            while not stop.is_set():
                chunk = f.read()
                if chunk:
                    partial += chunk
                    whole, _, partial = partial.rpartition(b"\n")
                    if whole:
                        self._emit_lines(whole)
                    continue
                try:
                    size = self.path.stat().st_size
                except FileNotFoundError:
                    return  # removed: wait for it to come back
                if size < f.tell():  # truncated: start again from the top
                    f.seek(0)
                    partial = b""
                stop.wait(self.poll_s)

    def _read_fifo(self, stop: threading.Event) -> None:
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self.set_state(ReaderState.READY)
        partial = b""
        try:
            while not stop.is_set():
                try:
                    chunk = os.read(fd, 4096)
                except BlockingIOError:
                    chunk = b""
                if chunk:
                    partial += chunk
                    whole, _, partial = partial.rpartition(b"\n")
                    if whole:
                        self._emit_lines(whole)
                else:
                    stop.wait(self.poll_s)
        finally:
            os.close(fd)

    def _watch_folder(self, stop: threading.Event) -> None:
        import cv2

        from scanner.decode import DecoderUnavailable, make_decoder

        try:
            decoder = self._decoder or make_decoder(getattr(self.device, "decoder", None))
        except DecoderUnavailable as exc:   # on the status until the package is installed and we restart
            log.error("scanner %s cannot decode images: %s", self.device.id, exc)
            self.set_state(ReaderState.ERROR, reason=str(exc), decoder="missing")
            stop.wait()
            return
        done = self.path / "done"
        done.mkdir(exist_ok=True)
        self.set_state(ReaderState.READY)
        while not stop.is_set() and self.path.is_dir():
            for img_path in sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
                gray = cv2.imread(str(img_path), cv2.IMREAD_GRAYSCALE)
                if gray is None:  # still being written, or not an image
                    log.warning("cannot read image %s", img_path)
                    img_path.rename(done / img_path.name)
                    continue
                found = decoder.decode(gray)
                if not found:
                    log.info("no code found in %s", img_path.name)
                for text, sym in found:
                    self.emit(text, sym)
                img_path.rename(done / img_path.name)
            stop.wait(self.poll_s * 3)
