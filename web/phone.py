"""The citizen's ticket page: `/ve/{token}` (public, no sign-in), opened from the ticket's QR.

Everything a phone sees comes from the web daemon's own TicketBook (web/tickets.py), built
from retained state and ticket events: a phone never causes a request to the engine. The
page is server-rendered (it reads without JavaScript), then one small script keeps it live
over Server-Sent Events and rings/vibrates when the number is called. An unknown or
expired token gets a plain 404 page with no data: the token, not the ticket id or number,
is the only key, and it is an HMAC the engine makes (edge/engine/track.py).
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from pathlib import Path
from typing import Any, AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from web.app import SSE_PING_S, Streams, _sse
from web.phone_texts import PHONE
from web.tickets import TicketBook

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_PHONE_STREAMS = 2000


def wait_words(seconds: int | None, t: dict[str, str]) -> str:
    if seconds is None:
        return t["no_counter"]
    if seconds < 60:
        return t["soon"]
    minutes = round(seconds / 60)
    if minutes < 60:
        return t["about_min"].format(m=minutes)
    return t["about_h"].format(h=minutes // 60, m=minutes % 60)


class PhoneStreams(Streams):
    """Streams that wake only the phones of the service a change is about ("svc:HT"), or all."""

    def _mark(self, key: str) -> None:
        with self._lock:
            clients = list(self._clients)
        svc = key[4:] if key.startswith("svc:") else None
        for c in clients:
            if svc is None or getattr(c, "service", None) in (svc, None):
                c.dirty.add(key)
                c.wake.set()


class TicketPages:
    def __init__(self, office_name: str, book: TicketBook) -> None:
        self.office_name = office_name
        self.book = book
        self.streams = PhoneStreams()
        book.listeners.append(self.streams.changed)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))

    def routes(self) -> list[Route]:
        return [Route("/ve/{token}", self.page), Route("/ve/{token}/state", self.state),
                Route("/ve/{token}/events", self.events), Route("/ve/{rest:path}", self.unknown)]

    @staticmethod
    def lang(request: Request) -> str:
        return "en" if request.query_params.get("lang") == "en" else "vi"

    def _data(self, token: str) -> dict[str, Any] | None:
        if not TOKEN_RE.match(token):
            return None
        return self.book.page(token)

    def _unknown(self, request: Request, lang: str) -> Response:
        return self.templates.TemplateResponse(request, "ticket_unknown.html", {
            "t": PHONE[lang], "lang": lang, "office": self.office_name}, status_code=404)

    async def unknown(self, request: Request) -> Response:
        return self._unknown(request, self.lang(request))

    async def page(self, request: Request) -> Response:
        lang = self.lang(request)
        token = request.path_params["token"]
        data = self._data(token)
        if data is None:
            return self._unknown(request, lang)
        t = PHONE[lang]
        boot = {"t": t, "lang": lang, "data": data, "now": time.time()}
        return self.templates.TemplateResponse(request, "ticket.html", {
            "t": t, "lang": lang, "office": self.office_name, "d": data, "token": token,
            "wait": wait_words(data.get("wait_s"), t) if data["state"] == "waiting" else "",
            "other": "vi" if lang == "en" else "en",
            "boot": json.dumps(boot, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")})

    async def state(self, request: Request) -> Response:
        data = self._data(request.path_params["token"])
        if data is None:
            return JSONResponse({"ok": False}, status_code=404)
        return JSONResponse({"ok": True, "data": data, "now": time.time()})

    async def events(self, request: Request) -> Response:
        token = request.path_params["token"]
        if self._data(token) is None:
            return JSONResponse({"ok": False}, status_code=404)
        if len(self.streams) >= MAX_PHONE_STREAMS:
            return JSONResponse({"ok": False}, status_code=503, headers={"Retry-After": "10"})
        if self.streams.loop is None:
            self.streams.loop = asyncio.get_running_loop()
        client = self.streams.add()
        client.service = self.book.service_of(token)  # type: ignore[attr-defined]

        async def stream() -> AsyncIterator[bytes]:
            try:
                last = self.book.page(token)
                yield b"retry: 2000\n\n" + _sse("ticket", {"data": last, "now": time.time()})
                while not self.streams.closing:
                    try:
                        await asyncio.wait_for(client.wake.wait(), SSE_PING_S)
                    except asyncio.TimeoutError:
                        yield b": ping\n\n"
                        continue
                    client.wake.clear()
                    client.dirty.clear()
                    data = self.book.page(token)
                    client.service = self.book.service_of(token)  # type: ignore[attr-defined]
                    if data != last:
                        last = data
                        yield _sse("ticket", {"data": data, "now": time.time()})
            finally:
                self.streams.remove(client)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
