"""Shared pygame-ce base for every motcua screen (kiosks, waiting-room display, tablets).

Modules:
- ``edge.ui.fonts``   -- DejaVu Sans regular/bold by size (cached), NFC text, ``font_path()``.
- ``edge.ui.text``    -- render/fit/wrap text within a width, draw aligned text.
- ``edge.ui.widgets`` -- ``Button`` touch target (hit test, press feedback, draw).
- ``edge.ui.loop``    -- ``UiLoop``: event-driven loop (``pygame.event.wait``), redraw only
  when dirty, touch/mouse de-duplication into one ``Tap``, ``call_soon`` for other threads,
  timers (``call_later``).
- ``edge.ui.shot``    -- ``save_screenshot(surface, path)``.
- ``edge.ui.keyboard`` -- (reserved) on-screen keyboard, written by another helper.

Everything here is import-safe without a display; pygame is initialised by ``UiLoop``
or by ``edge.ui.fonts.font()``. ``from edge.ui import font_path`` does not import pygame.
"""
import importlib
from typing import Any

from edge.ui.fonts import font, font_path, nfc

_LAZY = {  # pygame-heavy names load on first use, so Pillow-only users (printer) stay light
    "Tap": "edge.ui.loop", "UiLoop": "edge.ui.loop", "device_loop": "edge.ui.loop", "UiThread": "edge.ui.loop", "save_screenshot": "edge.ui.shot",
    "blit_text": "edge.ui.text", "fit_font": "edge.ui.text", "render_text": "edge.ui.text",
    "wrap_lines": "edge.ui.text", "Button": "edge.ui.widgets",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edge.ui' has no attribute {name!r}")

__all__ = [
    "Button", "Tap", "UiLoop", "UiThread", "blit_text", "device_loop", "fit_font", "font", "font_path", "nfc",
    "render_text", "save_screenshot", "wrap_lines",
]
