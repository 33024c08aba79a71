"""The `display` daemon: a waiting-room calling board, a dossier status board, an information
screen, the in/out board or a camera monitor, by `mode`."""
from __future__ import annotations

from typing import Any

from edge.daemon import DaemonContext


def create(ctx: DaemonContext) -> Any:
    if ctx.device.mode == "cameras":
        from display.cameras import create_monitor
        return create_monitor(ctx)
    if ctx.device.mode == "presence":
        from display.presence import create_presence
        return create_presence(ctx)
    if ctx.device.mode == "information":
        from display.information import create_information
        return create_information(ctx)
    if ctx.device.mode == "dossiers":
        from display.dossiers import create_board
        return create_board(ctx)
    from display.calling import create_board as create_calling
    return create_calling(ctx)
