"""Camera daemon (`motcua camera`): snapshots by ticket, desk presence, waiting-area occupancy."""
from __future__ import annotations

from typing import Any


def create(ctx: Any) -> Any:
    from scanner.camera.daemon import CameraDaemon
    return CameraDaemon(ctx)
