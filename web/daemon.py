"""The `web` daemon: the clerks' console in the browser (`motcua web CONFIG`).

It speaks to the office only through MQTT with its own broker user `web` (counter
commands as requests, `queue/waiting` to seed the waiting list; retained counter and
queue state and ticket events in), keeps its own view of them (web/view.py) and pushes
changes to every open console over Server-Sent Events. uvicorn serves the Starlette app
on the office LAN address from `[web]`, with HTTPS when a certificate is configured.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from edge import protocol as P
from edge.bus import RequestTimeout
from edge.daemon import DaemonContext
from edge.staff import StaffStore, claim_key, sign_claim, store_path
from web.app import Console
from web.manager import Alerts, ManagerDesk
from web.staff_admin import StaffAdmin
from web.phone import TicketPages
from web.reports_page import ReportsPage
from web.technician import TechnicianDesk
from web.tickets import TicketBook
from web.view import OfficeView

log = logging.getLogger(__name__)

RESYNC_S = 60.0


def session_secret(path: Path) -> str:
    """The cookie signing key: made once (0600) so sign-ins survive a restart."""
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= 32:
            return key
        raise ValueError(f"{path}: the session key must be at least 32 characters")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key


class WebDaemon:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.topics = ctx.topics
        self.bus = ctx.bus()
        self.view = OfficeView()
        self._store: StaffStore | None = None
        self._store_path = store_path(ctx.data_dir)
        self._claim_key = claim_key(ctx.data_dir, create=True)
        web = self.cfg.web
        secret_file = Path(web.session_secret_file) if web.session_secret_file else ctx.state_dir / "session.key"
        self.console = Console(self.cfg, self.view, self._staff_store, self._send, session_secret(secret_file),
                               https=web.tls_cert is not None)
        self.app = self.console.app
        self.book = TicketBook()
        self.phones = TicketPages(self.cfg.office.name, self.book)
        self.app.router.routes[:0] = self.phones.routes()  # public pages, before the console's
        self.alerts = Alerts(ctx.clock.now)
        self.manager = ManagerDesk(self.console, self.alerts, self.topics.display_notice,
                                   lambda topic, payload: self.bus.publish(topic, payload, retain=True),
                                   schedule_path=ctx.state_dir / "notices.json", now=ctx.clock.now)
        self.app.router.routes[:0] = self.manager.routes() + StaffAdmin(self.console).routes()
        self.technician = TechnicianDesk(self.console, ctx.config_path, ctx.state_dir / "config-history.jsonl",
                                         self._reload_engine, self._config_applied)
        self.app.router.routes[:0] = self.technician.routes()
        self.reports = ReportsPage(self.console, ctx.config_path, ctx.data_dir, ctx.state_dir / "reports")
        self.app.router.routes[:0] = self.reports.routes()
        self._stop = threading.Event()
        self._resync = threading.Event()
        self.sock = socket.socket(socket.AF_INET6 if ":" in web.bind else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((web.bind, web.port))
        except OSError as exc:  # a clear line for the journal instead of a traceback
            self.sock.close()
            raise SystemExit(f"motcua web: cannot listen on {web.bind}:{web.port} ([web] bind/port): {exc}") from None
        self.sock.listen(128)  # browsers that connect before uvicorn is up wait in the backlog
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False,
                                ssl_certfile=web.tls_cert, ssl_keyfile=web.tls_key,
                                timeout_graceful_shutdown=2, timeout_keep_alive=30)
        self.server = uvicorn.Server(config)
        self._http = threading.Thread(target=self._serve, name="web-http", daemon=True)
        self._sync = threading.Thread(target=self._sync_loop, name="web-sync", daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.cfg.web.tls_cert else "http"
        host = self.cfg.web.bind if self.cfg.web.bind not in ("0.0.0.0", "::") else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        t = self.topics
        self.bus.subscribe(t.counter_state_all, self._on_counter)
        self.bus.subscribe(t.queue_state, self._on_queue)
        self.bus.subscribe(t.ticket_event_all, self._on_ticket)
        self.bus.subscribe(t.device_status_all, self._on_device)
        self.bus.subscribe(t.rating_event, self._on_rating)
        self.bus.subscribe(t.display_notice, lambda topic, payload: self.manager.set_notice(payload))
        self.bus.on_connect(self._resync.set)
        self.bus.set_status("ok", {"url": self.url})
        self.bus.start()
        self._http.start()
        self._sync.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self._http.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            log.error("web server did not start (see the errors above)")
            self.bus.set_status("error", {"url": self.url, "error": "HTTP server did not start"})
            return
        self.manager.start()
        log.info("web console on %s", self.url)

    def stop(self) -> None:
        self._stop.set()
        self._resync.set()
        for streams in (self.console.streams, self.phones.streams, self.manager.streams):
            streams.closing = True
            streams.wake_all()
        self.server.should_exit = True
        self._http.join(timeout=5)
        self._sync.join(timeout=5)
        self.manager.stop()
        self.bus.stop()
        if self._store is not None:
            self._store.close()

    def healthy(self) -> bool:
        return self._http.is_alive() and self._sync.is_alive()

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except Exception:  # noqa: BLE001 - reported through health and the log
            log.exception("web server stopped")

    # ------------------------------------------------------------------ office in

    def _on_counter(self, topic: str, payload: bytes) -> None:
        if not payload:
            return
        st = self.bus.parse_payload(topic, payload, P.CounterState)
        if st is not None:
            self.view.set_counter(st.wire())

    def _on_queue(self, topic: str, payload: bytes) -> None:
        if not payload:
            return
        st = self.bus.parse_payload(topic, payload, P.QueueState)
        if st is not None:
            self.view.set_queue(st.wire())
            self.book.set_queue(st.wire())

    def _on_ticket(self, topic: str, payload: bytes) -> None:
        ev = self.bus.parse_payload(topic, payload, P.TicketEvent)
        if ev is not None:
            self.view.ticket_event(self.topics.last_level(topic), ev.wire())
            self.book.ticket_event(self.topics.last_level(topic), ev.wire())

    def _on_rating(self, topic: str, payload: bytes) -> None:
        ev = self.bus.parse_payload(topic, payload, P.RatingEvent)
        if ev is not None:
            self.manager.ratings.event(ev.wire())

    def _on_device(self, topic: str, payload: bytes) -> None:
        if not payload or topic == self.topics.device_status("web"):
            return
        st = self.bus.parse_payload(topic, payload, P.DeviceStatus)
        if st is not None:
            self.alerts.device_status(st.wire())

    def _sync_loop(self) -> None:
        """Seed (and every minute re-check) the waiting list from the engine."""
        while not self._stop.is_set():
            self._resync.wait(RESYNC_S)
            self._resync.clear()
            if self._stop.is_set():
                return
            try:
                reply = self.bus.request(self.topics.queue_waiting, {}, timeout=2.0, retries=2)
            except RequestTimeout:
                log.warning("engine did not answer the waiting-list request; retrying soon")
                self._stop.wait(2.0)
                self._resync.set()
                continue
            if reply.get("ok"):
                self.view.set_waiting(reply.get("day") or "", reply.get("tickets") or [], reply.get("staff_day"))
                self._seed_book(reply)

    def _seed_book(self, reply: dict[str, Any]) -> None:
        """The ticket pages need every waiting ticket: ask per service when one list was cut short."""
        self.book.set_waiting(reply.get("day") or "", reply.get("tickets") or [])
        if int(reply.get("total") or 0) <= len(reply.get("tickets") or []):
            return
        for svc in self.cfg.services:
            try:
                r = self.bus.request(self.topics.queue_waiting, {"services": [svc.code], "limit": 200},
                                     timeout=2.0, retries=2)
            except RequestTimeout:
                log.warning("engine did not answer the waiting list of %s", svc.code)
                continue
            if r.get("ok"):
                self.book.set_waiting(r.get("day") or "", r.get("tickets") or [])

    # ------------------------------------------------------------------ office out

    def _send(self, counter: int, fields: dict[str, Any], req_id: str) -> dict[str, Any]:
        """A counter command naming the signed-in clerk, signed so the engine believes the name."""
        login = fields.get("staff_login")
        if login and self._claim_key:
            ts = int(time.time())
            fields = {**fields, "staff_ts": ts, "staff_sig": sign_claim(self._claim_key, req_id, counter, login, ts)}
        return self.bus.request(self.topics.counter_command(counter), fields, timeout=1.5, retries=3,
                                req_id=req_id)

    def _reload_engine(self) -> dict[str, Any]:
        """The engine's own reload (admin/engine): it re-reads the file and keeps the day's queue."""
        return self.bus.request(self.topics.engine_admin, {"action": "reload"}, timeout=5.0, retries=2)

    def _config_applied(self, cfg: Any) -> None:
        self.cfg = self.console.cfg = self.manager.cfg = cfg

    def _staff_store(self) -> StaffStore | None:
        if self._store is None and self._store_path.exists():
            self._store = StaffStore(self._store_path, create=False)
        return self._store


def create(ctx: DaemonContext) -> WebDaemon:
    return WebDaemon(ctx)
