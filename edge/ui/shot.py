"""Screenshots for docs and tests: ``save_screenshot(surface, path)`` writes a PNG."""
from __future__ import annotations

import logging
from pathlib import Path

import pygame

log = logging.getLogger(__name__)


def save_screenshot(surface: pygame.Surface, path: str | Path) -> Path:
    """Write ``surface`` to ``path`` as PNG (parent folders created) and return the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    pygame.image.save(surface, str(p))
    log.info("screenshot saved to %s", p)
    return p
