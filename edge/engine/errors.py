"""The one exception engine operations raise for a request they refuse."""
from __future__ import annotations

from edge.i18n import t
from edge.protocol import ERROR_CODES, ERROR_MESSAGES


class EngineError(Exception):
    """A PROTOCOL.md error code with a Vietnamese sentence for the clerk or citizen."""

    def __init__(self, code: str, message: str | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.message = message or t(ERROR_MESSAGES[code])
        super().__init__(f"{code}: {self.message}")
