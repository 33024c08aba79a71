"""Is someone at the counter desk, and how many people are in the waiting area?

Method (chosen after trying the alternatives on generated and recorded-like frames):

* A **reference picture of the empty scene**, learned while nobody is expected there
  (desk: the counter is closed; waiting area: the office is closed or nobody waits in
  the queue) and kept on disk. Presence is the share of the desk region that differs
  from it. A seated clerk who barely moves stays "present" for hours, which a
  background subtractor (MOG2/KNN) cannot promise: it absorbs a still person into its
  background within its history (minutes), and then reports an empty desk.
* **Frame differencing** as a second signal: any motion in the desk region counts as
  present. It is the only signal before a reference exists.
* OpenCV's HOG people detector was rejected: it looks for upright full bodies at
  64x128 pixels and misses a clerk seated behind a desk.

Limits (documented in docs/reports/camera.md): a chair or a bag left on the desk after
closing time reads as "present" until the next learning period; a clerk outside the
desk region reads as absent; occupancy is an estimate from blob areas, people standing
in a tight group are counted by area, not one by one.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

#: Analysis width: detection works on small grey frames (cheap, and blurs sensor noise).
WORK_WIDTH = 160


def small_gray(frame: np.ndarray, width: int = WORK_WIDTH) -> np.ndarray:
    """Downscaled, blurred grey picture the detectors work on."""
    h, w = frame.shape[:2]
    small = cv2.resize(frame, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    return cv2.GaussianBlur(gray, (5, 5), 0)


class ReferenceModel:
    """The empty scene as a float picture, updated by a running average while learning."""

    def __init__(self, path: Path | None = None, threshold: int = 22) -> None:
        self.path = path
        self.threshold = threshold
        self.ref: np.ndarray | None = None
        self.samples = 0
        if path is not None and path.exists():
            img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if img is not None:
                self.ref = img.astype(np.float32)
                self.samples = 100
                log.info("loaded empty-scene reference %s", path)

    @property
    def ready(self) -> bool:
        return self.ref is not None and self.samples >= 5

    def learn(self, gray: np.ndarray, alpha: float = 0.1) -> None:
        if self.ref is None or self.ref.shape != gray.shape:
            self.ref = gray.astype(np.float32)
            self.samples = 1
            return
        cv2.accumulateWeighted(gray, self.ref, max(alpha, 1.0 / (self.samples + 1)))
        self.samples += 1

    def save(self) -> None:
        if self.path is not None and self.ref is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.stem + ".tmp.png")
            cv2.imwrite(str(tmp), self.ref.astype(np.uint8))
            tmp.replace(self.path)

    def foreground(self, gray: np.ndarray) -> np.ndarray:
        """Mask of pixels unlike the empty scene; a global lighting shift is cancelled first."""
        assert self.ref is not None
        diff = gray.astype(np.float32) - self.ref
        diff -= float(np.median(diff))  # the whole room got brighter or darker
        mask = (np.abs(diff) > self.threshold).astype(np.uint8) * 255
        return cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))


@dataclass(frozen=True)
class Reading:
    present: bool
    fraction: float  # share of the desk region unlike the empty desk (None-like -1 without reference)
    motion: float  # share of the desk region that moved since the last frame
    calibrated: bool


class PresenceDetector:
    """Someone at the desk: the desk region differs from the empty desk, or something moves there."""

    def __init__(self, roi: tuple[float, float, float, float], reference: ReferenceModel,
                 min_fraction: float = 0.08, min_motion: float = 0.01, window: int = 5) -> None:
        self.roi = roi
        self.reference = reference
        self.min_fraction = min_fraction
        self.min_motion = min_motion
        self._prev: np.ndarray | None = None
        self._votes: deque[bool] = deque(maxlen=window)

    def _crop(self, gray: np.ndarray) -> np.ndarray:
        h, w = gray.shape[:2]
        x, y, rw, rh = self.roi
        return gray[int(y * h): int((y + rh) * h), int(x * w): int((x + rw) * w)]

    def observe(self, gray: np.ndarray, learn: bool = False) -> Reading:
        """One frame (from `small_gray`); `learn` when the desk is known to be empty."""
        if learn:
            self.reference.learn(gray)
        motion = 0.0
        if self._prev is not None and self._prev.shape == gray.shape:
            moved = cv2.absdiff(self._crop(gray), self._crop(self._prev)) > self.reference.threshold
            motion = float(moved.mean())
        self._prev = gray
        fraction = -1.0
        if self.reference.ready:
            fraction = float((self._crop(self.reference.foreground(gray)) > 0).mean())
        raw = fraction >= self.min_fraction or motion >= self.min_motion
        if learn:
            raw = False
        self._votes.append(raw)
        present = sum(self._votes) * 2 > len(self._votes)  # majority of the last few frames
        if not present and not learn and self.reference.ready and fraction < self.min_fraction / 2:
            self.reference.learn(gray, alpha=0.01)  # follow slow lighting changes of the empty desk
        return Reading(present, fraction, motion, self.reference.ready)


class AbsenceMonitor:
    """Turns readings into events: warn once when an open counter's desk stays empty too long."""

    def __init__(self, absent_s: float) -> None:
        self.absent_s = absent_s
        self.empty_since: datetime | None = None
        self.warned = False

    def update(self, now: datetime, counter_open: bool, present: bool) -> tuple[str, float] | None:
        """Returns ("absent", seconds) when the warning starts, ("present", seconds) when it ends."""
        if present or not counter_open:
            event = None
            if self.warned and self.empty_since is not None:
                event = ("present", (now - self.empty_since).total_seconds())
            self.empty_since = None
            self.warned = False
            return event
        if self.empty_since is None:
            self.empty_since = now
        empty = (now - self.empty_since).total_seconds()
        if not self.warned and empty >= self.absent_s:
            self.warned = True
            return ("absent", empty)
        return None


class OccupancyEstimator:
    """People in the waiting area: blobs unlike the empty room, each worth its area in people.

    `person_area` is the share of the frame one seated person covers in this view (set it
    per camera at installation); a blob of three people sitting side by side counts three.
    """

    def __init__(self, reference: ReferenceModel, person_area: float = 0.011,
                 min_area: float = 0.002) -> None:
        self.reference = reference
        self.person_area = person_area
        self.min_area = min_area
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 7))  # joins head and body

    def estimate(self, gray: np.ndarray, learn: bool = False) -> int | None:
        """People counted in one frame, or None before the empty room is known."""
        if learn:
            self.reference.learn(gray)
        if not self.reference.ready:
            return None
        mask = cv2.morphologyEx(self.reference.foreground(gray), cv2.MORPH_CLOSE, self._close)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        total = gray.shape[0] * gray.shape[1]
        people = 0
        for i in range(1, n):
            area = stats[i, cv2.CC_STAT_AREA] / total
            if area >= self.min_area:
                people += max(1, round(area / self.person_area))
        return people
