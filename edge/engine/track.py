"""The ticket page's token: HMAC-SHA256 of the ticket id with the office's own key.

The key is made once and kept in the engine's database (meta `track_key`), so a token
stays the same across restarts and reloads, cannot be guessed from a ticket id or
number, and no other daemon needs a secret: the token travels inside the Ticket (field
`track`), the printer puts it in the QR and the web daemon looks tickets up by it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sqlite3

from edge.engine.store import get_meta, set_meta

META_KEY = "track_key"


def ensure_key(conn: sqlite3.Connection) -> bytes:
    """The office's token key, made on first use (call inside a write transaction)."""
    value = get_meta(conn, META_KEY)
    if not value:
        value = secrets.token_hex(32)
        set_meta(conn, META_KEY, value)
    return bytes.fromhex(value)


def token(key: bytes, ticket_id: str) -> str:
    """20 URL-safe characters (120 bits): unguessable, short enough for a small QR."""
    mac = hmac.new(key, ticket_id.encode("utf-8"), hashlib.sha256).digest()[:15]
    return base64.urlsafe_b64encode(mac).decode("ascii")
