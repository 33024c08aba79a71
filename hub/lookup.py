"""PROTOCOL.md's dossier lookup, answered from the cache at once, upstream asked only when needed.

- A repeated request id (24 h) gets the same reply again, from memory: lookups have no side
  effect, so after a hub restart a repeat simply gets a fresh answer.
- Rate limit and remembered replies per broker identity: the user level of the reply_to
  topic, which only that user can read (the ACL), and which the bus accepts only from a
  user allowed to send lookups; ``source`` and the rest of reply_to are the requester's
  own words and count for nothing.
- Cached and confirmed recently (by a sync or a fetch within ``fresh_s``) and upstream up:
  answered at once, ``stale: false``. Upstream known down: answered at once from the cache
  with ``stale: true`` (or ``unavailable``). Otherwise upstream is asked with the short
  lookup timeout on a small pool, off the bus worker, and the cache is the fallback.
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
from hub.dossier import Record, RecordError
from hub.store import Store
from hub.sync import Health
from hub.upstream import Adapter, UpstreamDown, UpstreamError

log = logging.getLogger(__name__)

REPLY_TTL_S = 24 * 3600
MAX_REPLIES = 100_000


class HubLookupRequest(LookupRequest):
    """PROTOCOL.md's lookup request plus an optional ``source`` (device id) for the rate limit."""

    source: str | None = Field(default=None, max_length=64, description="Requesting device id")


def requester(req: HubLookupRequest) -> str:
    """The broker identity a lookup counts against (see the module docstring)."""
    return req.reply_to.split("/reply/", 1)[-1].split("/", 1)[0]


def _key(req: HubLookupRequest) -> str:
    return f"{requester(req)}\x1f{req.id}"


class LookupService:
    def __init__(self, store: Store, adapter: Adapter, health: Health, clock: Clock, tz: tzinfo, *,
                 publish: Callable[[str, dict[str, Any]], Any], rate_per_min: int,
                 timeout: float, fresh_s: float, return_place: str | None = None, workers: int = 4) -> None:
        self.store = store
        self.adapter = adapter
        self.health = health
        self.clock = clock
        self.tz = tz
        self.publish = publish
        self.limiter = RateLimiter(rate_per_min)
        self.timeout = timeout
        self.fresh_s = fresh_s
        self.return_place = return_place
        self._replies: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hub-lookup")

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
            code = parse(req.code, today=self.clock.now().date() + timedelta(days=1)).code
        except CodeError as exc:
            return self._remember(_key(req), error_reply(req.id, "bad_request", exc.message))
        cached = self.store.get(code)
        if not self.health.up:
            return self._remember(_key(req), self._from_cache(req.id, cached, stale=True))
        if cached is not None and time.time() - max(cached[1], self.health.last_sync_ok) <= self.fresh_s:
            return self._remember(_key(req), self._answer(req.id, cached[0], stale=False))
        with self._lock:
            self._inflight.add(_key(req))
        self._pool.submit(self._ask_upstream, req, code, cached)
        return None

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
        self.store.touch(code, time.time())
        fresh = self.store.get(code)  # the newer of what we had and what came
        return self._answer(req_id, fresh[0] if fresh else rec, stale=False)

    # ------------------------------------------------------------------ replies

    def _from_cache(self, req_id: str, cached: tuple[Record, float] | None, stale: bool) -> dict[str, Any]:
        if cached is None:
            return error_reply(req_id, "unavailable", "Hệ thống của tỉnh đang gián đoạn và hồ sơ này chưa "
                               "có tại bộ phận một cửa. Vui lòng thử lại sau hoặc hỏi cán bộ.")
        return self._answer(req_id, cached[0], stale=stale)

    def _answer(self, req_id: str, rec: Record, stale: bool) -> dict[str, Any]:
        return ok_reply(req_id, dossier=rec.dossier(self.clock.now(), self.tz, stale=stale,
                                                    return_place=self.return_place))

    def _remember(self, key: str, reply: dict[str, Any]) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            self._replies[key] = (now, reply)
            self._replies.move_to_end(key)
            while self._replies and (len(self._replies) > MAX_REPLIES
                                     or now - next(iter(self._replies.values()))[0] > REPLY_TTL_S):
                self._replies.popitem(last=False)
        return reply
