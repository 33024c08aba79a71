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


# ---------------------------------------------------------------------- stacked distortions
#
# Receipts photographed the way citizens hold them: several distortions at once. Each
# level gives ranges; a frame draws one value of each. Order follows the light: the
# camera's viewing angle (perspective), uneven and dim light on the paper, defocus and
# hand motion in the optics, sensor noise, then JPEG compression of the stream.

@dataclass(frozen=True)
class Level:
    perspective: float                 # corner displacement, share of the slip's size
    defocus: tuple[float, float]       # Gaussian sigma, px
    motion: tuple[float, float]        # motion blur length, px
    noise: tuple[float, float]         # sensor noise sigma, grey levels
    gain: tuple[float, float]          # overall light (1 = well lit)
    uneven: float                      # how much darker the dark side of the slip is (0..1)
    jpeg: tuple[int, int]              # JPEG quality


LEVELS: dict[str, Level] = {
    "clean": Level(0.0, (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (1.0, 1.0), 0.0, (95, 95)),
    "light": Level(0.03, (0.3, 0.6), (0.0, 1.5), (2.0, 5.0), (0.8, 0.95), 0.15, (75, 90)),
    "medium": Level(0.06, (0.5, 0.8), (1.0, 2.5), (4.0, 8.0), (0.6, 0.85), 0.3, (60, 80)),
    "heavy": Level(0.10, (0.7, 1.0), (1.5, 3.5), (6.0, 12.0), (0.45, 0.7), 0.45, (40, 65)),
}
#: Beyond "heavy" a 2 px module is gone: defocus and shake together blur it by more than its
#: width (modulation of the finest bars under 5 %), which no reader recovers from one frame.


@dataclass
class Pose:
    """Where and how a receipt is held; consecutive frames jitter around it."""

    angle: float
    x: float          # slip centre, share of the frame
    y: float
    scale: float
    corners: np.ndarray   # 4x2 perspective displacement, share of the slip
    light_dir: float      # radians: where the light falls off


def _stack_place(slip: np.ndarray, pose: Pose, rng: random.Random) -> np.ndarray:
    """The slip on a desk, held at ``pose``: rotated, scaled, seen in perspective."""
    desk = np.full((H, W), rng.randint(70, 120), np.uint8)
    desk = cv2.add(desk, (np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, (H, W))).astype(np.int8),
                   dtype=cv2.CV_8U)
    h, w = slip.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + pose.corners * np.float32([w, h])
    centre = src.mean(axis=0)
    rot = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), pose.angle, pose.scale)
    dst = cv2.transform(dst[None], rot)[0]
    dst += np.float32([pose.x * W, pose.y * H]) - dst.mean(axis=0)
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(slip, m, (W, H), flags=cv2.INTER_AREA, borderValue=0)
    mask = cv2.warpPerspective(np.full_like(slip, 255), m, (W, H), flags=cv2.INTER_NEAREST, borderValue=0)
    desk[mask > 0] = warped[mask > 0]
    return desk


def _stack_optics(frame: np.ndarray, level: Level, pose: Pose, rng: random.Random,
                  shake: float = 1.0) -> np.ndarray:
    img = frame.astype(np.float32)
    # dim, uneven light: a linear fall-off across the frame plus a soft vignette
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    ramp = (np.cos(pose.light_dir) * (xx / W - 0.5) + np.sin(pose.light_dir) * (yy / H - 0.5)) + 0.5
    vignette = 1.0 - 0.15 * (((xx / W - 0.5) ** 2 + (yy / H - 0.5) ** 2) / 0.5)
    img *= rng.uniform(*level.gain) * (1.0 - level.uneven * np.clip(ramp, 0, 1)) * vignette
    sigma = rng.uniform(*level.defocus)
    if sigma > 0:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    length = rng.uniform(*level.motion) * shake
    if length >= 1.0:
        k = int(np.ceil(length)) | 1
        kernel = np.zeros((k, k), np.float32)
        cv2.line(kernel, (0, k // 2), (k - 1, k // 2), 1.0, 1, cv2.LINE_AA)
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, rot, (k, k))
        img = cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6))
    sd = rng.uniform(*level.noise)
    if sd > 0:
        img += np.random.default_rng(rng.randint(0, 2**31)).normal(0, sd, img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    quality = rng.randint(*level.jpeg)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else out


def _pose(rng: random.Random, level: Level, slip: np.ndarray) -> Pose:
    h, w = slip.shape
    d = level.perspective
    fit = min(0.9 * W / w, 0.9 * H / h, 1.0)
    return Pose(angle=rng.uniform(-15, 15), x=rng.uniform(0.35, 0.65), y=rng.uniform(0.4, 0.6),
                scale=fit * rng.uniform(0.9, 1.0),
                corners=np.float32([[rng.uniform(-d, d), rng.uniform(-d, d)] for _ in range(4)]),
                light_dir=rng.uniform(0, 2 * np.pi))


def _jitter(pose: Pose, rng: random.Random) -> Pose:
    """The next frame of a hand-held receipt: a few pixels, a degree, a little tilt."""
    return Pose(angle=pose.angle + rng.uniform(-1.5, 1.5), x=pose.x + rng.uniform(-0.01, 0.01),
                y=pose.y + rng.uniform(-0.01, 0.01), scale=pose.scale * rng.uniform(0.98, 1.02),
                corners=pose.corners + np.float32([[rng.uniform(-0.005, 0.005)] * 2 for _ in range(4)]),
                light_dir=pose.light_dir)


def _stack_code(rng: random.Random, symbology: str) -> tuple[str, np.ndarray]:
    code = dossier_code(rng)
    if symbology == "code128":
        return code, code128_image(code, module_px=rng.choice((2, 2, 3)), height_px=rng.randint(60, 110))
    truth = PORTAL + code if rng.random() < 0.7 else code
    return truth, qr_image(truth, box_px=rng.choice((3, 4, 5)))


def _stacked_cases(rng: random.Random, n_per_case: int) -> Iterator[tuple[str, str, str, Level, np.ndarray, Pose]]:
    """(truth, symbology, level name, level, slip, pose) for n receipts per (symbology, level)."""
    for sym in ("code128", "qrcode"):
        for name, level in LEVELS.items():
            for _ in range(n_per_case):
                truth, img = _stack_code(rng, sym)
                slip = receipt(img, rng)
                yield truth, sym, name, level, slip, _pose(rng, level, slip)


def stacked_frames(n_per_case: int = 20, seed: int = 20261202) -> Iterator[Frame]:
    """``n`` frames per (symbology, level), every distortion of the level stacked; condition = level."""
    rng = random.Random(seed)
    for truth, sym, name, level, slip, pose in _stacked_cases(rng, n_per_case):
        yield Frame(_stack_optics(_stack_place(slip, pose, rng), level, pose, rng), truth, sym, name)


def stacked_receipts(n_per_case: int = 10, frames_each: int = 5,
                     seed: int = 20261203) -> Iterator[tuple[str, str, str, list[np.ndarray]]]:
    """(truth, symbology, level, consecutive frames) of receipts held under the camera.

    The hand moves a little between frames and shakes more or less: motion blur varies
    from a third to the full length of the level, the rest is drawn again per frame.
    """
    rng = random.Random(seed)
    for truth, sym, name, level, slip, pose in _stacked_cases(rng, n_per_case):
        shots = []
        for _ in range(frames_each):
            pose = _jitter(pose, rng)
            shots.append(_stack_optics(_stack_place(slip, pose, rng), level, pose, rng, shake=rng.uniform(0.33, 1.0)))
        yield truth, sym, name, shots
