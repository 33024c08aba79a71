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

    def decode(self, gray: Any) -> list[Decoded]:
        out = []
        for r in self._zx.read_barcodes(gray, formats=self._formats):
            if r.valid and r.text:
                out.append((r.text, symbology_name(str(r.format))))
        return out


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


DECODERS: dict[str, Callable[[], Decoder]] = {
    "zxingcpp": ZxingDecoder,
    "pyzbar": ZbarDecoder,
    "zxingcpp+pyzbar": lambda: ChainDecoder([ZxingDecoder(), ZbarDecoder()]),
}

#: Chosen from bench/decode.py's figures (see docs/scanners.md).
DEFAULT_DECODER = "zxingcpp"


def make_decoder(name: str | None = None) -> Decoder:
    name = name or DEFAULT_DECODER
    try:
        return DECODERS[name]()
    except KeyError:
        raise ValueError(f"unknown decoder {name!r}; known: {', '.join(DECODERS)}") from None


def to_gray(frame: Any) -> Any:
    """A grayscale uint8 view of a BGR/BGRA/gray frame (OpenCV order)."""
    import cv2

    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
