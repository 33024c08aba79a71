"""Where announcements go: the sound card (pygame.mixer) or WAV files. One interface, a registry.

`play()` returns only when the announcement is over, so one worker thread calling it in
turn can never make two voices overlap.
"""
from __future__ import annotations

import enum
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from display.voice.announce import Announcement
from display.voice.pack import write_json, write_wav

log = logging.getLogger(__name__)


class PlayerState(enum.Enum):
    CLOSED = "closed"
    READY = "ready"
    PLAYING = "playing"
    ERROR = "error"


class PlayerError(Exception):
    """The output cannot play now (no sound card, disk full); the daemon retries later."""


class Player:
    """Base class: open() the output, play() one announcement to its end, close()."""

    name = "base"

    def __init__(self) -> None:
        self.state = PlayerState.CLOSED
        self.error: str | None = None
        self._stop = threading.Event()

    def open(self, rate: int) -> None:
        raise NotImplementedError

    def play(self, ann: Announcement, record: dict[str, Any]) -> dict[str, Any]:
        """Play to the end; returns extra fields for the records (e.g. the file written)."""
        raise NotImplementedError

    def interrupt(self) -> None:
        """Cut a playing announcement short (daemon stopping)."""
        self._stop.set()

    def close(self) -> None:
        self.state = PlayerState.CLOSED


class WavPlayer(Player):
    """Writes each announcement as NNNNNN-<number>-q<counter>.wav plus a .json record of its clips.

    Keeps the newest `max_files` announcements so a day of calls cannot fill the disk. With
    `speed` (the office clock's), play() then takes as long as the speech would at that speed,
    so a simulated office's speaker falls behind exactly when a real one would.
    """

    name = "wav"

    def __init__(self, output_dir: Path, max_files: int = 500, speed: float | None = None) -> None:
        super().__init__()
        self.output_dir = Path(output_dir)
        self.max_files = max_files
        self.speed = speed
        self._serial = 0

    def open(self, rate: int) -> None:
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.state, self.error = PlayerState.ERROR, f"cannot create {self.output_dir}: {exc}"
            raise PlayerError(self.error) from None
        self._serial = max((_serial_of(p) for p in self.output_dir.glob("*.wav")), default=0)
        self.state, self.error = PlayerState.READY, None

    def play(self, ann: Announcement, record: dict[str, Any]) -> dict[str, Any]:
        self.state = PlayerState.PLAYING
        started = time.monotonic()
        self._serial += 1
        stem = f"{self._serial:06d}-{_safe(ann.call.number)}-q{ann.call.counter}"
        wav = self.output_dir / f"{stem}.wav"
        try:
            write_wav(wav, ann.samples, ann.rate)
            write_json(self.output_dir / f"{stem}.json", {**record, "file": wav.name})
        except OSError as exc:
            self.state, self.error = PlayerState.ERROR, f"cannot write {wav}: {exc}"
            raise PlayerError(self.error) from None
        self._prune()
        if self.speed:  # the rest of the speech's length, as a loudspeaker would take it
            self._stop.wait(max(0.0, ann.duration_s / self.speed - (time.monotonic() - started)))
        self.state = PlayerState.READY
        return {"file": str(wav)}

    def _prune(self) -> None:
        files = sorted(self.output_dir.glob("*.wav"), key=_serial_of)
        for old in files[: max(0, len(files) - self.max_files)]:
            for p in (old, old.with_suffix(".json")):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass


def _serial_of(path: Path) -> int:
    m = re.match(r"^(\d{6})-", path.name)
    return int(m.group(1)) if m else 0


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text)[:24] or "x"


class PygamePlayer(Player):
    """Plays through pygame.mixer; waits for the channel to finish before returning."""

    name = "pygame"

    def __init__(self, poll_s: float = 0.02) -> None:
        super().__init__()
        self.poll_s = poll_s
        self._mixer: Any = None
        self._format: tuple[int, int, int] | None = None

    def open(self, rate: int) -> None:
        try:
            import pygame
            if not pygame.mixer.get_init():
                pygame.mixer.init(frequency=rate, size=-16, channels=2, buffer=1024)
            self._format = pygame.mixer.get_init()
        except Exception as exc:  # pygame.error, ImportError: no sound card or no SDL audio
            self.state, self.error = PlayerState.ERROR, f"no sound output: {exc}"
            raise PlayerError(self.error) from None
        if self._format is None or self._format[1] != -16:
            self.state, self.error = PlayerState.ERROR, f"mixer format {self._format} is not 16-bit signed"
            raise PlayerError(self.error)
        self._mixer = pygame.mixer
        self.state, self.error = PlayerState.READY, None

    def play(self, ann: Announcement, record: dict[str, Any]) -> dict[str, Any]:
        if self._mixer is None or self._format is None:
            raise PlayerError("mixer not open")
        freq, _, channels = self._format
        data = ann.samples
        if freq != ann.rate and len(data):
            n = max(1, round(len(data) * freq / ann.rate))
            data = np.interp(np.arange(n) * (ann.rate / freq), np.arange(len(data)),
                             data.astype(np.float64)).astype(np.int16)
        frames = np.repeat(data[:, None], channels, axis=1) if channels > 1 else data
        self._stop.clear()
        self.state = PlayerState.PLAYING
        try:
            sound = self._mixer.Sound(buffer=np.ascontiguousarray(frames, dtype="<i2").tobytes())
            channel = sound.play()
            if channel is None:
                raise PlayerError("no free mixer channel")
            # Sleep for most of the length, then poll: a few wake-ups per announcement.
            self._stop.wait(max(0.0, sound.get_length() - 0.1))
            deadline = time.monotonic() + 5.0
            while channel.get_busy() and not self._stop.is_set() and time.monotonic() < deadline:
                self._stop.wait(self.poll_s)
            if self._stop.is_set():
                channel.stop()
        except PlayerError:
            self.state = PlayerState.ERROR
            raise
        except Exception as exc:  # pygame.error: the device went away
            self.state, self.error = PlayerState.ERROR, f"playback failed: {exc}"
            self.close()
            raise PlayerError(self.error) from None
        self.state = PlayerState.READY
        return {}

    def close(self) -> None:
        if self._mixer is not None:
            try:
                self._mixer.quit()
            except Exception:  # noqa: BLE001 - closing a broken device
                pass
        self._mixer = None
        self._format = None
        self.state = PlayerState.CLOSED


PLAYERS: dict[str, Callable[..., Player]] = {"wav": WavPlayer, "pygame": PygamePlayer}


def create_player(backend: str, **kwargs: Any) -> Player:
    try:
        factory = PLAYERS[backend]
    except KeyError:
        raise ValueError(f"unknown voice backend {backend!r} (known: {', '.join(PLAYERS)})") from None
    return factory(**kwargs)


__all__ = ["PLAYERS", "Player", "PlayerError", "PlayerState", "PygamePlayer", "WavPlayer",
           "create_player"]
