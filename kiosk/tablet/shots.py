"""Screenshots of every tablet screen for the docs: `python -m kiosk.tablet.shots [OUT_DIR]`.

Drawn by the same TabletScreens the daemon runs, under SDL's dummy video driver.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame  # noqa: E402

from edge.ui import save_screenshot  # noqa: E402
from kiosk.tablet.screens import TabletScreens  # noqa: E402

REASONS = ["Chậm", "Hướng dẫn sai", "Thái độ", "Đòi thêm giấy tờ", "Khác"]


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("docs/screenshots")
    pygame.display.init()
    surface = pygame.display.set_mode((1024, 600))
    s = TabletScreens((1024, 600), 3, "Quầy 3 - Hộ tịch", REASONS, 20, lambda f: None, lambda d, fn: None)

    def snap(name: str) -> None:
        s.draw(surface)
        print(save_screenshot(surface, out / f"tablet-{name}.png"))

    s.on_counter("open", "Nguyễn Thị Lan", "2023")
    snap("rest")
    s.on_done("20261123-HT-0023", "2023")
    snap("rate")
    s.tap(next(b.rect.center for b in s.buttons if b.value == "level:unsatisfied"))
    for i in (0, 2):
        s.tap(next(b.rect.center for b in s.buttons if b.value == f"reason:{i}"))
    s.draft.comment = "Chờ lâu quá, cần thêm ghế ngồi"
    s._go(s.screen)
    snap("reasons")
    s.tap(next(b.rect.center for b in s.buttons if b.value == "comment"))
    snap("comment")
    s.tap(s.keyboard.key_at("enter").center)
    s.tap(next(b.rect.center for b in s.buttons if b.value == "send"))
    snap("thanks")
    s.on_done("20261123-HT-0024", "2024")
    s.tap(next(b.rect.center for b in s.buttons if b.value == "lang"))
    snap("rate-en")
    s._rest()
    s.on_counter("closed", None, None)
    snap("closed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
