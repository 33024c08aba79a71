"""Video slides for information screens: ffmpeg decodes, the screen shows the frames.

pygame has no video decoder, so where the host has ffmpeg (Debian package ffmpeg) a child
process decodes the file at its own pace (``-re``), scaled and letterboxed to the screen,
into raw RGB frames on a pipe; a reader thread (``information-video``) hands each frame to
the UI thread. Sound is not played: the waiting room's speaker belongs to the call voice.
Without ffmpeg, video files are skipped (``available()`` is False).
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)


def available() -> bool:
    return shutil.which("ffmpeg") is not None


class VideoPlayer:
    """One playback: `on_frame(rgb_bytes)` per frame, then `on_end()` once (end, error or stop)."""

    def __init__(self, path: Path, size: tuple[int, int], fps: int, on_frame: Callable[[bytes], None],
                 on_end: Callable[[], None], max_s: float = 300.0) -> None:
        self.path = path
        self.size = size
        self.fps = fps
        self.on_frame = on_frame
        self.on_end = on_end
        self.max_s = max_s
        self.frames = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="information-video", daemon=True)

    def start(self) -> "VideoPlayer":
        w, h = self.size
        vf = (f"scale={w}:{h}:force_original_aspect_ratio=decrease,"
              f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,fps={self.fps}")
        cmd = ["ffmpeg", "-v", "error", "-nostdin", "-re", "-t", str(self.max_s), "-i", str(self.path), "-an",
               "-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        try:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            log.warning("cannot start ffmpeg for %s: %s", self.path.name, exc)
            self.on_end()
            return self
        self._thread.start()
        return self

    def _run(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        frame = self.size[0] * self.size[1] * 3
        try:
            while not self._stopped.is_set():
                data = self.proc.stdout.read(frame)
                if len(data) < frame:
                    break
                self.frames += 1
                self.on_frame(data)
        except (OSError, ValueError):
            pass  # the pipe closed under us: stopped
        finally:
            code = self.proc.wait()
            if code not in (0, None) and not self._stopped.is_set() and self.proc.stderr is not None:
                err = self.proc.stderr.read().decode("utf-8", "replace").strip().splitlines()[-1:]
                log.warning("video %s: ffmpeg exited %s %s", self.path.name, code, err)
            if not self._stopped.is_set():
                self.on_end()

    def stop(self) -> None:
        """End the playback now (one SIGTERM to ffmpeg); on_end is not called."""
        self._stopped.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=3)
