"""Satisfaction tablet (`motcua tablet`): one per counter, ratings kept until the engine answers."""
from __future__ import annotations

from typing import Any


def create(ctx: Any) -> Any:
    from kiosk.tablet.app import TabletDaemon
    return TabletDaemon(ctx)
