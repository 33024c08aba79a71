"""The console's ASGI app (Starlette): sign-in, the console page, its actions and live state.

Security: the session is a signed (itsdangerous), HttpOnly, SameSite=Strict cookie that
holds only the login, a CSRF token and the language; every POST must carry that token
in `X-CSRF-Token` and come from this origin; sign-ins are limited per client address and
locked per account after repeated failures (edge/staff.py); the account is read again
on every request, so disabling it takes effect at once; a clerk acts only on the
counters on their account. Every action goes to the engine as a PROTOCOL.md counter
command naming the clerk (`staff_login`), which checks the same rules again.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import secrets
import threading
import time
import unicodedata
from collections import defaultdict, deque
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from edge.bus import RequestTimeout
from edge.config import OfficeConfig
from edge.staff import Locked, Staff, StaffStore
from web import texts
from web.view import OfficeView

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
ACTIONS = ("open", "close", "pause", "resume", "next", "recall", "skip", "finish", "transfer", "call")
RID_RE = re.compile(r"^[A-Za-z0-9]{8,24}$")
NUMBER_RE = re.compile(r"^[A-Za-z0-9]{1,12}$")
SSE_PING_S = 15.0

Sender = Callable[[int, dict[str, Any], str], dict[str, Any]]


class LoginLimiter:
    """At most `per_min` sign-in attempts per client address in any 60 s."""

    def __init__(self, per_min: int) -> None:
        self.per_min = per_min
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, addr: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._hits[addr]
            while q and now - q[0] > 60:
                q.popleft()
            if len(q) >= self.per_min:
                return False
            q.append(now)
            return True


async def sign_in(request: Request, check: Callable[[str, str], Staff | None], limiter: LoginLimiter,
                  msgs: dict[str, str], *, csrf_ok: bool, lang: str, next_url: str,
                  roles: tuple[str, ...] | None = None) -> Response:
    """One sign-in (a JSON POST of login and password), the same for every page of ours: CSRF first,
    then the per-address limit, then the account (argon2, lockout) and its role; on success a fresh
    session with a new CSRF token. `msgs` holds the plain sentences: csrf, rate, bad, locked."""
    if not csrf_ok:
        return JSONResponse({"ok": False, "message": msgs["csrf"]}, status_code=403)
    addr = request.client.host if request.client else "?"
    if not limiter.allow(addr):
        return JSONResponse({"ok": False, "message": msgs["rate"]}, status_code=429)
    try:
        body = await request.json()
        login, password = str(body.get("login", ""))[:64], str(body.get("password", ""))[:256]
    except (ValueError, AttributeError):
        return JSONResponse({"ok": False, "message": msgs["bad"]}, status_code=400)
    try:
        staff = await run_in_threadpool(check, login, password)
    except Locked as exc:
        log.warning("sign-in of %s refused: locked", login)
        return JSONResponse({"ok": False, "message": msgs["locked"].format(m=max(1, exc.seconds // 60))},
                            status_code=429)
    if staff is None or (roles is not None and staff.role not in roles):
        log.info("failed sign-in for %r from %s", login, addr)
        return JSONResponse({"ok": False, "message": msgs["bad"]}, status_code=401)
    request.session.clear()
    request.session.update({"login": staff.login, "csrf": secrets.token_urlsafe(24), "lang": lang,
                            "since": int(time.time())})
    log.info("%s signed in from %s", staff.login, addr)
    return JSONResponse({"ok": True, "next": next_url})


class Streams:
    """Live-state subscribers: each SSE stream has a set of changed parts and a wake-up event.

    A changed part is encoded once for every stream (per clerk for "day"), not once per stream:
    40 consoles cost one JSON encoding of the waiting list, not forty.
    """

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._clients: set["_Client"] = set()
        self._lock = threading.Lock()
        self._encoded: dict[tuple[str, str], bytes] = {}  # event loop only
        self.closing = False

    def encoded(self, key: str, staff: str, value: Callable[[], Any]) -> bytes:
        """The SSE frame of part `key` (event loop only; dropped by the next change of `key`)."""
        slot = (key, staff if key == "day" else "")
        frame = self._encoded.get(slot)
        if frame is None:
            frame = self._encoded[slot] = _sse("part", {"key": key, "value": value()})
        return frame

    def changed(self, key: str) -> None:
        """From the bus thread: `key` changed; the streams are told on their own event loop."""
        loop = self.loop
        if loop is not None and len(self):
            loop.call_soon_threadsafe(self._mark, key)

    def _mark(self, key: str) -> None:
        """On the event loop (so a stream swapping its dirty set never loses a key)."""
        for slot in [s for s in self._encoded if s[0] == key]:
            del self._encoded[slot]
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            c.dirty.add(key)
            c.wake.set()

    def add(self) -> "_Client":
        c = _Client()
        with self._lock:
            self._clients.add(c)
        return c

    def remove(self, c: "_Client") -> None:
        with self._lock:
            self._clients.discard(c)

    def __len__(self) -> int:
        with self._lock:
            return len(self._clients)

    def wake_all(self) -> None:
        loop = self.loop
        if loop is not None:
            with self._lock:
                clients = list(self._clients)
            loop.call_soon_threadsafe(lambda: [c.wake.set() for c in clients])


class _Client:
    def __init__(self) -> None:
        self.dirty: set[str] = set()
        self.wake = asyncio.Event()


class Console:
    def __init__(self, cfg: OfficeConfig, view: OfficeView, store_factory: Callable[[], StaffStore | None],
                 send: Sender, secret: str, *, https: bool = False) -> None:
        self.cfg = cfg
        self.web = cfg.web
        self.view = view
        self.store_factory = store_factory
        self.send = send
        self.limiter = LoginLimiter(cfg.web.login_attempts_per_min)
        self.streams = Streams()
        view.listeners.append(self.streams.changed)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self._store_lock = threading.Lock()
        routes = [
            Route("/", self.index),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/lang/{lang}", self.set_lang, methods=["POST"]),
            Route("/console", self.console_page),
            Route("/api/state", self.state),
            Route("/api/events", self.events),
            Route("/api/counter/{counter}", self.action, methods=["POST"]),
            Route("/healthz", self.healthz),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ]
        middleware = [Middleware(SessionMiddleware, secret_key=secret, session_cookie="motcua_session",
                                 max_age=int(cfg.web.session_hours * 3600), same_site="strict",
                                 https_only=https)]
        self.app = Starlette(routes=routes, middleware=middleware)
        self.app.add_middleware(_Headers)

    # ------------------------------------------------------------------ helpers

    def _staff_lookup(self, login: str) -> Staff | None:
        with self._store_lock:
            store = self.store_factory()
            return store.get(login) if store is not None else None

    def _check_password(self, login: str, password: str) -> Staff | None:
        with self._store_lock:
            store = self.store_factory()
            if store is None:
                return None
            return store.check_password(login, password)

    def user(self, request: Request) -> Staff | None:
        login = request.session.get("login")
        if not login:
            return None
        staff = self._staff_lookup(login)
        if staff is None or staff.disabled:
            request.session.clear()
            return None
        return staff

    @staticmethod
    def lang(request: Request) -> str:
        return "en" if request.session.get("lang") == "en" else "vi"

    @staticmethod
    def csrf(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = request.session["csrf"] = secrets.token_urlsafe(24)
        return token

    @staticmethod
    def csrf_ok(request: Request) -> bool:
        sent = request.headers.get("x-csrf-token", "")
        token = request.session.get("csrf") or ""
        if not token or not hmac.compare_digest(sent.encode(), token.encode()):
            return False
        origin = request.headers.get("origin")
        if origin and origin.split("://", 1)[-1] != request.headers.get("host", ""):
            return False
        return True

    def counters_for(self, staff: Staff) -> list[dict[str, Any]]:
        return [{"number": c.number, "name": c.label, "services": list(c.services)}
                for c in self.cfg.counters if staff.may_open(c.number)]

    def _json_error(self, request: Request, key: str, status: int, **fmt: Any) -> JSONResponse:
        return JSONResponse({"ok": False, "message": texts.ERRORS[self.lang(request)][key].format(**fmt)},
                            status_code=status)

    # ------------------------------------------------------------------ pages

    async def index(self, request: Request) -> Response:
        return RedirectResponse("/console" if request.session.get("login") else "/login", status_code=303)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "streams": len(self.streams)})

    async def login_page(self, request: Request) -> Response:
        lang = self.lang(request)
        return self.templates.TemplateResponse(request, "login.html", {
            "t": texts.UI[lang], "lang": lang, "csrf": self.csrf(request), "office": self.cfg.office.name})

    async def login(self, request: Request) -> Response:
        return await sign_in(request, self._check_password, self.limiter, texts.LOGIN_ERRORS[self.lang(request)],
                             csrf_ok=self.csrf_ok(request), lang=self.lang(request), next_url="/console")

    async def logout(self, request: Request) -> Response:
        if not self.csrf_ok(request):
            return self._json_error(request, "csrf", 403)
        lang = self.lang(request)
        request.session.clear()
        request.session["lang"] = lang
        return JSONResponse({"ok": True, "next": "/login"})

    async def set_lang(self, request: Request) -> Response:
        if not self.csrf_ok(request):
            return self._json_error(request, "csrf", 403)
        request.session["lang"] = "en" if request.path_params["lang"] == "en" else "vi"
        return JSONResponse({"ok": True})

    async def console_page(self, request: Request) -> Response:
        staff = await run_in_threadpool(self.user, request)
        if staff is None:
            return RedirectResponse("/login", status_code=303)
        lang = self.lang(request)
        boot = {
            "me": {"login": staff.login, "name": staff.name, "role": staff.role},
            "counters": self.counters_for(staff),
            "all_counters": [{"number": c.number, "name": c.label} for c in self.cfg.counters],
            "services": [{"code": s.code, "name": s.name} for s in self.cfg.services if s.enabled],
            "reasons": list(self.web.pause_reasons), "lang": lang, "t": texts.UI[lang],
            "priority": texts.PRIORITY[lang],
        }
        return self.templates.TemplateResponse(request, "console.html", {
            "t": texts.UI[lang], "lang": lang, "csrf": self.csrf(request), "me": staff,
            "office": self.cfg.office.name, "boot": json.dumps(boot, ensure_ascii=False).replace("<", "\\u003c")})

    # ------------------------------------------------------------------ live state

    async def state(self, request: Request) -> Response:
        staff = await run_in_threadpool(self.user, request)
        if staff is None:
            return self._json_error(request, "auth", 401)
        return JSONResponse({**self.view.snapshot(staff.name), "now": time.time()})

    async def events(self, request: Request) -> Response:
        staff = await run_in_threadpool(self.user, request)
        if staff is None:
            return self._json_error(request, "auth", 401)
        if self.streams.loop is None:
            self.streams.loop = asyncio.get_running_loop()
        client = self.streams.add()
        name = staff.name

        async def stream() -> AsyncIterator[bytes]:
            try:
                snap = {**self.view.snapshot(name), "now": time.time()}
                yield b"retry: 2000\n\n" + _sse("snapshot", snap)
                while not self.streams.closing:
                    try:
                        await asyncio.wait_for(client.wake.wait(), SSE_PING_S)
                    except asyncio.TimeoutError:
                        if await run_in_threadpool(self.user, request) is None:
                            return  # disabled (or signed out) meanwhile: no more live state
                        yield b": ping\n\n"
                        continue
                    client.wake.clear()
                    keys, client.dirty = client.dirty, set()
                    for key in sorted(keys):
                        yield self.streams.encoded(key, name, lambda k=key: self.view.part(k, name))
            finally:
                self.streams.remove(client)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    # ------------------------------------------------------------------ actions

    async def action(self, request: Request) -> Response:
        lang = self.lang(request)
        if not self.csrf_ok(request):
            log.warning("action refused: bad CSRF token from %s", request.client.host if request.client else "?")
            return self._json_error(request, "csrf", 403)
        staff = await run_in_threadpool(self.user, request)
        if staff is None:
            return self._json_error(request, "auth", 401)
        try:
            number = int(request.path_params["counter"])
        except ValueError:
            return self._json_error(request, "no_counter", 404, n=request.path_params["counter"][:8])
        counter = self.cfg.counter(number)
        if counter is None:
            return self._json_error(request, "no_counter", 404, n=number)
        if not staff.may_open(number):
            log.warning("%s refused on counter %d (not theirs)", staff.login, number)
            return self._json_error(request, "forbidden", 403, counter=counter.label)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            return self._json_error(request, "bad", 400, detail="JSON")
        fields, problem, target = self._fields(body)
        if problem:
            return self._json_error(request, "bad", 400, detail=problem)
        rid = str(body.get("rid", ""))
        if not RID_RE.match(rid):
            return self._json_error(request, "bad", 400, detail="rid")
        fields.update({"staff_login": staff.login, "staff": staff.name})
        try:
            reply = await run_in_threadpool(self.send, number, fields, f"web:{staff.login}:{rid}")
        except RequestTimeout:
            return self._json_error(request, "unavailable", 503)
        if not reply.get("ok"):
            err = reply.get("error") or {}
            message = texts.refusal(lang, err.get("code"), err.get("message") or "")
            return JSONResponse({"ok": False, "code": err.get("code"), "message": message}, status_code=409)
        msg = texts.answer(lang, fields["action"], counter.label, reply, fields, target)
        return JSONResponse({"ok": True, "message": msg, "counter": reply.get("counter"),
                             "ticket": reply.get("ticket")})

    def _fields(self, body: dict[str, Any]) -> tuple[dict[str, Any], str | None, str | None]:
        """The counter command for a console request, or what is wrong with it."""
        action = body.get("action")
        if action not in ACTIONS:
            return {}, "action", None
        fields: dict[str, Any] = {"action": action}
        target = None
        if action == "pause":
            reason = body.get("reason")
            if reason is not None:
                if not isinstance(reason, str) or len(reason) > 100:
                    return {}, "reason", None
                fields["reason"] = unicodedata.normalize("NFC", reason.strip()) or None
        elif action == "transfer":
            svc, to = body.get("service"), body.get("to_counter")
            if svc:
                s = self.cfg.service(str(svc))
                if s is None:
                    return {}, "service", None
                fields["service"], target = s.code, s.name
            elif to not in (None, ""):
                try:
                    c = self.cfg.counter(int(to))
                except (TypeError, ValueError):
                    c = None
                if c is None:
                    return {}, "to_counter", None
                fields["to_counter"], target = c.number, c.label
            else:
                return {}, "service / to_counter", None
        elif action == "call":
            n = str(body.get("number", "")).strip()
            if not NUMBER_RE.match(n):
                return {}, "number", None
            fields["number"] = n
        return fields, None, target


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


class _Headers:
    """Security headers on every response: no framing, no foreign scripts, no caching of pages."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"same-origin"),
                            (b"content-security-policy",
                             b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                else:
                    headers.append((b"cache-control", b"max-age=3600"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
