"""Continuous recording: one ffmpeg child copies a camera's main stream into fixed-length segments.

Why ffmpeg: it reads every camera's RTSP dialect and writes segments without re-encoding
(`-c copy`), so a 1080p stream costs a few percent of a core. Segments are MPEG-TS: a
segment cut short by a crash or a power cut stays playable, where an MP4 without its
index would not. ffmpeg prints one CSV line per finished segment on stdout
(`-segment_list pipe:1`); the recorder probes it and indexes it in SQLite
(scanner/camera/footage.py) with its wall-clock span, then applies the retention period,
the disk budget and the disk's free-space floor (oldest first). A camera that goes away ends ffmpeg (socket
timeout) or stalls it (no segment for a while: the recorder stops it); either way ffmpeg
is started again with backoff, so the recording resumes when the camera returns.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable

from scanner.camera.footage import FootageIndex

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
RTSP_TIMEOUT_US = 5_000_000  # ffmpeg gives up on a silent camera after this


_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def redact(text: str) -> str:
    """A camera URL's user and password never reach the device status or the logs."""
    return _CREDENTIALS.sub(r"\1***@", text)


class FfmpegMissing(RuntimeError):
    """ffmpeg or ffprobe is not installed (Debian package `ffmpeg`)."""


def probe(path: Path, ffprobe: str = "ffprobe") -> tuple[float, float] | None:
    """(start_time, duration) of a media file, or None when it is unreadable."""
    try:
        out = subprocess.run([ffprobe, "-v", "error", "-show_entries", "format=start_time,duration",
                              "-of", "json", str(path)], capture_output=True, text=True, timeout=30)
    except FileNotFoundError as exc:
        raise FfmpegMissing(f"{ffprobe} not found: install the Debian package ffmpeg") from exc
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        return None
    try:
        fmt = json.loads(out.stdout).get("format", {})
        return float(fmt.get("start_time", 0) or 0), float(fmt["duration"])
    except (ValueError, KeyError):
        return None


def ffmpeg_command(url: str, pattern: Path, segment_s: int, transport: str = "tcp",
                   ffmpeg: str = "ffmpeg") -> list[str]:
    """The recording command line: video stream copied into `segment_s` MPEG-TS segments."""
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error"]
    if url.startswith("rtsp"):
        cmd += ["-rtsp_transport", transport, "-timeout", str(RTSP_TIMEOUT_US)]
    elif not url.startswith(("udp:", "tcp:", "http:", "https:")) and not url.startswith("/dev/"):
        cmd += ["-re"]  # a file plays at its own pace, like a camera
    # flush_packets: what was received is on disk, so a killed ffmpeg loses at most a packet
    # (without it a low-bitrate segment sits in a 32 KB buffer)
    cmd += ["-i", url, "-map", "0:v:0", "-c", "copy", "-f", "segment",
            "-segment_time", str(segment_s), "-segment_format", "mpegts",
            "-segment_format_options", "flush_packets=1", "-reset_timestamps", "1",
            "-segment_list", "pipe:1", "-segment_list_type", "csv", str(pattern)]
    return cmd


class Recorder:
    """Keeps one ffmpeg recording `url` under `root`; `status()` is what the device status shows."""

    def __init__(self, name: str, url: str, root: Path, segment_s: int, budget_bytes: int,
                 retention_s: float, transport: str = "tcp", min_free_bytes: int = 0, ffmpeg: str = "ffmpeg",
                 ffprobe: str = "ffprobe", wall: Callable[[], float] = time.time) -> None:
        self.name = name
        self.url = url
        self.root = root
        self.segment_s = segment_s
        self.budget = budget_bytes
        self.retention_s = retention_s
        self.min_free = min_free_bytes
        self.transport = transport
        self.ffmpeg = ffmpeg
        self.ffprobe = ffprobe
        self.wall = wall
        root.mkdir(parents=True, exist_ok=True)
        self.index = FootageIndex(root / "index.db")
        self.proc: subprocess.Popen[str] | None = None
        self.state = "starting"
        self.error: str | None = None
        self.restarts = 0
        self._lock = threading.Lock()
        self._last_line = 0.0
        self._run_clock = (wall(), time.monotonic())  # the run's wall time, read once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"recorder-{name}", daemon=True)
        self._watch = threading.Thread(target=self._watchdog, name=f"recorder-watch-{name}", daemon=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._adopt_orphans()
        self.enforce()
        self._thread.start()
        self._watch.start()

    def stop(self) -> None:
        self._stop.set()
        self._interrupt()
        self._thread.join(timeout=15)
        with self._lock:
            proc = self.proc
        if proc is not None and proc.poll() is None:  # deaf to SIGINT (stuck in a syscall)
            log.warning("recorder %s: ffmpeg did not stop, killing it", self.name)
            proc.kill()
            self._thread.join(timeout=5)
        self._watch.join(timeout=5)
        self.index.close()

    def alive(self) -> bool:
        return self._thread.is_alive() and self._watch.is_alive()

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "restarts": self.restarts,
                               "used_mb": round(self.index.used_bytes() / 1e6, 1)}
        if self.error:
            out["error"] = self.error
        return out

    def _interrupt(self) -> None:
        """One SIGINT: ffmpeg closes the segment it is writing and exits (two would spoil it)."""
        with self._lock:
            proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                proc.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass

    # ------------------------------------------------------------------ the ffmpeg child

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            started = self.wall()
            ok = self._record_once(started)
            if self._stop.is_set():
                break
            if ok and self.wall() - started > 2 * self.segment_s:
                backoff = 1.0  # it recorded for a while: the next failure starts the backoff again
            self.restarts += 1
            self.state = "reconnecting"
            log.warning("recorder %s: ffmpeg ended (%s); again in %.0f s", self.name, self.error, backoff)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        self.state = "stopped"

    def _record_once(self, started: float) -> bool:
        run = f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(started))}-{os.getpid()}-{self.restarts}"
        day = self.root / time.strftime("%Y-%m-%d", time.localtime(started))
        day.mkdir(parents=True, exist_ok=True)
        cmd = ffmpeg_command(self.url, day / f"{run}-%05d.ts", self.segment_s, self.transport, self.ffmpeg)
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)  # a Ctrl-C on the terminal is ours to pass on
        except FileNotFoundError:
            self.error = f"{self.ffmpeg} not found: install the Debian package ffmpeg"
            return False
        with self._lock:
            self.proc = proc
        self._last_line = time.monotonic()
        self._run_clock = (self.wall(), time.monotonic())
        self.state = "connecting"
        err_lines: list[str] = []
        err_reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr or []),
                                      name=f"recorder-err-{self.name}", daemon=True)
        err_reader.start()
        got = False
        assert proc.stdout is not None
        for line in proc.stdout:
            self._last_line = time.monotonic()
            if self._segment_done(run, day, line.strip()):
                got = True
                self.state = "recording"
                self.error = None
        code = proc.wait()
        err_reader.join(timeout=5)
        with self._lock:
            self.proc = None
        self._adopt_orphans()
        if not self._stop.is_set():
            tail = " ".join(x.strip() for x in err_lines[-2:]) or \
                ("the camera ended the stream" if code == 0 else f"exit {code}")
            self.error = redact(f"ffmpeg: {tail}")[:300]
        return got

    def _segment_done(self, run: str, day: Path, line: str) -> bool:
        """Index one finished segment from its CSV line `name,start,end` (stream seconds)."""
        parts = line.rsplit(",", 2)
        if len(parts) != 3:
            return False
        path = day / parts[0]
        try:
            end = float(parts[2])
        except ValueError:
            return False
        try:
            info = probe(path, self.ffprobe)
        except FfmpegMissing as exc:
            self.error = str(exc)
            return False
        if info is None:
            log.warning("recorder %s: unreadable segment %s", self.name, path.name)
            path.unlink(missing_ok=True)
            return False
        start_time, duration = info
        # a live stream's segment ends when ffmpeg reports it; the earliest such anchor of a
        # run (least delayed report) places the run's stream clock on the wall clock. "Now" is
        # the run's start plus monotonic time, so a clock step (NTP) during a run moves nothing.
        wall0, mono0 = self._run_clock
        self.index.anchor_run(run, wall0 + (time.monotonic() - mono0) - end)
        self.index.add_segment(str(path.relative_to(self.root)), run, end, duration,
                               start_time, path.stat().st_size)
        self.enforce()
        return True

    def _adopt_orphans(self) -> None:
        """Index segments that ffmpeg never reported (it was killed): placed by their file time.

        Called only while no ffmpeg runs (at start and after each exit), so no file is being written."""
        known = self.index.segment_paths()
        for path in sorted(self.root.glob("*/*.ts")):
            rel = str(path.relative_to(self.root))
            if rel in known:
                continue
            try:
                info = probe(path, self.ffprobe)
            except FfmpegMissing as exc:
                self.error = str(exc)
                return
            if info is None or info[1] <= 0:
                path.unlink(missing_ok=True)
                continue
            start_time, duration = info
            orphan = f"orphan:{rel}"  # placed by the file's last write
            self.index.anchor_run(orphan, path.stat().st_mtime)
            self.index.add_segment(rel, orphan, 0.0, duration, start_time, path.stat().st_size)
            log.info("recorder %s: adopted segment %s (%.1f s)", self.name, rel, duration)

    def _watchdog(self) -> None:
        """An ffmpeg that reports no segment for three segment lengths is stuck: stop it."""
        while not self._stop.wait(1.0):
            if self.proc is not None and time.monotonic() - self._last_line > 3 * self.segment_s + 10:
                log.warning("recorder %s: no segment for %.0f s, restarting ffmpeg", self.name,
                            time.monotonic() - self._last_line)
                self.error = "no video from the camera"
                self._last_line = time.monotonic()
                self._interrupt()

    # ------------------------------------------------------------------ disk

    def enforce(self) -> int:
        """Delete segments past retention, then the oldest until within the budget, then the
        oldest while the disk has less than `min_free` bytes free (other cameras, other files
        share it), always keeping the newest segment."""
        removed = 0
        for rel in self.index.expired(self.wall() - self.retention_s, self.budget):
            (self.root / rel).unlink(missing_ok=True)
            self.index.remove_segment(rel)
            removed += 1
        if self.min_free:
            for seg in self.index.segments()[:-1]:
                if shutil.disk_usage(self.root).free >= self.min_free:
                    break
                (self.root / seg.path).unlink(missing_ok=True)
                self.index.remove_segment(seg.path)
                removed += 1
        if removed:
            log.info("recorder %s: %d old segments removed (budget, retention or disk space)", self.name, removed)
            self.index.forget_bookmarks(self.wall() - self.retention_s)
        return removed
