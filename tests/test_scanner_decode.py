"""Decoders on generated receipts with known truth (the bench's frames, fewer of them)."""
from __future__ import annotations

import random
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.append(str(Path(__file__).parent.parent / "bench"))  # appended: bench/web.py must not hide the web package
from decode_frames import code128_image, empty_frames, make_frame, place, receipt  # noqa: E402

from scanner.decode import bar_angle, make_decoder, symbology_name, to_gray  # noqa: E402

CODE = "000.17.22.H56-210531-0001"


def tilted(angle: float, seed: int = 1) -> np.ndarray:
    rng = random.Random(seed)
    return place(receipt(code128_image(CODE, 2), rng), rng, angle)


def test_bar_angle_follows_the_tilt() -> None:
    for angle in (0, 20, 35, -30, 90):
        a = bar_angle(tilted(angle))
        assert a is not None
        # image y points down: a code turned by +angle has its bar gradient at -angle
        assert min(abs((a + angle) % 180), 180 - abs((a + angle) % 180)) <= 3, (angle, a)


@pytest.mark.parametrize("angle", [25, -40, 70, 135])
def test_deskew_reads_tilted_code128_the_plain_decoder_misses(angle: float) -> None:
    frame = tilted(angle)
    assert make_decoder("zxingcpp").decode(frame) == []
    assert make_decoder("zxingcpp+deskew").decode(frame) == [(CODE, "code128")]


def test_soft_focus_reads_a_blurred_code128() -> None:
    frame = cv2.GaussianBlur(tilted(5), (0, 0), 1.3)
    assert make_decoder("zxingcpp").decode(frame) == []
    assert make_decoder("zxingcpp+deskew").decode(frame) == [(CODE, "code128")]


def test_every_case_and_no_false_reads() -> None:
    dec = make_decoder()
    rng = random.Random(11)
    for sym in ("code128", "qrcode"):
        for cond in ("clean", "noisy", "low_contrast", "perspective"):
            f = make_frame(rng, sym, cond)
            assert (f.truth, sym) in dec.decode(f.image), (sym, cond)
    assert all(dec.decode(img) == [] for img in empty_frames(6))


def test_helpers() -> None:
    assert symbology_name("QR Code") == "qrcode" and symbology_name("CODE128") == "code128"
    bgr = cv2.cvtColor(tilted(0), cv2.COLOR_GRAY2BGR)
    assert to_gray(bgr).ndim == 2
    with pytest.raises(ValueError):
        make_decoder("nope")
