"""Barcode decoders behind one small interface, so the camera reader and the bench can swap them.

`decode(gray)` takes an 8-bit grayscale numpy frame and returns (text, symbology) pairs,
symbology in the scan topic's spelling (`code128`, `qrcode`). Both decoders are limited
to the symbologies receipts carry (Code 128 and QR), which makes them faster and stops
false reads of other linear codes in a noisy frame.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Callable

from hub.codes import is_code
from scanner.code128 import read_profile

log = logging.getLogger(__name__)

Decoded = tuple[str, str]


def symbology_name(name: str) -> str:
    """'QR Code' / 'QRCODE' / 'Code 128' / 'CODE128' -> 'qrcode' / 'code128'."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


class Decoder:
    name = "none"

    def decode(self, gray: Any) -> list[Decoded]:  # pragma: no cover - interface
        raise NotImplementedError


class ZxingDecoder(Decoder):
    """zxing-cpp: finds rotated codes itself (try_rotate) and inverted ones."""

    name = "zxingcpp"

    def __init__(self) -> None:
        import zxingcpp

        self._zx = zxingcpp
        self._formats = (zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.QRCode)

    def decode(self, gray: Any, **options: Any) -> list[Decoded]:
        out = []
        for r in self._zx.read_barcodes(gray, formats=self._formats, **options):
            if r.valid and r.text:
                out.append((r.text, symbology_name(str(r.format))))
        return out

    #: (amount, sigma) of the sharpening across the bars tried on an upright, soft frame
    SOFT_STEPS = ((4.0, 0.85), (3.0, 0.7), (5.0, 1.0))

    def soft_decode(self, upright: Any) -> list[Decoded]:
        """Out-of-focus linear codes: sharpen across the (vertical) bars, binarize at a fixed level.

        zxing's local-average binarizer averages a blurred bar pair into one grey; sharpening
        along x only and a fixed threshold keeps them apart.
        """
        import cv2

        fixed = self._zx.Binarizer.FixedThreshold
        for amount, sigma in self.SOFT_STEPS:
            soft = cv2.GaussianBlur(upright, (0, 0), sigmaX=sigma, sigmaY=0.1)
            sharp = cv2.addWeighted(upright, amount, soft, 1.0 - amount, 0)
            found = self.decode(sharp, binarizer=fixed, try_rotate=False, try_downscale=False)
            if found:
                return found
        return []


class ZbarDecoder(Decoder):
    """pyzbar (libzbar0): scans rows and columns only, so strongly rotated Code 128 is missed."""

    name = "pyzbar"

    def __init__(self) -> None:
        from pyzbar import pyzbar

        self._decode = pyzbar.decode
        self._symbols = [pyzbar.ZBarSymbol.CODE128, pyzbar.ZBarSymbol.QRCODE]

    def decode(self, gray: Any) -> list[Decoded]:
        out = []
        for r in self._decode(gray, symbols=self._symbols):
            try:
                text = r.data.decode("utf-8")
            except UnicodeDecodeError:
                text = r.data.decode("latin-1")
            out.append((text, symbology_name(r.type)))
        return out


class ChainDecoder(Decoder):
    """Try decoders in order and keep the first non-empty answer."""

    def __init__(self, decoders: list[Decoder]) -> None:
        self.decoders = decoders
        self.name = "+".join(d.name for d in decoders)

    def decode(self, gray: Any) -> list[Decoded]:
        for d in self.decoders:
            found = d.decode(gray)
            if found:
                return found
        return []

    def soft_decode(self, upright: Any) -> list[Decoded]:
        for d in self.decoders:
            if hasattr(d, "soft_decode"):
                found = d.soft_decode(upright)
                if found:
                    return found
        return []


def bar_angle(gray: Any) -> float | None:
    """Dominant gradient direction (degrees, 0-180) of the frame's strongest edges, or None.

    Bars of a linear code share one gradient direction; when no horizontal scan line
    crosses a tilted code, rotating the frame by this angle makes one cross it again.
    """
    import cv2
    import numpy as np

    small = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.magnitude(gx, gy)
    strong = mag > max(40.0, float(np.percentile(mag, 97)))
    if int(strong.sum()) < 200:
        return None
    ang = (np.degrees(np.arctan2(gy[strong], gx[strong])) + 180.0) % 180.0
    hist, _ = np.histogram(ang, bins=90, range=(0, 180), weights=mag[strong])
    hist = hist + np.roll(hist, 1) + np.roll(hist, -1)
    peak = int(np.argmax(hist))
    return peak * 2.0 + 1.0


class DeskewDecoder(Decoder):
    """Decode; when nothing is found, turn the frame so the dominant bars stand upright and retry."""

    def __init__(self, inner: Decoder, min_tilt: float = 4.0) -> None:
        self.inner = inner
        self.min_tilt = min_tilt
        self.name = f"{inner.name}+deskew"

    def decode(self, gray: Any) -> list[Decoded]:
        found = self.inner.decode(gray)
        if found:
            return found
        import cv2

        angle = bar_angle(gray)
        upright = gray
        if angle is not None and 45.0 <= angle < 135.0:
            # bars lie nearer horizontal: transpose (lossless) so they stand nearer vertical
            upright = cv2.transpose(gray)
            angle = (90.0 - angle) % 180.0
        tilt = 0.0 if angle is None else ((angle + 90.0) % 180.0) - 90.0
        turned = upright
        if abs(tilt) >= self.min_tilt:
            h, w = upright.shape[:2]
            m = cv2.getRotationMatrix2D((w / 2, h / 2), tilt, 1.0)
            turned = cv2.warpAffine(upright, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
            found = self.inner.decode(turned)
            if found:
                return found
        if hasattr(self.inner, "soft_decode"):
            return self.inner.soft_decode(turned)
        # soft focus: an unsharp mask brings narrow bars back apart
        sharp = cv2.addWeighted(turned, 2.2, cv2.GaussianBlur(turned, (0, 0), 2.0), -1.2, 0)
        return self.inner.decode(sharp)


def _upright(gray: Any, angle: float | None) -> tuple[Any, float, bool]:
    """(frame turned so bars at ``angle`` stand vertical, the tilt applied, whether transposed)."""
    import cv2

    transposed = False
    if angle is not None and 45.0 <= angle < 135.0:
        gray, transposed = cv2.transpose(gray), True
        angle = (90.0 - angle) % 180.0
    tilt = 0.0 if angle is None else ((angle + 90.0) % 180.0) - 90.0
    if abs(tilt) >= 1.0:
        h, w = gray.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), tilt, 1.0)
        gray = cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return gray, tilt, transposed


def bar_regions(upright: Any, max_regions: int = 2) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) of likely linear codes in an upright frame: strong x-gradients, weak y.

    Bars make the horizontal gradient far stronger than the vertical one over a wide band;
    closing that map with a wide kernel joins the bars into one blob per code.
    """
    import cv2
    import numpy as np

    small = cv2.resize(upright, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    grad = cv2.blur(np.clip(np.abs(gx) - np.abs(gy), 0, None), (7, 7))
    level = max(12.0, float(np.percentile(grad, 96)) * 0.5)
    mask = (grad > level).astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (17, 5)))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for c in sorted(contours, key=cv2.contourArea, reverse=True)[:max_regions]:
        x, y, w, h = cv2.boundingRect(c)
        if w < 40 or h < 12 or w < 2 * h:   # (half size) printed text lines are thinner than bars
            continue
        boxes.append((2 * x, 2 * y, 2 * w, 2 * h))
    return boxes


#: Shears tried to stand the bars of a region exactly upright (tan of the slant, about +-13 degrees).
SHEARS = tuple(i / 100 for i in range(-24, 25, 2))


def _unshear(crop: Any) -> Any:
    """The crop sheared so its bars are vertical: the shear whose column means are sharpest.

    Perspective slants the bars against the code's axis; a residual degree over a tall code
    smears a 2 px module when the rows are averaged, so it is searched, not estimated.
    """
    import cv2
    import numpy as np

    h, w = crop.shape[:2]
    # searched on a copy at most 320 px wide: the shear is a ratio, the same at any scale
    k = min(1.0, 320.0 / w)
    f = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_AREA).astype(np.float32) if k < 1 else \
        crop.astype(np.float32)
    sh, sw = f.shape[:2]
    best, best_s = -1.0, 0.0
    for s in SHEARS:
        m = np.float32([[1, s, -s * sh / 2], [0, 1, 0]])
        profile = cv2.warpAffine(f, m, (sw, sh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).mean(axis=0)
        score = float(np.square(np.diff(profile)).sum())
        if score > best:
            best, best_s = score, s
    if best_s == 0.0:
        return crop
    m = np.float32([[1, best_s, -best_s * h / 2], [0, 1, 0]])
    return cv2.warpAffine(crop, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _level_axis(crop: Any) -> Any:
    """The crop sheared vertically so the code's axis runs along the rows (bars stay vertical).

    Under perspective the bars stand upright while the code's axis still climbs across the
    crop, so a horizontal band would leave the code half-way; the axis is fitted through the
    middle of the bar pixels of each column.
    """
    import cv2
    import numpy as np

    h, w = crop.shape[:2]
    gx = np.abs(cv2.Sobel(crop, cv2.CV_32F, 1, 0, ksize=3))
    mask = gx > max(10.0, float(np.percentile(gx, 85)))
    counts = mask.sum(axis=0)
    cols = np.nonzero(counts >= max(3, h // 10))[0]
    if len(cols) < w // 4:
        return crop
    ys = np.arange(h, dtype=np.float32)[:, None]
    centres = (mask[:, cols] * ys).sum(axis=0) / counts[cols]
    slope = float(np.polyfit(cols.astype(np.float32), centres, 1)[0])
    if abs(slope) < 0.004:
        return crop
    m = np.float32([[1, 0, 0], [slope, 1, -slope * w / 2]])
    return cv2.warpAffine(crop, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


#: Rows averaged into one scanline: short enough that bars slanted by perspective stay sharp.
BAND_ROWS = (10,)
#: Bands of a region also given to the soft Code 128 reader (scanner/code128.py).
SOFT_BANDS = 4


def _band_starts(n: int, rows: int) -> list[int]:
    """Start rows of the bands, from the middle of the region outwards."""
    starts = list(range(0, max(1, n - rows + 1), max(1, rows * 3 // 4)))
    mid = (n - rows) / 2
    return sorted(starts, key=lambda a: abs(a - mid))


class RegionDecoder(Decoder):
    """Find the code's region, rectify it, and read it the ways a hard frame needs.

    After the whole frame and the deskew retry: each likely linear-code region is cut out
    upright with its quiet zones, re-levelled for uneven light, upsampled across the bars
    and decoded; then, per band of rows, the rows are averaged along the bars (noise and
    JPEG blocks average out, a slightly slanted band still keeps its bars), the profile is
    sharpened at a few strengths against defocus and motion blur, thresholded against its
    local mean, and decoded as a clean code. QR codes get a denoised, upsampled retry of
    the paper's region. Every read still passes the symbology's own checksum. The scanline
    reads stop at ``budget`` a frame: a receipt held under the camera gives more frames.
    """

    #: (unsharp amount, sigma in upsampled px) tried on each averaged profile
    PROFILE_STEPS = ((0.0, 1.0), (1.5, 2.0), (3.0, 2.5), (5.0, 3.0))

    def __init__(self, inner: "ZxingDecoder | None" = None, budget: int = 48) -> None:
        self.inner = inner or ZxingDecoder()
        self.name = "zxingcpp+regions"
        self.budget = budget      # scanline reads a frame (a count, so results never depend on load)
        self._reads = 0

    def _late(self) -> bool:
        return self._reads >= self.budget

    def decode(self, gray: Any) -> list[Decoded]:
        self._reads = 0
        found = self.inner.decode(gray)
        if found:
            return found
        angle = bar_angle(gray)
        upright, tilt, transposed = _upright(gray, angle)
        if transposed or abs(tilt) >= 1.0:
            found = self.inner.decode(upright)
            if found:
                return found
        boxes = bar_regions(upright)
        for x, y, w, h in boxes:
            found = self._read_region(upright, x, y, w, h)
            if found:
                return found
            if self._late():
                break
        if boxes:     # evenly soft bars: sharpened across them on the whole upright frame
            found = self.inner.soft_decode(upright)
            if found:
                return found
        for x, y, w, h in square_regions(gray):
            found = self._read_qr(gray[y:y + h, x:x + w])
            if found:
                return found
        return []

    def _read_region(self, upright: Any, x: int, y: int, w: int, h: int) -> list[Decoded]:
        import cv2
        import numpy as np

        H, W = upright.shape[:2]
        mx, my = max(16, w // 8), max(4, h // 8)
        crop = upright[max(0, y - my):min(H, y + h + my), max(0, x - mx):min(W, x + w + mx)]
        if crop.size == 0:
            return []
        # fine deskew inside the crop: the frame's dominant angle may belong to other edges
        angle = bar_angle(crop) if min(crop.shape[:2]) >= 24 else None
        if angle is not None and not 45.0 <= angle < 135.0:
            crop, _, _ = _upright(crop, angle)
        crop = _level_axis(_unshear(crop))
        big = cv2.resize(crop, None, fx=2.0, fy=1.0, interpolation=cv2.INTER_CUBIC)
        level = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX)
        found = self.inner.decode(level, try_rotate=False)
        if found:
            return found
        rows = big.astype(np.float32)
        n = rows.shape[0]
        fixed = self.inner._zx.Binarizer.FixedThreshold
        seen: dict[str, list[int]] = {}     # text -> start rows of the bands that read it
        for a, band in [(a, r) for r in BAND_ROWS for a in _band_starts(n, r)]:
            if self._late():
                break         # the next frame of the same receipt gets its turn
            profile = rows[a:a + band].mean(axis=0)
            for amount, sigma in self.PROFILE_STEPS:
                p = profile
                if amount:
                    soft = cv2.GaussianBlur(profile[None, :], (0, 0), sigmaX=sigma)[0]
                    p = profile + amount * (profile - soft)
                local = cv2.blur(p[None, :], (61, 1), borderType=cv2.BORDER_REPLICATE)[0]
                bars = np.where(p < local, 0, 255).astype(np.uint8)
                img = np.pad(np.tile(bars, (16, 1)), ((4, 4), (40, 40)), constant_values=255)
                self._reads += 1
                for text, sym in self.inner.decode(img, binarizer=fixed, try_rotate=False, try_downscale=False):
                    if not is_code(text):
                        continue     # a garbled scanline can pass the mod-103 check; receipts carry codes
                    starts = seen.setdefault(text, [])
                    if any(abs(a - b) >= min(BAND_ROWS) for b in starts):
                        return [(text, sym)]   # two separate scanlines agree
                    starts.append(a)
                    break
                else:
                    continue
                break    # this band has read a code: the next band must confirm it
        # the soft reader (slower) on the middle bands: it reads what thresholds lose
        for a in _band_starts(n, BAND_ROWS[0])[:SOFT_BANDS]:
            text = read_profile(rows[a:a + BAND_ROWS[0]].mean(axis=0))
            if text and is_code(text):
                starts = seen.setdefault(text, [])
                if any(abs(a - b) >= min(BAND_ROWS) for b in starts):
                    return [(text, "code128")]
                starts.append(a)
        return []

    def _read_qr(self, crop: Any) -> list[Decoded]:
        """A dim, noisy or soft QR code: smoothed, re-levelled and enlarged, two binarizers."""
        import cv2

        blurred = cv2.GaussianBlur(crop, (0, 0), 1.0)
        soft = cv2.normalize(blurred, None, 0, 255, cv2.NORM_MINMAX)
        big = cv2.resize(soft, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
        # denoised first, then sharpened: the modules' edges come back without the grain
        sharp = cv2.normalize(cv2.addWeighted(blurred, 2.0, cv2.GaussianBlur(blurred, (0, 0), 2.0), -1.0, 0),
                              None, 0, 255, cv2.NORM_MINMAX)
        sharp = cv2.resize(sharp, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
        zx = self.inner._zx.Binarizer
        for img, binarizer in ((big, zx.LocalAverage), (sharp, zx.LocalAverage), (big, zx.GlobalHistogram),
                               (soft, zx.LocalAverage)):
            found = self.inner.decode(img, binarizer=binarizer, try_rotate=False, try_downscale=False)
            if found:
                return found
        return []


def square_regions(gray: Any, max_regions: int = 2) -> list[tuple[int, int, int, int]]:
    """Boxes of likely 2D codes: dense edges in both directions over a squarish area, with a margin."""
    import cv2
    import numpy as np

    small = cv2.resize(gray, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    gx = np.abs(cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3))
    gy = np.abs(cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3))
    both = cv2.blur(np.minimum(gx, gy), (5, 5))
    level = max(8.0, float(np.percentile(both, 97)) * 0.5)
    mask = cv2.morphologyEx((both > level).astype(np.uint8) * 255, cv2.MORPH_CLOSE,
                            cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    H, W = gray.shape[:2]
    boxes = []
    for c in sorted(contours, key=cv2.contourArea, reverse=True)[:max_regions]:
        bx, by, bw, bh = cv2.boundingRect(c)
        x, y, w, h = 4 * bx, 4 * by, 4 * bw, 4 * bh
        if w < 48 or h < 48 or not 0.4 <= w / h <= 2.5:
            continue
        if cv2.contourArea(c) < 0.3 * bw * bh:    # a QR code fills its square; text lines do not
            continue
        m = max(w, h) // 5
        boxes.append((max(0, x - m), max(0, y - m), min(W, x + w + m) - max(0, x - m), min(H, y + h + m) - max(0, y - m)))
    return boxes


DECODERS: dict[str, Callable[[], Decoder]] = {
    "zxingcpp+regions": RegionDecoder,
    "zxingcpp+deskew": lambda: DeskewDecoder(ZxingDecoder()),
    "pyzbar+deskew": lambda: DeskewDecoder(ZbarDecoder()),
    "zxingcpp+pyzbar+deskew": lambda: DeskewDecoder(ChainDecoder([ZxingDecoder(), ZbarDecoder()])),
    "zxingcpp": ZxingDecoder,
    "pyzbar": ZbarDecoder,
    "zxingcpp+pyzbar": lambda: ChainDecoder([ZxingDecoder(), ZbarDecoder()]),
}

#: Chosen from bench/decode.py's figures (see docs/scanners.md).
DEFAULT_DECODER = "zxingcpp+regions"


class DecoderUnavailable(ValueError):
    """The decoder's library is not installed: said on the reader's status, never a crash."""


#: Python module -> the package that provides it.
PACKAGES = {"zxingcpp": "zxing-cpp", "pyzbar": "pyzbar (and the libzbar0 Debian package)", "cv2": "opencv-python-headless"}


def make_decoder(name: str | None = None) -> Decoder:
    name = name or DEFAULT_DECODER
    if name not in DECODERS:
        raise ValueError(f"unknown decoder {name!r}; known: {', '.join(DECODERS)}")
    try:
        return DECODERS[name]()
    except ImportError as exc:
        module = (getattr(exc, "name", None) or "").split(".")[0]
        raise DecoderUnavailable(f"decoder {name!r} needs the Python package {PACKAGES.get(module, module or '?')}, "
                                 f"which is not installed ({exc})") from None


def to_gray(frame: Any) -> Any:
    """A grayscale uint8 view of a BGR/BGRA/gray frame (OpenCV order)."""
    import cv2

    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
