"""On-screen keyboard (edge/ui/keyboard.py): Vietnamese marks, code layout, real pygame events."""
from __future__ import annotations

import unicodedata

import pygame
import pytest

from edge.ui.keyboard import Keyboard, apply_shape, apply_tone


@pytest.mark.parametrize("word,tone,expected", [
    ("toan", "sac", "toán"), ("mua", "huyen", "mùa"), ("thai", "sac", "thái"),
    ("quy", "sac", "quý"), ("gia", "sac", "giá"), ("hoang", "huyen", "hoàng"),
    ("khuyu", "hoi", "khuỷu"), ("chuyên", "nang", "chuyện"), ("người", "none", "người".replace("ờ", "ơ")),
    ("Đât", "sac", "Đất"), ("tốt", "sac", "tôt"),
])
def test_tone_placement(word: str, tone: str, expected: str) -> None:
    out = apply_tone(word, tone)
    assert out == unicodedata.normalize("NFC", expected)
    assert unicodedata.is_normalized("NFC", out)


def test_shapes_keep_tone_and_toggle() -> None:
    w = apply_shape(apply_shape("nguoi", "ư"), "ơ")
    assert w == "ngươi"
    assert apply_tone(w, "huyen") == "người"
    assert apply_shape("tót", "ô") == "tốt"
    assert apply_shape("do", "đ") == "đo"
    assert apply_shape("Do", "đ") == "Đo"
    assert apply_shape("â", "â") == "a"
    assert apply_shape("xyz", "ô") == "xyz"


def _tap(kb: Keyboard, action: str) -> str | None:
    pos = kb.key_at(action).center
    return kb.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=pos))


def test_code_layout_types_a_dossier_code() -> None:
    pygame.init()
    kb = Keyboard(pygame.Rect(0, 900, 1080, 700), "code")
    for ch in "000.17.22.H56-210531-0001":
        assert _tap(kb, f"char:{ch}") == "changed"
    assert kb.text == "000.17.22.H56-210531-0001"
    _tap(kb, "back")
    assert kb.text.endswith("000")
    assert _tap(kb, "enter") == "enter"
    _tap(kb, "clear")
    assert kb.text == ""
    # a physical keyboard: lower case becomes upper, other characters are refused
    kb.handle(pygame.event.Event(pygame.TEXTINPUT, text="h5 é/"))
    assert kb.text == "H5"
    assert kb.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0, unicode="\r")) == "enter"
    surf = pygame.Surface((1080, 1920))
    kb.draw(surf)
    assert surf.get_at(kb.key_at("enter").center) != surf.get_at((5, 5))


def test_text_layout_writes_vietnamese() -> None:
    pygame.init()
    kb = Keyboard(pygame.Rect(0, 300, 1024, 300), "text", ok_label="Gửi")
    _tap(kb, "shift")
    for ch in "thai":
        _tap(kb, f"char:{ch.upper() if ch == 't' else ch}")
    _tap(kb, "tone:sac")
    _tap(kb, "space")
    for ch in "do":
        _tap(kb, f"char:{ch}")
    _tap(kb, "shape:đ")
    _tap(kb, "shape:ô")
    _tap(kb, "tone:nang")
    assert kb.text == "Thái độ"
    assert unicodedata.is_normalized("NFC", kb.text)
    assert kb.max_len == 64
    kb.text = "x" * 64
    assert _tap(kb, "char:a") is None
