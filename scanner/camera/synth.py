"""Generated camera frames: a counter desk with or without a clerk, a waiting area with N people.

The virtual camera backend draws these, and the presence tests and the camera bench use
the same generator, so what is tested is what a simulated office shows. Frames carry
sensor noise, a slow sway of the person and an optional lighting drift, so a detector
that only works on perfectly still, noiseless pictures fails here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

_NOISE_FRAMES = 4


@dataclass
class Scene:
    """One camera view; `people` is what the next frame shows (desk: 0 or 1)."""

    kind: str = "desk"  # desk | waiting
    width: int = 1280
    height: int = 720
    seed: int = 1
    people: int = 0
    noise: float = 3.0
    light_drift: float = 0.0  # amplitude of a slow global brightness change, in grey levels
    _t: int = 0
    _bg: np.ndarray | None = field(default=None, repr=False)
    _noise: list[np.ndarray] = field(default_factory=list, repr=False)

    def background(self) -> np.ndarray:
        if self._bg is None:
            self._bg = _desk_background(self.width, self.height, self.seed) if self.kind == "desk" \
                else _waiting_background(self.width, self.height, self.seed)
        return self._bg

    def frame(self) -> np.ndarray:
        """The next BGR frame."""
        img = self.background().copy()
        t = self._t
        self._t += 1
        if self.kind == "desk":
            if self.people > 0:
                _draw_clerk(img, sway=math.sin(t / 7.0) * 0.012, seed=self.seed)
        else:
            for i, (x, y, s) in enumerate(_seat_positions(self.width, self.height, self.people, self.seed)):
                _draw_person(img, x + int(3 * math.sin((t + 11 * i) / 5.0)), y, s, i + self.seed)
        if self.light_drift:
            shift = self.light_drift * math.sin(t / 40.0)
            img = cv2.add(img, np.full_like(img, int(abs(shift)))) if shift >= 0 \
                else cv2.subtract(img, np.full_like(img, int(-shift)))
        if self.noise > 0:
            if not self._noise:
                rng = np.random.default_rng(self.seed)
                self._noise = [rng.normal(0, self.noise, img.shape).astype(np.int16)
                               for _ in range(_NOISE_FRAMES)]
            img = np.clip(img.astype(np.int16) + self._noise[t % _NOISE_FRAMES], 0, 255).astype(np.uint8)
        return img


def _desk_background(w: int, h: int, seed: int) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    for y in range(h):  # wall: a vertical gradient
        v = 200 - int(40 * y / h)
        img[y, :] = (v - 10, v, v + 5)
    rng = np.random.default_rng(seed)
    # a notice board and a cabinet on the wall behind the clerk
    cv2.rectangle(img, (int(w * 0.05), int(h * 0.1)), (int(w * 0.2), int(h * 0.35)), (60, 120, 170), -1)
    cv2.rectangle(img, (int(w * 0.8), int(h * 0.05)), (int(w * 0.95), int(h * 0.6)), (90, 90, 100), -1)
    for _ in range(6):  # papers pinned on the board
        x, y = int(rng.uniform(0.06, 0.17) * w), int(rng.uniform(0.12, 0.3) * h)
        cv2.rectangle(img, (x, y), (x + w // 60, y + h // 30), (235, 235, 235), -1)
    # the desk and a monitor at its side
    cv2.rectangle(img, (0, int(h * 0.68)), (w, h), (40, 75, 120), -1)
    cv2.rectangle(img, (int(w * 0.72), int(h * 0.45)), (int(w * 0.86), int(h * 0.66)), (30, 30, 30), -1)
    return img


def _waiting_background(w: int, h: int, seed: int) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[: int(h * 0.35)] = (185, 190, 195)  # wall
    img[int(h * 0.35):] = (150, 160, 165)  # floor
    for row in range(3):  # rows of metal chairs
        y = int(h * (0.5 + 0.16 * row))
        cv2.rectangle(img, (int(w * 0.05), y), (int(w * 0.95), y + h // 40), (70, 70, 80), -1)
    return img


def _draw_clerk(img: np.ndarray, sway: float, seed: int) -> None:
    h, w = img.shape[:2]
    cx = int(w * (0.5 + sway))
    shirt = (200, 140, 60) if seed % 2 else (60, 60, 170)
    cv2.ellipse(img, (cx, int(h * 0.72)), (int(w * 0.14), int(h * 0.3)), 0, 180, 360, shirt, -1)
    cv2.ellipse(img, (cx, int(h * 0.3)), (int(w * 0.045), int(h * 0.1)), 0, 0, 360, (120, 160, 215), -1)
    cv2.ellipse(img, (cx, int(h * 0.24)), (int(w * 0.048), int(h * 0.06)), 0, 180, 360, (25, 25, 30), -1)
    cv2.rectangle(img, (0, int(h * 0.68)), (w, h), (40, 75, 120), -1)  # the desk hides the lap


def _seat_positions(w: int, h: int, n: int, seed: int) -> list[tuple[int, int, float]]:
    """Seats spread over three rows, the back rows smaller (perspective)."""
    seats = []
    for row in range(3):
        scale = 0.8 + 0.2 * row
        cols = 8
        for c in range(cols):
            x = int(w * (0.1 + 0.8 * (c + 0.5 * (row % 2)) / cols))
            y = int(h * (0.5 + 0.16 * row))
            seats.append((x, y, scale))
    order = np.random.default_rng(seed).permutation(len(seats))
    return [seats[i] for i in order[: min(n, len(seats))]]


def _draw_person(img: np.ndarray, x: int, y: int, scale: float, seed: int) -> None:
    h = img.shape[0]
    colours = [(40, 40, 160), (160, 60, 40), (40, 130, 40), (30, 30, 30), (200, 200, 60), (120, 40, 120)]
    body = colours[seed % len(colours)]
    r = int(h * 0.035 * scale)
    cv2.ellipse(img, (x, y - int(1.2 * r)), (int(1.5 * r), int(2.4 * r)), 0, 0, 360, body, -1)
    cv2.circle(img, (x, y - int(4.2 * r)), r, (110, 150, 205), -1)
    cv2.ellipse(img, (x, y - int(4.6 * r)), (r, int(0.6 * r)), 0, 180, 360, (20, 20, 25), -1)
