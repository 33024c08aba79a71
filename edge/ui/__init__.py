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
or by ``init_headless_ok()`` callers.
"""
from edge.ui.fonts import font, font_path, nfc
from edge.ui.loop import Tap, UiLoop
from edge.ui.shot import save_screenshot
from edge.ui.text import blit_text, fit_font, render_text, wrap_lines
from edge.ui.widgets import Button

__all__ = [
    "Button", "Tap", "UiLoop", "blit_text", "fit_font", "font", "font_path", "nfc",
    "render_text", "save_screenshot", "wrap_lines",
]
