"""The virtual LED backend: real bytes into a pseudo-terminal, a simulated board on the far end.

The daemon drives the pty's slave end exactly as it drives a USB RS-485 adapter; the
simulated boards read the master end, decode the frames with the protocol's decoder,
answer like real boards, keep what each one shows and record it (a log line, a JSON
file, a small PNG per board) so a technician or a test can see the board.
"""
from __future__ import annotations

import json
import logging
import os
import pty
import select
import threading
import time
import tty
from pathlib import Path
from typing import Any, Callable

from display.led.protocols import BoardProtocol, Shown

log = logging.getLogger(__name__)

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")


class PtyPair:
    """A raw pseudo-terminal pair: `path` for the driver, `master` fd for the far end."""

    def __init__(self) -> None:
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)  # no echo, no line editing, before anyone writes
        self.path = os.ttyname(self._slave)

    def close(self) -> None:
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


OnShow = Callable[[Shown, float], None]


class SimulatedBoards:
    """Boards listening on the master end of a pty; thread `led-sim-NAME`."""

    def __init__(self, master_fd: int, protocol: BoardProtocol, *, name: str = "sim",
                 out_dir: Path | None = None, on_show: OnShow | None = None,
                 answer: bool = True) -> None:
        self.fd = master_fd
        self.protocol = protocol
        self.decoder = protocol.decoder()
        self.name = name
        self.out_dir = out_dir
        self.on_show = on_show
        self.answer = answer
        self.shows: dict[int, Shown] = {}
        self.frames = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"led-sim-{name}", daemon=True)

    def start(self) -> "SimulatedBoards":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def shown(self, address: int) -> Shown | None:
        with self._lock:
            return self.shows.get(address)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.2)
                if not ready:
                    continue
                data = os.read(self.fd, 4096)
            except OSError as exc:  # the driver closed its end (EIO) or we were closed
                if self._stop.is_set():
                    return
                log.debug("%s: read: %s", self.name, exc)
                time.sleep(0.05)
                continue
            t = time.monotonic()
            for shown, reply in self.decoder.feed(data):
                if reply and self.answer:
                    try:
                        os.write(self.fd, reply)
                    except OSError as exc:
                        log.debug("%s: reply: %s", self.name, exc)
                self._apply(shown, t)

    def _apply(self, shown: Shown, t: float) -> None:
        with self._lock:
            self.frames += 1
            before = self.shows.get(shown.address)
            self.shows[shown.address] = shown
        if self.on_show is not None:
            self.on_show(shown, t)
        if before is None or before.text != shown.text or before.blink != shown.blink:
            if shown.text or before is None or before.text != "":
                log.info("virtual board %s@%d shows %r%s", self.name, shown.address, shown.text,
                         " blinking" if shown.blink else "")
            self._record(shown)

    def _record(self, shown: Shown) -> None:
        if self.out_dir is None:
            return
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with self._lock:
                state = {str(a): {"text": s.text, "blink": s.blink} for a, s in sorted(self.shows.items())}
            tmp = self.out_dir / "boards.json.tmp"
            tmp.write_text(json.dumps({"frames": self.frames, "boards": state}), encoding="utf-8")
            os.replace(tmp, self.out_dir / "boards.json")
            if shown.text:  # blank phases of a software blink are not worth a picture
                render_png(shown.text, self.out_dir / f"board-{shown.address}.png", self.protocol.digits)
        except OSError as exc:
            log.warning("%s: cannot record the board: %s", self.name, exc)


def find_font(bold: bool = True) -> str | None:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for d in FONT_DIRS:
        p = Path(d) / name
        if p.exists():
            return str(p)
    return None


def render_png(text: str, path: Path, digits: int) -> None:
    """A small red-on-black picture of the board."""
    from PIL import Image, ImageDraw, ImageFont

    height, width = 64, 40 * digits + 16
    img = Image.new("RGB", (width, height), (10, 10, 10))
    draw = ImageDraw.Draw(img)
    font_path = find_font()
    font: Any = ImageFont.truetype(font_path, 52) if font_path else ImageFont.load_default()
    box = draw.textbbox((0, 0), text, font=font)
    x = width - 8 - (box[2] - box[0]) - box[0]
    y = (height - (box[3] - box[1])) // 2 - box[1]
    draw.text((x, y), text, fill=(255, 40, 20), font=font)
    tmp = path.with_suffix(".tmp.png")
    img.save(tmp)
    os.replace(tmp, path)
