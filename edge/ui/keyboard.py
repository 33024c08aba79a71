"""On-screen keyboard for touch screens, able to type Vietnamese.

Two layouts: ``code`` (digits, A-Z, ``.`` and ``-``: dossier codes) and ``text``
(letters, Vietnamese vowels with marks and tones: a citizen's comment). Tones are keys of
their own that re-mark the word being typed, so a citizen who has never used Telex can
still write "Thái độ chưa tốt" by touch. A physical keyboard works too (TEXTINPUT and the
editing keys). The text is kept NFC.

``Keyboard.handle(event)`` returns ``"enter"`` when OK is pressed, ``"changed"`` when the
text changed, else None; ``Keyboard.draw(surface)`` paints it inside its rect.
"""
from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from typing import Literal

import pygame

from edge.ui.text import blit_text
from edge.ui.widgets import Button

log = logging.getLogger(__name__)

# ----------------------------------------------------------------- Vietnamese marks

#: Tone name -> combining mark (NFD). "none" removes the tone.
TONES: dict[str, str] = {"sac": "\u0301", "huyen": "\u0300", "hoi": "\u0309", "nga": "\u0303",
                         "nang": "\u0323", "none": ""}
TONE_MARKS = frozenset(m for m in TONES.values() if m)
#: Shape key -> (plain letter, shaped letter): â ă ê ô ơ ư đ.
SHAPES: dict[str, tuple[str, str]] = {"â": ("a", "â"), "ă": ("a", "ă"), "ê": ("e", "ê"),
                                      "ô": ("o", "ô"), "ơ": ("o", "ơ"), "ư": ("u", "ư"),
                                      "đ": ("d", "đ")}
_BASE_VOWELS = "aăâeêioôơuưy"
_SHAPED = "ăâêôơư"


def _split_tone(word: str) -> tuple[str, str]:
    """(word without its tone mark, the tone mark or '') — shape marks are kept."""
    tone = ""
    out = []
    for ch in unicodedata.normalize("NFD", word):
        if ch in TONE_MARKS:
            tone = ch
        else:
            out.append(ch)
    return unicodedata.normalize("NFC", "".join(out)), tone


def _tone_index(word: str) -> int | None:
    """Index of the vowel carrying the tone in a (toneless, NFC) syllable, by the usual rules."""
    low = word.lower()
    start = 0
    if low.startswith("qu") or (low.startswith("gi") and len(low) > 2 and low[2] in _BASE_VOWELS):
        start = 2  # u of "qu" and i of "gi" act as consonants
    idx = [i for i in range(start, len(low)) if low[i] in _BASE_VOWELS]
    if not idx:
        idx = [i for i in range(len(low)) if low[i] in _BASE_VOWELS]
        if not idx:
            return None
    # one contiguous vowel cluster: the last one in the word
    cluster = [idx[-1]]
    for i in reversed(idx[:-1]):
        if i == cluster[0] - 1:
            cluster.insert(0, i)
        else:
            break
    shaped = [i for i in cluster if low[i] in _SHAPED]
    if shaped:
        return shaped[-1]  # ươ -> ơ, ê, â...
    if len(cluster) == 1:
        return cluster[0]
    has_final = cluster[-1] < len(low) - 1
    pair = low[cluster[0]:cluster[-1] + 1]
    if len(cluster) >= 3:
        return cluster[1]
    if has_final or pair in ("oa", "oe", "uy"):
        return cluster[-1]
    return cluster[0]


def apply_tone(word: str, tone: str) -> str:
    """``word`` with its tone set to ``tone`` (a key of TONES); same tone again removes it."""
    bare, old = _split_tone(word)
    mark = TONES[tone]
    if mark == old:
        mark = ""
    pos = _tone_index(bare)
    if pos is None or not mark:
        return bare
    return unicodedata.normalize("NFC", bare[:pos] + unicodedata.normalize("NFD", bare[pos])
                                 + mark + bare[pos + 1:])


def apply_shape(word: str, shape: str) -> str:
    """Turn the last matching letter of ``word`` into ``shape`` (â, ă, ê, ô, ơ, ư, đ), keeping its tone."""
    plain, shaped = SHAPES[shape]
    bare, tone = _split_tone(word)
    for i in range(len(bare) - 1, -1, -1):
        ch = bare[i]
        base = unicodedata.normalize("NFD", ch)[0].lower()
        if base == plain:
            new = shaped.upper() if ch.isupper() else shaped
            if ch.lower() == shaped:  # pressing â on â goes back to a
                new = plain.upper() if ch.isupper() else plain
            bare = bare[:i] + new + bare[i + 1:]
            break
    else:
        return word
    if not tone:
        return bare
    return apply_tone(bare, next(k for k, v in TONES.items() if v == tone))


# ----------------------------------------------------------------- layouts

Layout = Literal["code", "text"]

_CODE_ROWS = ["1234567890", "QWERTYUIOP", "ASDFGHJKL-", "ZXCVBNM.", ]
_TEXT_ROWS = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm,.", "âăêôơưđ"]
_TONE_ROW = [("sac", "´"), ("huyen", "`"), ("hoi", "̉ hỏi"), ("nga", "~"), ("nang", ". nặng")]


@dataclass
class Key:
    """One key: what it does (``char:x``, ``tone:sac``, ``shape:â``, ``back``, ``clear``, ``space``, ``shift``, ``enter``)."""

    action: str
    label: str


class Keyboard:
    """A touch keyboard bound to one text value."""

    def __init__(self, rect: pygame.Rect, layout: Layout = "code", max_len: int = 64,
                 text: str = "", ok_label: str = "Tra cứu", size: int | None = None) -> None:
        self.rect = pygame.Rect(rect)
        self.layout: Layout = layout
        self.max_len = max_len
        self.text = unicodedata.normalize("NFC", text)
        self.ok_label = ok_label
        self.shift = False
        self.size = size
        self.buttons: list[Button] = []
        self._build()

    # ------------------------------------------------------------- layout
    def _rows(self) -> list[list[Key]]:
        if self.layout == "code":
            rows = [[Key(f"char:{c}", c) for c in r] for r in _CODE_ROWS]
            rows[-1] += [Key("back", "⌫")]
            rows.append([Key("clear", "Xoá"), Key("enter", self.ok_label)])
            return rows
        rows = []
        for r in _TEXT_ROWS[:-1]:
            chars = r.upper() if self.shift else r
            rows.append([Key(f"char:{c}", c) for c in chars])
        rows[-1] = [Key("shift", "⇧")] + rows[-1] + [Key("back", "⌫")]
        rows.append([Key(f"shape:{s}", s.upper() if self.shift else s) for s in _TEXT_ROWS[-1]]
                    + [Key(f"tone:{t}", lab) for t, lab in _TONE_ROW])
        rows.append([Key("clear", "Xoá"), Key("space", "Dấu cách"), Key("enter", self.ok_label)])
        return rows

    def _build(self) -> None:
        rows = self._rows()
        gap = max(4, self.rect.width // 200)
        row_h = (self.rect.height - gap * (len(rows) + 1)) // len(rows)
        size = self.size or max(16, int(row_h * 0.45))
        self.buttons = []
        y = self.rect.y + gap
        for row in rows:
            weights = [3 if k.action in ("space", "enter", "clear") else 1 for k in row]
            unit = (self.rect.width - gap * (len(row) + 1)) / sum(weights)
            x = self.rect.x + gap
            for key, w in zip(row, weights):
                width = int(unit * w + gap * (w - 1))
                bg = (0, 120, 60) if key.action == "enter" else (
                    (120, 60, 0) if key.action.startswith(("tone:", "shape:")) else (60, 70, 90))
                if key.action == "shift" and self.shift:
                    bg = (0, 94, 160)
                self.buttons.append(Button(pygame.Rect(x, y, width, row_h), key.label, key.action,
                                           bg=bg, size=size, radius=8))
                x += width + gap
            y += row_h + gap

    # ------------------------------------------------------------- editing
    def press(self, action: str) -> str | None:
        """Apply one key action; returns "enter", "changed" or None."""
        before = self.text
        if action == "enter":
            return "enter"
        if action.startswith("char:"):
            ch = action[5:]
            if len(self.text) < self.max_len:
                self.text += ch
            if self.shift and self.layout == "text":
                self.shift = False
                self._build()
        elif action == "space":
            if self.text and not self.text.endswith(" ") and len(self.text) < self.max_len:
                self.text += " "
        elif action == "back":
            self.text = self.text[:-1]
        elif action == "clear":
            self.text = ""
        elif action == "shift":
            self.shift = not self.shift
            self._build()
        elif action.startswith(("tone:", "shape:")):
            head, _, word = self.text.rpartition(" ")
            sep = " " if head or self.text.startswith(" ") else ""
            if word:
                fn = apply_tone if action.startswith("tone:") else apply_shape
                word = fn(word, action.split(":", 1)[1])
                self.text = f"{head}{sep}{word}" if head else word
            elif action.startswith("shape:"):
                ch = action.split(":", 1)[1]
                self.text += ch.upper() if self.shift else ch
        self.text = unicodedata.normalize("NFC", self.text)
        return "changed" if self.text != before else None

    def tap(self, pos: tuple[int, int]) -> str | None:
        """Press the key under ``pos`` (an ``edge.ui.Tap``'s position); None when no key is there."""
        for b in self.buttons:
            if b.hit(pos):
                return self.press(b.value)
        return None

    def handle(self, event: pygame.event.Event) -> str | None:
        """Feed a pygame event: a mouse click or a physical key (touch comes as ``tap``)."""
        if (event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 1) == 1
                and not getattr(event, "touch", False)):
            return self.tap(event.pos)
        if event.type == pygame.TEXTINPUT:
            result = None
            for ch in event.text:
                if self.layout == "code":
                    ch = ch.upper()
                    if not (ch.isascii() and (ch.isalnum() or ch in ".-")):
                        continue
                result = self.press(f"char:{ch}") or result
            return result
        if event.type == pygame.KEYDOWN:
            if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                return self.press("enter")
            if event.key == pygame.K_BACKSPACE:
                return self.press("back")
            if event.key == pygame.K_ESCAPE:
                return self.press("clear")
        return None

    def key_at(self, action: str) -> pygame.Rect:
        """Rect of the key doing ``action`` (for tests and for highlighting)."""
        for b in self.buttons:
            if b.value == action:
                return pygame.Rect(b.rect)
        raise KeyError(action)

    def draw(self, surface: pygame.Surface) -> None:
        pygame.draw.rect(surface, (30, 34, 44), self.rect, border_radius=10)
        for b in self.buttons:
            b.draw(surface)


def draw_field(surface: pygame.Surface, rect: pygame.Rect, text: str, placeholder: str = "",
               size: int = 40) -> None:
    """An input box showing ``text`` (or a grey placeholder) with a caret."""
    rect = pygame.Rect(rect)
    pygame.draw.rect(surface, (255, 255, 255), rect, border_radius=10)
    pygame.draw.rect(surface, (0, 94, 160), rect, width=3, border_radius=10)
    inner = rect.inflate(-24, -8)
    if text:
        blit_text(surface, text + "▏", inner, size, (0, 0, 0), align="left", wrap=False)
    else:
        blit_text(surface, placeholder, inner, size, (150, 150, 150), align="left", wrap=False)
