"""The waiting-room calling board (display mode "calling")."""
from __future__ import annotations

from typing import Any


def create_board(ctx: Any) -> Any:
    from display.calling.board import CallingBoard
    return CallingBoard(ctx)
