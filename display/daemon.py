"""The `display` daemon: a waiting-room calling board or a dossier status board, by `mode`."""
from __future__ import annotations

from typing import Any

from edge.daemon import DaemonContext


def create(ctx: DaemonContext) -> Any:
    if ctx.device.mode == "dossiers":
        from display.dossiers import create_board
        return create_board(ctx)
    from display.calling import create_board as create_calling
    return create_calling(ctx)
