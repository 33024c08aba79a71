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


def test_regions_read_stacked_distortions_the_deskew_misses() -> None:
    """Perspective, blur, shake, noise, dim light and JPEG at once (the bench's medium level)."""
    from decode_frames import stacked_frames

    sample = [f for f in stacked_frames(8, seed=77) if f.symbology == "code128" and f.condition == "medium"]
    regions, deskew = make_decoder("zxingcpp+regions"), make_decoder("zxingcpp+deskew")
    got = [regions.decode(f.image) for f in sample]
    base = [deskew.decode(f.image) for f in sample]
    hits = sum((f.truth, "code128") in g for f, g in zip(sample, got))
    assert hits >= 6 and hits > sum((f.truth, "code128") in b for f, b in zip(sample, base))
    assert all(text == f.truth for f, g in zip(sample, got) for text, _ in g)   # no misread


def test_level_axis_straightens_a_climbing_code() -> None:
    from scanner.decode import _level_axis

    bars = code128_image(CODE, 2, 60)
    h, w = bars.shape
    canvas = np.full((h + 80, w), 255, np.uint8)
    canvas[40:40 + h] = bars
    climbing = cv2.warpAffine(canvas, np.float32([[1, 0, 0], [-0.05, 1, 0.05 * w / 2]]), (w, h + 80),
                              borderValue=255)          # the axis climbs 5 % while the bars stay upright
    level = _level_axis(climbing)
    rows = np.nonzero((level < 128).sum(axis=1) > w // 4)[0]
    assert rows.max() - rows.min() <= h + 6                # the code fills one band of rows again
    assert make_decoder("zxingcpp").decode(level[40:40 + h]) == [(CODE, "code128")]


def test_regions_keep_reading_codes_that_are_not_dossier_codes() -> None:
    """Only the aggressive scanline fallback insists on a dossier code; plain reads are generic."""
    rng = random.Random(3)
    frame = place(receipt(code128_image("HELLO-123", 3), rng), rng, 20)
    assert make_decoder("zxingcpp+regions").decode(frame) == [("HELLO-123", "code128")]


def test_soft_code128_reads_a_scanline_whose_narrow_bars_blurred_away() -> None:
    from scanner.code128 import read_profile, text_of

    line = cv2.resize(code128_image(CODE, 2, 4).astype(np.float32), None, fx=2, fy=1,
                      interpolation=cv2.INTER_CUBIC).mean(axis=0)
    noise = np.random.default_rng(5).normal(0, 8, len(line))
    for sigma in (1.5, 2.5):         # upsampled px: up to 0.6 of a module
        blurred = cv2.GaussianBlur(line[None, :], (0, 0), sigma)[0] + noise
        assert read_profile(np.pad(blurred, (60, 60), constant_values=255)) == CODE, sigma
    rng = np.random.default_rng(9)
    for _ in range(20):              # noise and a scrambled code never come out as a code
        assert read_profile(rng.uniform(0, 255, 1400)) is None
        assert read_profile(rng.permutation(line)) is None
    # values -> text: start C, digits in pairs, to B for letters; shift and FNC codes refused
    assert text_of([105, 21, 5, 31, 100, 13, 34]) == "210531-B"
    assert text_of([104, 33, 98, 65, 33]) == "A\x01A"
    assert text_of([104, 102]) is None and text_of([50, 1]) is None
