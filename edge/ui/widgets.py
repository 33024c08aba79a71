"""Touch targets. A ``Button`` is a rect + label + value; screens keep a list and hit-test taps.

Large targets: callers pick rects of at least ~80 px in both directions on a kiosk.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pygame

from edge.ui.text import blit_text

log = logging.getLogger(__name__)


@dataclass
class Button:
    """A rectangular touch target with a (wrapped) label and an optional second line."""

    rect: pygame.Rect
    label: str
    value: Any = None
    sublabel: str = ""
    enabled: bool = True
    bg: tuple[int, int, int] = (0, 94, 160)
    fg: tuple[int, int, int] = (255, 255, 255)
    disabled_bg: tuple[int, int, int] = (170, 170, 170)
    size: int = 34
    radius: int = 14
    pressed: bool = field(default=False, compare=False)

    def hit(self, pos: tuple[int, int]) -> bool:
        """True when an enabled button contains ``pos``."""
        return self.enabled and pygame.Rect(self.rect).collidepoint(pos)

    def draw(self, surface: pygame.Surface) -> None:
        """Draw the button (darker while pressed, grey when disabled)."""
        r = pygame.Rect(self.rect)
        bg = self.bg if self.enabled else self.disabled_bg
        if self.pressed:
            bg = tuple(max(0, c - 50) for c in bg)
        pygame.draw.rect(surface, bg, r, border_radius=self.radius)
        pad = max(8, r.height // 10)
        inner = r.inflate(-2 * pad, -2 * pad)
        if self.sublabel:
            top = pygame.Rect(inner.x, inner.y, inner.w, inner.h * 2 // 3)
            sub = pygame.Rect(inner.x, top.bottom, inner.w, inner.h - top.h)
            blit_text(surface, self.label, top, self.size, self.fg, bold=True)
            blit_text(surface, self.sublabel, sub, max(14, self.size * 3 // 5), self.fg, wrap=False)
        else:
            blit_text(surface, self.label, inner, self.size, self.fg, bold=True)


def hit_test(buttons: list[Button], pos: tuple[int, int]) -> Button | None:
    """First enabled button under ``pos``."""
    for b in buttons:
        if b.hit(pos):
            return b
    return None
