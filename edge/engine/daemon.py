"""The engine daemon: MQTT requests in, one SQLite writer, replies/events/state out.

Requests are group-committed: the commit thread takes every request waiting, runs each in
its own savepoint inside one BEGIN IMMEDIATE transaction, commits once, and only then
publishes replies and events (so a ticket is never printed before it is durable).
Queue state snapshots are coalesced so that a burst of changes publishes few of them.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from edge import protocol as P
from edge.broker import acl_rules, role_of
from edge.config import ConfigError, load
from edge.daemon import DaemonContext, StartupError
from edge.engine import store
from edge.engine.attribution import Attribution
from edge.engine.errors import EngineError
from edge.engine import track
from edge.engine.queue import Effects, QueueEngine
from edge.i18n import t
from edge.limits import RateLimiter, clean_text

log = logging.getLogger(__name__)

BATCH_MAX = 128
#: Tickets one kiosk account may take: a person at a touch screen takes far fewer; a flood
#: must not use up the day's quota (admin and the simulator are not limited).
ISSUE_RATE_PER_MIN = 20
UNLIMITED_ROLES = ("admin", "simulator")
REPLY_TTL_S = 24 * 3600
QUEUE_STATE_MIN_INTERVAL_S = 0.05

try:  # ratings are an optional module of the engine (issue 6)
    from edge.engine import ratings as _ratings
except ImportError:  # pragma: no cover - present in full builds
    _ratings = None  # type: ignore[assignment]


class AdminRequest(P.Request):
    action: Literal["reload", "cancel", "snapshot"]
    ticket_id: str | None = Field(default=None, max_length=64)


class Engine:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.clock = ctx.clock
        self.topics = ctx.topics
        self.db_path: Path = ctx.state_dir / "engine.db"
        try:
            self.conn = store.open_checked(self.db_path)
        except store.DatabaseUnusable as exc:
            raise StartupError(str(exc)) from None
        store.create_schema(self.conn)
        with store.immediate(self.conn):
            for c in self.cfg.counters:
                self.conn.execute("INSERT OR IGNORE INTO counters(number, status) VALUES (?, 'closed')", (c.number,))
            track_key = track.ensure_key(self.conn)
        self.rconn = store.connect(self.db_path)
        from edge.staff import store_path
        self.attribution = Attribution(store_path(ctx.data_dir), ctx.data_dir)
        self.q = QueueEngine(self.cfg, self.conn, self.attribution, track_key)
        self.rq = QueueEngine(self.cfg, self.rconn, track_key=track_key)
        self.bus = ctx.bus(persistent=True)  # requests sent during a restart wait at the broker
        self.bus.check_requesters(acl_rules(self.cfg))
        self.inbox: queue.Queue[tuple[str, Any, str] | None] = queue.Queue()
        self._stop = threading.Event()
        self._dirty = threading.Condition()
        self._dirty_counters: set[int] = set()
        self._dirty_queue = False
        self._last_queue_pub = 0.0
        self._last_queue_payload: dict[str, Any] | None = None
        self._threads = [
            threading.Thread(target=self._commit_loop, name="engine-commit", daemon=True),
            threading.Thread(target=self._publish_loop, name="engine-publish", daemon=True),
            threading.Thread(target=self._tick_loop, name="engine-tick", daemon=True),
        ]
        self.healthy_flag = True
        self._behind = False  # the office clock is before the stored day
        self.issue_limit = RateLimiter(ISSUE_RATE_PER_MIN)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        t = self.topics
        self.bus.subscribe(t.ticket_issue, self._receiver("issue", P.IssueRequest), inline=True)
        self.bus.subscribe(t.counter_command_all, self._receiver("command", P.CounterCommand), inline=True)
        self.bus.subscribe(t.engine_admin, self._receiver("admin", AdminRequest), inline=True)
        self.bus.subscribe(t.queue_waiting, self._receiver("waiting", P.WaitingRequest), inline=True)
        if _ratings is not None:
            self.bus.subscribe(t.rating_submit, self._receiver("rating", P.RatingRequest), inline=True)
        self.bus.on_connect(lambda: self._mark(set(c.number for c in self.cfg.counters), True))
        self.inbox.put(("tick", None, ""))  # roll the day over before the first request
        self._mark({c.number for c in self.cfg.counters}, True)
        self.bus.set_status("ok", {"db": str(self.db_path)})
        self.bus.publish(self.topics.office_info, self._office_info(), retain=True)
        for th in self._threads:
            th.start()
        self.bus.start()

    def _office_info(self) -> P.OfficeInfo:
        """What the province's central view shows of this office (version and config)."""
        import hashlib
        import socket
        from importlib import metadata
        try:
            version = metadata.version("motcua")
        except metadata.PackageNotFoundError:
            version = "unknown"
        path = self.ctx.config_path
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path and path.exists() else ""
        now = P.rfc3339(self.clock.now())
        return P.OfficeInfo(office=self.cfg.office.id, name=self.cfg.office.name, version=version,
                            config_sha256=digest, services=len(self.cfg.services), counters=len(self.cfg.counters),
                            devices=len(self.cfg.devices),
                            fields={s.code: s.field or s.name for s in self.cfg.services},
                            host=socket.gethostname(), started_at=now, ts=now)

    def stop(self) -> None:
        self._stop.set()
        self.inbox.put(None)
        with self._dirty:
            self._dirty.notify_all()
        for th in self._threads:
            th.join(timeout=5)
        self.bus.stop()
        self.conn.close()
        self.rconn.close()
        self.attribution.close()

    def healthy(self) -> bool:
        return self.healthy_flag and all(th.is_alive() for th in self._threads)

    # ------------------------------------------------------------------ intake

    def _receiver(self, kind: str, model: type[P.Request]):
        def receive(topic: str, payload: bytes) -> None:
            req = self.bus.parse_request(topic, payload, model)
            if req is not None:
                self.inbox.put((kind, _clean(req), topic))

        return receive

    # ------------------------------------------------------------------ the single writer

    def _commit_loop(self) -> None:
        while True:
            item = self.inbox.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < BATCH_MAX:
                try:
                    nxt = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self.inbox.put(None)
                    break
                batch.append(nxt)
            try:
                self._commit_batch(batch)
            except Exception:
                log.exception("engine transaction failed")

    def _commit_batch(self, batch: list[tuple[str, Any, str]]) -> None:
        replies: list[tuple[str, dict[str, Any]]] = []
        extra: list[tuple[str, dict[str, Any]]] = []
        fx = Effects()
        now = self.clock.now()
        try:
            with store.immediate(self.conn):
                fx.merge(self.q.rollover(now))
                behind = self._clock_behind(now)
                if behind is None:
                    fx.merge(self.q.auto_open(now))
                for kind, req, topic in batch:
                    if kind == "tick":
                        continue
                    if kind == "prune":
                        store.prune_replies(self.conn, time.time() - REPLY_TTL_S)
                        continue
                    if kind == "waiting":  # a read: nothing to make idempotent, nothing to store
                        replies.append((req.reply_to, P.ok_reply(req.id, **self.q.waiting_list(
                            now, req.services, req.limit))))
                        continue
                    if behind is not None and kind != "admin":
                        # Not remembered: once the clock is right, a retry is served.
                        replies.append((req.reply_to, P.error_reply(req.id, "unavailable", behind)))
                        continue
                    # Remembered per requester and topic: another device's id is not this one's.
                    key = store.request_key(self.bus.requester(req.reply_to), topic, req.id)
                    prev = store.stored_reply(self.conn, key)
                    if prev is not None:
                        replies.append((req.reply_to, prev))
                        continue
                    if kind == "issue" and not self._may_issue(req):
                        replies.append((req.reply_to, P.error_reply(
                            req.id, "rate_limited", t("Máy cấp số đang nhận quá nhiều yêu cầu; xin chờ ít phút rồi lấy số lại."))))
                        continue
                    try:
                        with store.savepoint(self.conn):
                            fields, f, ev = self._dispatch(kind, req, topic, now)
                            reply = P.ok_reply(req.id, **fields)
                            store.store_reply(self.conn, key, reply, time.time())
                        fx.merge(f)
                        extra.extend(ev)
                    except EngineError as exc:
                        reply = P.error_reply(req.id, exc.code, exc.message)
                        store.store_reply(self.conn, key, reply, time.time())
                        if kind == "issue" and exc.code in ("quota_reached", "service_closed"):
                            store.note_refusal(self.conn, self.q.day_of(now), req.service, exc.code, P.rfc3339(now))
                    except Exception:
                        log.exception("%s request %s on %s failed", kind, req.id, topic)
                        reply = P.error_reply(req.id, "internal")
                    replies.append((req.reply_to, reply))
        except Exception as exc:
            # The transaction did not commit (disk full, I/O error): nothing happened, say so.
            log.error("engine could not commit %d request(s): %s", len(batch), exc)
            self.healthy_flag = False
            self.bus.set_status("error", {"db": str(self.db_path), "error": str(exc)[:200]})
            for kind, req, _ in batch:
                if kind not in ("tick", "prune"):
                    self.bus.publish(req.reply_to, P.error_reply(req.id, "unavailable"))
            return
        if (not self.healthy_flag or self._behind) and behind is None:
            self.healthy_flag, self._behind = True, False
            self.bus.set_status("ok", {"db": str(self.db_path)})
        # After COMMIT only: replies, then events, then state.
        for reply_to, reply in replies:
            self.bus.publish(reply_to, reply)
        ts = P.rfc3339(now)
        for action, ticket, counter in fx.events:
            c = self.cfg.counter(counter) if counter is not None else None
            self.bus.publish(self.topics.ticket_event(action),
                             {"ticket": ticket, "counter": counter,
                              "counter_name": c.label if c else None, "ts": ts})
        for topic, payload in extra:
            self.bus.publish(topic, payload)
        if fx.stats is not None:
            # Retained, so a hub that is offline at midnight still gets the closed day's figures.
            self.bus.publish(self.topics.queue_stats_event, P.QueueStatsEvent.model_validate(fx.stats), retain=True)
        if fx.counters or fx.queue:
            self._mark(fx.counters, fx.queue)

    def _may_issue(self, req: Any) -> bool:
        """Per broker identity (the reply topic's user): never the requester's `source`."""
        who = self.bus.requester(req.reply_to)
        return role_of(who) in UNLIMITED_ROLES or self.issue_limit.allow(who)

    def _clock_behind(self, now) -> str | None:
        """The refusal while the office clock is before the stored day (set back), else None:
        tickets issued then would be numbered into a day that is already over."""
        stored = store.get_meta(self.conn, "day")
        today = self.q.day_of(now)
        if stored is None or stored <= today:
            return None
        if not self._behind:  # the daemon itself is fine (no restart would help): status says why
            log.error("office clock %s is before the stored day %s: refusing requests until it is set right",
                      today, stored)
            self._behind = True
            self.bus.set_status("error", {"db": str(self.db_path), "problem": "clock_behind",
                                          "stored_day": stored, "clock_day": today})
        return t("Đồng hồ của hệ thống ({today}) chậm hơn ngày làm việc đã lưu ({stored}); "
                 "xin báo kỹ thuật viên chỉnh lại giờ.", today=today, stored=stored)

    def _dispatch(self, kind: str, req: Any, topic: str, now) -> tuple[dict[str, Any], Effects, list]:
        if kind == "issue":
            fields, fx = self.q.issue(req.service, req.priority, req.source, now, req.dossier,
                                      req.person, req.age_bracket, req.appointment, req.slot_time())
            return fields, fx, []
        if kind == "command":
            raw = self.topics.counter_from_topic(topic)
            try:
                number = int(raw or "")
            except ValueError:
                raise EngineError("unknown_counter", t("Không có quầy \"{counter}\".", counter=raw)) from None
            fields, fx = self.q.command(number, req, now)
            return fields, fx, []
        if kind == "rating":
            tablet = self.cfg.device(role_of(self.bus.requester(req.reply_to)))
            if tablet is not None and tablet.kind == "tablet" and tablet.counter != req.counter:
                if tablet.counter is None:
                    raise EngineError("bad_request", t("Máy đánh giá này chưa được gán quầy, không đánh giá được "
                                                       "quầy {counter}.", counter=req.counter))
                raise EngineError("bad_request", t("Máy đánh giá này thuộc quầy {own}, không đánh giá được quầy "
                                                   "{counter}.", own=tablet.counter, counter=req.counter))
            key = store.request_key(self.bus.requester(req.reply_to), topic, req.id)
            fields = _ratings.submit(self.conn, req, now, key)
            event = _ratings.event(self.conn, fields["rating_id"], now)
            return fields, Effects(), [(self.topics.rating_event, event)]
        if kind == "admin":
            if role_of(self.bus.requester(req.reply_to)) == "web" and req.action != "reload":
                # the technician's page applies a saved config; nothing else of admin is the console's
                raise EngineError("bad_request", t("Bàn làm việc trên trình duyệt chỉ được nạp lại cấu hình."))
            return self._admin(req, now)
        raise EngineError("bad_request")

    def _admin(self, req: AdminRequest, now) -> tuple[dict[str, Any], Effects, list]:
        if req.action == "cancel":
            if not req.ticket_id:
                raise EngineError("bad_request", t("Thiếu mã vé cần hủy."))
            fields, fx = self.q.cancel(req.ticket_id, now)
            return fields, fx, []
        if req.action == "reload":
            path = self.ctx.config_path
            if path is None:
                raise EngineError("unavailable", t("Không biết tệp cấu hình để nạp lại."))
            try:
                cfg = load(path)
            except ConfigError as exc:
                raise EngineError("bad_request", t("Cấu hình lỗi: {error}", error=exc)) from None
            if cfg.office.id != self.cfg.office.id:
                raise EngineError("bad_request", t("Mã cơ quan trong cấu hình mới khác cấu hình đang chạy."))
            for c in cfg.counters:
                self.conn.execute("INSERT OR IGNORE INTO counters(number, status) VALUES (?, 'closed')", (c.number,))
            self.cfg = self.q.cfg = self.rq.cfg = cfg
            self.bus.check_requesters(acl_rules(cfg))
            log.info("configuration reloaded from %s", path)
            fx = Effects(counters={c.number for c in cfg.counters}, queue=True)
            return {"reloaded": str(path)}, fx, []
        fx = Effects(counters={c.number for c in self.cfg.counters}, queue=True)
        return {}, fx, []

    # ------------------------------------------------------------------ state publishing

    def _mark(self, counters: set[int], queue_changed: bool) -> None:
        with self._dirty:
            self._dirty_counters |= counters
            self._dirty_queue = self._dirty_queue or queue_changed
            self._dirty.notify()

    def _publish_loop(self) -> None:
        while not self._stop.is_set():
            with self._dirty:
                while not (self._dirty_counters or self._dirty_queue) and not self._stop.is_set():
                    self._dirty.wait()
                if self._stop.is_set():
                    return
                counters, self._dirty_counters = self._dirty_counters, set()
                want_queue = self._dirty_queue
            try:
                now = self.clock.now()
                for n in sorted(counters):
                    if self.cfg.counter(n) is not None:
                        self.bus.publish(self.topics.counter_state(n), self.rq.counter_payload(n, now), retain=True)
                if want_queue:
                    wait = self._last_queue_pub + QUEUE_STATE_MIN_INTERVAL_S - time.monotonic()
                    if wait > 0:  # coalesce a burst: at most one snapshot per interval
                        self._stop.wait(wait)
                    with self._dirty:
                        self._dirty_queue = False
                    self._publish_queue(self.clock.now())
            except Exception:
                log.exception("publishing state failed")
                self._stop.wait(0.5)

    def _publish_queue(self, now) -> None:
        payload = self.rq.queue_state(now)
        comparable = {k: v for k, v in payload.items() if k != "ts"}
        self._last_queue_pub = time.monotonic()
        if comparable == self._last_queue_payload:
            return
        self._last_queue_payload = comparable
        self.bus.publish(self.topics.queue_state, payload, retain=True)

    def _tick_loop(self) -> None:
        """Roll the day over without a cron job, refresh time-dependent state, prune old replies."""
        last_prune = 0.0
        last_minute = None
        while not self._stop.wait(1.0):
            self.inbox.put(("tick", None, ""))
            # Ticket windows and holidays change at whole minutes: recompute the queue state
            # (services open or closed) once per office minute, not every second.
            minute = self.clock.now().replace(second=0, microsecond=0)
            if minute != last_minute:
                last_minute = minute
                self._mark(set(), True)
            if time.monotonic() - last_prune > 600:
                last_prune = time.monotonic()
                self.inbox.put(("prune", None, ""))


#: Request fields that end up on screens, LED boards and reports, and their lengths.
_PEOPLE_TEXT = {"staff": 100, "reason": 200}


def _clean(req: Any) -> Any:
    """People-facing text without control characters (NUL, RTL override, ANSI) before it is
    stored and broadcast."""
    update = {k: clean_text(getattr(req, k), n, newlines=False).strip() or None
              for k, n in _PEOPLE_TEXT.items() if isinstance(getattr(req, k, None), str)}
    return req.model_copy(update=update) if update else req


def create(ctx: DaemonContext) -> Engine:
    return Engine(ctx)
