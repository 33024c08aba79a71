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


DECODERS: dict[str, Callable[[], Decoder]] = {
    "zxingcpp+deskew": lambda: DeskewDecoder(ZxingDecoder()),
    "pyzbar+deskew": lambda: DeskewDecoder(ZbarDecoder()),
    "zxingcpp+pyzbar+deskew": lambda: DeskewDecoder(ChainDecoder([ZxingDecoder(), ZbarDecoder()])),
    "zxingcpp": ZxingDecoder,
    "pyzbar": ZbarDecoder,
    "zxingcpp+pyzbar": lambda: ChainDecoder([ZxingDecoder(), ZbarDecoder()]),
}

#: Chosen from bench/decode.py's figures (see docs/scanners.md).
DEFAULT_DECODER = "zxingcpp+deskew"


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
