"""PROTOCOL.md's dossier lookup, answered from the cache at once, upstream asked only when needed.

- A repeated request id (24 h) gets the same reply again, from memory: lookups have no side
  effect, so after a hub restart a repeat simply gets a fresh answer.
- Rate limit and remembered replies per broker identity: the user level of the reply_to
  topic, which only that user can read (the ACL), and which the bus accepts only from a
  user allowed to send lookups; ``source`` and the rest of reply_to are the requester's
  own words and count for nothing.
- Cached and confirmed recently (by a sync or a fetch within ``fresh_s``) and upstream up:
  answered at once, ``stale: false`` -- unless the cached copy may be behind: a lagging
  gateway proved a newer version exists (hub/sync.py), or the copy changed within the
  sync's lag window, where an old copy served in order cannot be told from the real one.
  Those ask upstream, and an answer older than what the hub knows exists is ``stale: true``.
  Upstream known down: answered at once from the cache with ``stale: true`` (or
  ``unavailable``). Otherwise upstream is asked with the short lookup timeout on a small
  pool, off the bus worker, and the cache is the fallback.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta, tzinfo
from typing import Any, Callable

from pydantic import Field

from edge.clock import Clock
from edge.limits import RateLimiter
from edge.protocol import LookupRequest, error_reply, ok_reply
from hub.codes import CodeError, parse
from hub.dossier import EPOCH, STATUS_TEXT, Record, RecordError, format_ts, iso, nfc_line, parse_ts
from hub.store import Store
from hub.sync import Health
from hub.upstream import Adapter, UpstreamDown, UpstreamError, UpstreamInvalid

log = logging.getLogger(__name__)

REPLY_TTL_S = 24 * 3600
STEPS_RETRY_S = 3600.0        # after upstream refused LayQuaTrinhXuLy
HISTORY_MAX = 20              # steps in a lookup reply (the newest)
MAX_REPLIES = 100_000


class HubLookupRequest(LookupRequest):
    """PROTOCOL.md's lookup request plus an optional ``source`` (device id) for the rate limit."""

    source: str | None = Field(default=None, max_length=64, description="Requesting device id")


def _when(value: Any, tz: tzinfo) -> Any:
    """A step's ``ThoiGian``, or None when it is absent or not a date (a bad step is still shown)."""
    try:
        return parse_ts(value, tz)
    except RecordError:
        return None


def _line(value: Any) -> str | None:
    line = nfc_line(value)
    return line[:200] if line else None


def requester(req: HubLookupRequest) -> str:
    """The broker identity a lookup counts against (see the module docstring)."""
    return req.reply_to.split("/reply/", 1)[-1].split("/", 1)[0]


def _key(req: HubLookupRequest) -> str:
    return f"{requester(req)}\x1f{req.id}"


class LookupService:
    def __init__(self, store: Store, adapter: Adapter, health: Health, clock: Clock, tz: tzinfo, *,
                 publish: Callable[[str, dict[str, Any]], Any], rate_per_min: int,
                 timeout: float, fresh_s: float, return_place: str | None = None, workers: int = 4,
                 lag_window_s: float = 300.0, agency: str | None = None) -> None:
        self.store = store
        self.adapter = adapter
        self.health = health
        self.clock = clock
        self.tz = tz
        self.publish = publish
        self.limiter = RateLimiter(rate_per_min)
        self.timeout = timeout
        self.fresh_s = fresh_s
        self.lag_window_s = lag_window_s
        self.agency = agency              # this office's agency code: completes a short code
        self.return_place = return_place
        self._replies: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hub-lookup")
        self._steps_off_until = 0.0       # LayQuaTrinhXuLy refused (an extension): ask again later
        self._steps_inflight: set[str] = set()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ request entry (bus worker)

    def handle(self, req: HubLookupRequest, topic: str) -> dict[str, Any] | None:
        with self._lock:
            hit = self._replies.get(_key(req))
            if hit is not None and time.monotonic() - hit[0] < REPLY_TTL_S:
                return hit[1]
            if _key(req) in self._inflight:
                return None  # the first copy is still being answered; its reply will come
        if not self.limiter.allow(requester(req)):
            return self._remember(_key(req), error_reply(req.id, "rate_limited"))
        try:
            # a day of slack: the province's clock and the office's may disagree around midnight
            code = parse(req.code, today=self.clock.now().date() + timedelta(days=1), agency=self.agency).code
        except CodeError as exc:
            return self._remember(_key(req), error_reply(req.id, "bad_request", exc.message))
        cached = self.store.get(code)
        if not self.health.up:
            return self._remember(_key(req), self._from_cache(req.id, cached, stale=True))
        if cached is not None and self._fresh(cached):
            self._steps_later(cached[0])
            return self._remember(_key(req), self._answer(req.id, cached[0], stale=False))
        with self._lock:
            self._inflight.add(_key(req))
        self._pool.submit(self._ask_upstream, req, code, cached)
        return None

    def _fresh(self, cached: tuple[Record, float]) -> bool:
        """The cached copy may be answered as current without asking upstream."""
        rec, seen_at = cached
        now = time.time()
        if now - max(seen_at, self.health.last_sync_ok) > self.fresh_s:
            return False
        floor = self.store.floor(rec.code)
        if floor is not None and floor > rec.updated:
            return False           # upstream surely has a newer version
        newest = self.store.newest
        if self.lag_window_s > 0 and newest != EPOCH:
            recent = format_ts(parse_ts(newest, self.tz) - timedelta(seconds=self.lag_window_s), self.tz)
            if rec.updated >= recent:
                return False       # changed lately: a lagging gateway may have served an old copy
        return True

    # ------------------------------------------------------------------ upstream path (pool)

    def _ask_upstream(self, req: HubLookupRequest, code: str, cached: tuple[Record, float] | None) -> None:
        try:
            reply = self._fetch(req.id, code, cached)
        except Exception:
            log.exception("lookup %s failed", req.id)
            reply = error_reply(req.id, "internal")
        self._remember(_key(req), reply)
        with self._lock:
            self._inflight.discard(_key(req))
        self.publish(req.reply_to, reply)

    def _fetch(self, req_id: str, code: str, cached: tuple[Record, float] | None) -> dict[str, Any]:
        try:
            raw = self.adapter.fetch(code, timeout=self.timeout)
        except UpstreamDown as exc:
            self.health.down(exc)
            return self._from_cache(req_id, cached, stale=True)
        except UpstreamError as exc:
            log.warning("upstream lookup of %s failed: %s", code, exc)
            return self._from_cache(req_id, cached, stale=True)
        self.health.ok()
        if raw is None:
            return error_reply(req_id, "not_found", f"Không tìm thấy hồ sơ {code}. "
                               "Vui lòng kiểm tra lại mã trên giấy hẹn.")
        try:
            rec = Record.from_upstream(raw, self.tz)
        except RecordError as exc:
            log.warning("upstream answered an unusable record for %s: %s", code, exc)
            return self._from_cache(req_id, cached, stale=True)
        self.store.apply_page([rec], time.time(), None)
        fresh = self.store.get(code)  # the newer of what we had and what came
        floor = self.store.floor(code)
        # an answer older than what the hub holds or knows exists comes from a lagging replica
        behind = (fresh is not None and rec.updated < fresh[0].updated) or (floor is not None and floor > rec.updated)
        if not behind:
            self._read_steps(code, rec.updated)
            self.store.touch(code, time.time())
        return self._answer(req_id, fresh[0] if fresh else rec, stale=behind)

    # ------------------------------------------------------------------ steps (LayQuaTrinhXuLy)

    def _steps_later(self, rec: Record) -> None:
        """Read upstream's steps in the background when the stored ones predate this version."""
        if time.time() < self._steps_off_until or self.store.steps(rec.code)[0] == rec.updated:
            return
        with self._lock:
            if rec.code in self._steps_inflight:
                return
            self._steps_inflight.add(rec.code)

        def run() -> None:
            try:
                self._read_steps(rec.code, rec.updated)
            finally:
                with self._lock:
                    self._steps_inflight.discard(rec.code)
        self._pool.submit(run)

    def _read_steps(self, code: str, version: str) -> None:
        if time.time() < self._steps_off_until:
            return
        try:
            raw = self.adapter.steps(code, timeout=self.timeout)
        except UpstreamInvalid as exc:
            log.info("upstream has no %s (%s); the lookup shows the statuses the hub saw", "LayQuaTrinhXuLy", exc)
            self._steps_off_until = time.time() + STEPS_RETRY_S
            return
        except UpstreamError as exc:
            log.info("steps of %s not read: %s", code, exc)
            return
        steps = []
        for x in raw:
            at = _when(x.get("ThoiGian"), self.tz)
            st = x.get("TrangThai")
            steps.append((format_ts(at, self.tz) if at else None, _line(x.get("DonVi")), _line(x.get("NoiDung")),
                          int(st) if str(st).strip().isdigit() and int(st) in STATUS_TEXT else None))
        self.store.set_steps(code, version, steps)

    def _history(self, code: str) -> list[dict[str, Any]]:
        """"What happened so far": upstream's steps when it gives them, else the statuses the hub saw."""
        _, steps = self.store.steps(code)
        if steps:
            return [{"at": iso(at, self.tz), "status": st, "status_text": STATUS_TEXT.get(st) if st else None,
                     "unit": unit, "text": text} for at, unit, text, st in steps][-HISTORY_MAX:]
        return [{"at": iso(up, self.tz) if up != EPOCH else None, "status": st, "status_text": STATUS_TEXT[st],
                 "unit": unit, "text": None} for up, st, unit in self.store.history(code)][-HISTORY_MAX:]

    # ------------------------------------------------------------------ replies

    def _from_cache(self, req_id: str, cached: tuple[Record, float] | None, stale: bool) -> dict[str, Any]:
        if cached is None:
            return error_reply(req_id, "unavailable", "Hệ thống của tỉnh đang gián đoạn và hồ sơ này chưa "
                               "có tại bộ phận một cửa. Vui lòng thử lại sau hoặc hỏi cán bộ.")
        return self._answer(req_id, cached[0], stale=stale)

    def _answer(self, req_id: str, rec: Record, stale: bool) -> dict[str, Any]:
        d = rec.dossier(self.clock.now(), self.tz, stale=stale, return_place=self.return_place)
        d["history"] = self._history(rec.code)
        return ok_reply(req_id, dossier=d)

    def _remember(self, key: str, reply: dict[str, Any]) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            self._replies[key] = (now, reply)
            self._replies.move_to_end(key)
            while self._replies and (len(self._replies) > MAX_REPLIES
                                     or now - next(iter(self._replies.values()))[0] > REPLY_TTL_S):
                self._replies.popitem(last=False)
        return reply
