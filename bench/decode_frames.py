"""Synthetic camera frames of receipts with known truth, for the decode bench and the tests.

A frame is 1280x720 grayscale: a desk background, a white receipt with a few printed
lines and one code (Code 128 of a dossier code, or a QR code of the lookup URL or of the
bare code), then one distortion: rotated, blurred, noisy, low contrast, in perspective
(or none). Everything is seeded, so two runs measure the same frames.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator

import barcode
import cv2
import numpy as np
import qrcode

W, H = 1280, 720
CONDITIONS = ("clean", "rotated", "blurred", "noisy", "low_contrast", "perspective")
AGENCIES = ("000.17.22.H56", "000.A0.01.H26", "000.00.17.H29", "000.31.05.H40", "000.B2.13.H01")
PORTAL = "https://dichvucong.example.gov.vn/tra-cuu?MHS="


@dataclass
class Frame:
    image: np.ndarray  # HxW uint8
    truth: str
    symbology: str     # code128 | qrcode
    condition: str


def dossier_code(rng: random.Random) -> str:
    """A realistic dossier code: agency-YYMMDD-sequence (4 digits, sometimes 6)."""
    day = f"{rng.randint(21, 26):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    seq = f"{rng.randint(1, 9999):04d}" if rng.random() < 0.8 else f"{rng.randint(1, 999999):06d}"
    return f"{rng.choice(AGENCIES)}-{day}-{seq}"


def code128_image(text: str, module_px: int = 2, height_px: int = 110) -> np.ndarray:
    """Code 128 bars (modules from python-barcode) drawn at exactly `module_px` pixels a module."""
    modules = barcode.get("code128", text).build()[0]
    quiet = "0" * 12
    row = np.array([0 if m == "1" else 255 for m in quiet + modules + quiet], np.uint8)
    return np.repeat(np.tile(np.repeat(row, module_px), (height_px, 1)), 1, axis=0)


def qr_image(text: str, box_px: int = 4) -> np.ndarray:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_px, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    return np.array(qr.make_image().get_image().convert("L"))


def receipt(code_img: np.ndarray, rng: random.Random) -> np.ndarray:
    """A white slip with printed-looking lines around the code."""
    ch, cw = code_img.shape
    w, h = max(cw + 80, 560), ch + 170
    slip = np.full((h, w), rng.randint(235, 250), np.uint8)
    for i, y in enumerate((22, 50, h - 60, h - 32)):
        x0 = 30 + rng.randint(0, 20)
        length = rng.randint(w // 3, w - 60)
        cv2.putText(slip, "GIAY TIEP NHAN HO SO"[: max(4, length // 16)] if i == 0 else "x" * (length // 14),
                    (x0, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 40, 1, cv2.LINE_AA)
    x, y = (w - cw) // 2, 75
    slip[y:y + ch, x:x + cw] = np.minimum(slip[y:y + ch, x:x + cw], code_img)
    return slip


def place(slip: np.ndarray, rng: random.Random, angle: float = 0.0) -> np.ndarray:
    """Put the slip (rotated by `angle` degrees) on a textured desk in a 1280x720 frame."""
    desk = np.full((H, W), rng.randint(70, 130), np.uint8)
    desk = cv2.add(desk, (np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, (H, W))).astype(np.int8),
                   dtype=cv2.CV_8U)
    h, w = slip.shape
    diag = int(np.hypot(h, w)) + 4
    canvas = np.zeros((diag, diag), np.uint8)
    mask = np.zeros((diag, diag), np.uint8)
    oy, ox = (diag - h) // 2, (diag - w) // 2
    canvas[oy:oy + h, ox:ox + w] = slip
    mask[oy:oy + h, ox:ox + w] = 255
    if angle:
        m = cv2.getRotationMatrix2D((diag / 2, diag / 2), angle, 1.0)
        canvas = cv2.warpAffine(canvas, m, (diag, diag), flags=cv2.INTER_LINEAR)
        mask = cv2.warpAffine(mask, m, (diag, diag), flags=cv2.INTER_NEAREST)
    if diag > min(W, H):  # a big slip is held closer: scale to fit the frame
        s = min(W, H) / diag * 0.98
        canvas = cv2.resize(canvas, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, None, fx=s, fy=s, interpolation=cv2.INTER_NEAREST)
        diag = canvas.shape[0]
    y0 = rng.randint(0, H - diag)
    x0 = rng.randint(0, W - diag)
    region = desk[y0:y0 + diag, x0:x0 + diag]
    region[mask > 0] = canvas[mask > 0]
    return desk


def distort(frame: np.ndarray, condition: str, rng: random.Random) -> np.ndarray:
    if condition == "blurred":
        sigma = rng.uniform(0.8, 1.5)
        return cv2.GaussianBlur(frame, (0, 0), sigma)
    if condition == "noisy":
        noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(10, 18), frame.shape)
        return np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if condition == "low_contrast":
        lo, hi = rng.randint(90, 120), rng.randint(150, 175)
        return (lo + frame.astype(np.float32) * (hi - lo) / 255).astype(np.uint8)
    if condition == "perspective":
        d = 0.10
        src = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
        dst = src + np.float32([[rng.uniform(-d, d) * W, rng.uniform(-d, d) * H] for _ in range(4)])
        dst = np.clip(dst, [0, 0], [W, H]).astype(np.float32)
        m = cv2.getPerspectiveTransform(src, dst)
        return cv2.warpPerspective(frame, m, (W, H), borderValue=100)
    return frame


def make_frame(rng: random.Random, symbology: str, condition: str) -> Frame:
    code = dossier_code(rng)
    if symbology == "code128":
        truth = code
        img = code128_image(code, module_px=rng.choice((2, 2, 3)))
    else:
        truth = PORTAL + code if rng.random() < 0.7 else code
        img = qr_image(truth, box_px=rng.choice((4, 5, 6)))
    slip = receipt(img, rng)
    angle = rng.uniform(-12, 12)
    if condition == "rotated":
        angle = rng.choice((rng.uniform(20, 60), rng.uniform(-60, -20), 90.0, 180.0, rng.uniform(100, 170)))
    frame = place(slip, rng, angle)
    return Frame(distort(frame, condition, rng), truth, symbology, condition)


def frames(n_per_case: int = 20, seed: int = 20261121) -> Iterator[Frame]:
    """n frames for each (symbology, condition) pair."""
    rng = random.Random(seed)
    for sym in ("code128", "qrcode"):
        for cond in CONDITIONS:
            for _ in range(n_per_case):
                yield make_frame(rng, sym, cond)


def empty_frames(n: int = 20, seed: int = 7) -> Iterator[np.ndarray]:
    """Frames with a receipt but no code in view: what a camera reader sees most of the day."""
    rng = random.Random(seed)
    for i in range(n):
        blank = np.full((120, 600), 255, np.uint8)
        yield distort(place(receipt(blank, rng), rng, rng.uniform(-30, 30)), CONDITIONS[i % len(CONDITIONS)], rng)
