"""`motcua kiosk CONFIG --device ID`: a ticket kiosk or a dossier-lookup kiosk, by ``mode``."""
from __future__ import annotations

import logging
from typing import Any

from edge.daemon import DaemonContext

log = logging.getLogger(__name__)


def create(ctx: DaemonContext) -> Any:
    """Dispatch on the kiosk's configured mode."""
    mode = getattr(ctx.device, "mode", "ticket")
    if mode == "ticket":
        from kiosk.ticket.app import TicketKiosk
        return TicketKiosk(ctx)
    if mode == "lookup":
        from kiosk.lookup import create_lookup
        return create_lookup(ctx)
    if mode == "procedures":
        from kiosk.procedures import create_procedures
        return create_procedures(ctx)
    raise ValueError(f"unknown kiosk mode {mode!r}")
