"""`motcua central-web CONFIG`: the province's page, every office at once (Starlette on uvicorn).

The browser is a client of two small JSON endpoints (`/api/offices`, `/api/figures`) that this
daemon answers from the central store; it never sees the database. Sign-in uses the same staff
accounts, hashing, lockout, signed cookies and CSRF rules as the clerks' console (web/), with
accounts kept in the central's own data folder (`motcua staff --data DIR ...`); managers and
technicians may sign in.
"""
from __future__ import annotations

import logging
import socket
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from central import api
from central.config import CentralConfig
from edge.staff import StaffStore, store_path
from web.app import Console, LoginLimiter, _Headers, sign_in
from web.daemon import session_secret

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
WEB = HERE.parent / "web"
ROLES = ("manager", "technician")

TEXTS = {
    "vi": {"title": "Các trung tâm phục vụ hành chính công", "login": "Đăng nhập", "user": "Tên đăng nhập",
           "password": "Mật khẩu", "other_lang": "English", "logout": "Đăng xuất",
           "office": "Trung tâm", "link": "Kết nối", "up": "Đang kết nối", "down": "Mất kết nối",
           "open": "Quầy mở", "paused": "Tạm dừng", "waiting": "Đang chờ", "longest": "Chờ lâu nhất",
           "devices": "Thiết bị hỏng / mất kết nối", "version": "Phiên bản", "never": "chưa từng báo về",
           "figures": "Số liệu", "from": "Từ ngày", "to": "Đến ngày", "by": "Theo",
           "by_office": "Trung tâm", "by_field": "Lĩnh vực", "show": "Xem", "tickets": "Số phiếu",
           "mean_wait": "Chờ trung bình", "mean_service": "Phục vụ trung bình", "no_show": "Vắng mặt",
           "satisfied": "Hài lòng", "minutes": "phút", "none": "—", "summary": "{up} trung tâm đang kết nối, {down} mất kết nối",
           "bad": "Sai tên đăng nhập hoặc mật khẩu.", "locked": "Tài khoản tạm khóa do nhập sai nhiều lần. Thử lại sau {m} phút.",
           "rate": "Thử đăng nhập quá nhiều lần. Vui lòng chờ một phút.", "csrf": "Phiên làm việc đã hết hạn, vui lòng tải lại trang.",
           "bad_period": "Khoảng thời gian không hợp lệ: ngày bắt đầu phải trước ngày kết thúc, tối đa một năm.",
           "db": "Chưa đọc được kho dữ liệu của tỉnh, vui lòng thử lại sau.", "updated": "Cập nhật lúc"},
    "en": {"title": "Public service centres of the province", "login": "Sign in", "user": "Login",
           "password": "Password", "other_lang": "Tiếng Việt", "logout": "Sign out",
           "office": "Centre", "link": "Link", "up": "Connected", "down": "Unreachable",
           "open": "Open counters", "paused": "Paused", "waiting": "Waiting", "longest": "Longest wait",
           "devices": "Devices down", "version": "Version", "never": "never reported",
           "figures": "Figures", "from": "From", "to": "To", "by": "By",
           "by_office": "Centre", "by_field": "Field", "show": "Show", "tickets": "Tickets",
           "mean_wait": "Mean wait", "mean_service": "Mean service", "no_show": "No-shows",
           "satisfied": "Satisfied", "minutes": "min", "none": "—", "summary": "{up} centres connected, {down} unreachable",
           "bad": "Wrong login or password.", "locked": "Account locked after too many failures. Try again in {m} min.",
           "rate": "Too many sign-in attempts. Please wait a minute.", "csrf": "The page has expired, please reload it.",
           "bad_period": "Invalid period: the start must come before the end, at most a year.",
           "db": "The province's store cannot be read yet, please try again.", "updated": "Updated at"},
}


class ProvinceApp:
    def __init__(self, cfg: CentralConfig, dsn: str, data_dir: Path, secret: str, *, https: bool = False) -> None:
        self.cfg = cfg
        self.dsn = dsn
        self.staff = StaffStore(store_path(data_dir))
        self.limiter = LoginLimiter(cfg.web.login_attempts_per_min)
        # the sign-in page is the console's own template (web/templates/login.html)
        self.templates = Jinja2Templates(directory=[str(HERE / "templates"), str(WEB / "templates")])
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        routes = [
            Route("/", lambda r: RedirectResponse("/province", status_code=303)),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/lang/{lang}", self.set_lang, methods=["POST"]),
            Route("/province", self.page),
            Route("/api/offices", self.offices),
            Route("/api/figures", self.figures),
            Mount("/static", StaticFiles(directory=str(WEB / "static")), name="static"),
            Mount("/pstatic", StaticFiles(directory=str(HERE / "static")), name="pstatic"),
        ]
        middleware = [Middleware(SessionMiddleware, secret_key=secret, session_cookie="motcua_province",
                                 max_age=12 * 3600, same_site="strict", https_only=https)]
        self.app = Starlette(routes=routes, middleware=middleware)
        self.app.add_middleware(_Headers)

    # ---------------------------------------------------------------- helpers

    lang = staticmethod(Console.lang)
    csrf = staticmethod(Console.csrf)
    csrf_ok = staticmethod(Console.csrf_ok)

    def user(self, request: Request) -> Any:
        login = request.session.get("login")
        if not login:
            return None
        with self._lock:
            staff = self.staff.get(login)
        if staff is None or staff.disabled or staff.role not in ROLES:
            request.session.clear()
            return None
        return staff

    def _query(self, fn: Any, *args: Any) -> Any:
        """Run one read on the shared connection, reconnecting once if the database went away."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
                    return fn(self._conn, *args)
                except psycopg.OperationalError:
                    self._conn = None
                    if attempt == 2:
                        raise
        return None

    # ---------------------------------------------------------------- pages

    async def login_page(self, request: Request) -> Response:
        lang = self.lang(request)
        return self.templates.TemplateResponse(request, "login.html", {
            "t": TEXTS[lang], "lang": lang, "csrf": self.csrf(request), "office": self.cfg.province})

    async def login(self, request: Request) -> Response:
        def check(login: str, password: str) -> Any:
            with self._lock:
                return self.staff.check_password(login, password)
        return await sign_in(request, check, self.limiter, TEXTS[self.lang(request)], csrf_ok=self.csrf_ok(request),
                             lang=self.lang(request), next_url="/province", roles=ROLES)

    async def logout(self, request: Request) -> Response:
        if not self.csrf_ok(request):
            return JSONResponse({"ok": False}, status_code=403)
        lang = self.lang(request)
        request.session.clear()
        request.session["lang"] = lang
        return JSONResponse({"ok": True, "next": "/login"})

    async def set_lang(self, request: Request) -> Response:
        if not self.csrf_ok(request):
            return JSONResponse({"ok": False}, status_code=403)
        request.session["lang"] = "en" if request.path_params["lang"] == "en" else "vi"
        return JSONResponse({"ok": True})

    async def page(self, request: Request) -> Response:
        staff = await run_in_threadpool(self.user, request)
        if staff is None:
            return RedirectResponse("/login", status_code=303)
        lang = self.lang(request)
        today = date.today()
        return self.templates.TemplateResponse(request, "province.html", {
            "t": TEXTS[lang], "lang": lang, "csrf": self.csrf(request), "province": self.cfg.province,
            "me": staff.name, "today": today.isoformat(), "week_ago": (today - timedelta(days=6)).isoformat()})

    async def offices(self, request: Request) -> Response:
        if await run_in_threadpool(self.user, request) is None:
            return JSONResponse({"ok": False}, status_code=401)
        try:
            data = await run_in_threadpool(self._query, api.overview, self.cfg.stale_after_s)
        except psycopg.Error as exc:
            log.warning("overview failed: %s", exc)
            return JSONResponse({"ok": False, "message": TEXTS[self.lang(request)]["db"]}, status_code=503)
        return JSONResponse({"ok": True, **data})

    async def figures(self, request: Request) -> Response:
        if await run_in_threadpool(self.user, request) is None:
            return JSONResponse({"ok": False}, status_code=401)
        t = TEXTS[self.lang(request)]
        q = request.query_params
        try:
            start, end = date.fromisoformat(q.get("from", "")), date.fromisoformat(q.get("to", ""))
            by = q.get("by", "office")
            if end < start or (end - start).days > 366 or by not in ("office", "field"):
                raise ValueError
        except ValueError:
            return JSONResponse({"ok": False, "message": t["bad_period"]}, status_code=400)
        try:
            data = await run_in_threadpool(self._query, api.figures, start, end, by)
        except psycopg.Error as exc:
            log.warning("figures failed: %s", exc)
            return JSONResponse({"ok": False, "message": t["db"]}, status_code=503)
        return JSONResponse({"ok": True, **data})


class ProvinceWeb:
    """The daemon: uvicorn serving ProvinceApp on the configured address."""

    def __init__(self, cfg: CentralConfig, dsn: str) -> None:
        w = cfg.web
        data = Path(w.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        secret = session_secret(data / "province-session.key")
        self.province = ProvinceApp(cfg, dsn, data, secret, https=w.tls_cert is not None)
        self.sock = socket.socket(socket.AF_INET6 if ":" in w.bind else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((w.bind, w.port))
        self.port: int = self.sock.getsockname()[1]
        host = w.bind if w.bind not in ("0.0.0.0", "::") else "127.0.0.1"
        self.url = f"{'https' if w.tls_cert else 'http'}://{host}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(
            self.province.app, log_level="warning", lifespan="off", access_log=False,
            ssl_certfile=w.tls_cert, ssl_keyfile=w.tls_key, timeout_graceful_shutdown=2))
        self._http = threading.Thread(target=self._serve, name="province-http", daemon=True)

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except Exception:  # noqa: BLE001 - reported through health and the log
            log.exception("province web server stopped")

    def start(self) -> None:
        self._http.start()
        log.info("province page on %s", self.url)

    def stop(self) -> None:
        self.server.should_exit = True
        self._http.join(timeout=5)
        self.province.staff.close()

    def healthy(self) -> bool:
        return self._http.is_alive()

