"""Incremental sync of the dossier cache with upstream, and the upstream health every part shares.

Paging by timestamp is fragile (UPSTREAM.md), so one run works like this:

- ask for records with ``NgayCapNhat >= q``, page 1; the answer is one snapshot, so every
  record with ``q <= ts < L`` (L: the page's newest timestamp) has been seen. Store the page
  and move the durable cursor to L *in the same transaction*, then ask again from L, page 1.
  Records at exactly L come again and are de-duplicated; a record that changes meanwhile
  gets a newer timestamp and is met later in the run or the next one.
- when a whole page shares the timestamp q (a bulk import), pages 2, 3... of q are read
  with the cursor held at q, and after each one a one-record probe checks that the last
  record of the previous page is still where it was. If not, records left the block and
  shifted the pages: the block is read again from page 1.
- a short page ends the run. Upserts never let an older ``NgayCapNhat`` replace a newer one.

A run that fails (outage) leaves the cursor where the last stored page put it, so the next
run resumes there: nothing is skipped and re-reading is harmless.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Callable

from edge.clock import Clock
from edge.protocol import rfc3339
from hub.dossier import EPOCH, Record, RecordError
from hub.store import Store
from hub.upstream import Adapter, UpstreamDown, UpstreamError, UpstreamInvalid
from hub.worker import Worker, backoff

log = logging.getLogger(__name__)

MAX_BLOCK_RESTARTS = 5


@dataclass
class SyncResult:
    pages: int = 0
    records: int = 0
    applied: int = 0            # rows really written (re-reads of a known version write nothing)
    rejected: int = 0
    block_restarts: int = 0
    cursor: str = EPOCH


class Health:
    """What the hub knows about upstream; calls ``on_change(state, detail)`` when it changes."""

    def __init__(self, clock: Clock, on_change: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.clock = clock
        self.on_change = on_change
        self.down_since: str | None = None
        self.error: str | None = None
        self.invalid: str | None = None
        self.last_sync_ok: float = 0.0   # wall time of the last complete sync run
        self._lock = threading.Lock()

    @property
    def up(self) -> bool:
        return self.down_since is None

    def ok(self, synced: bool = False) -> None:
        with self._lock:
            changed = self.down_since is not None or (synced and self.invalid is not None)
            self.down_since = self.error = None
            if synced:
                self.invalid = None
                self.last_sync_ok = time.time()
        if changed:
            log.info("upstream reachable again")
            self._notify()

    def down(self, exc: BaseException) -> None:
        with self._lock:
            first = self.down_since is None
            if first:
                self.down_since = rfc3339(self.clock.now())
            self.error = str(exc)[:300]
        if first:
            log.warning("upstream unreachable: %s", exc)
            self._notify()

    def refused(self, exc: BaseException) -> None:
        with self._lock:
            changed = self.invalid != str(exc)[:300]
            self.invalid = str(exc)[:300]
        if changed:
            log.error("upstream refused a request as invalid: %s", exc)
            self._notify()

    def status(self) -> tuple[str, dict[str, Any]]:
        with self._lock:
            if self.invalid:
                return "error", {"upstream": "invalid_request", "error": self.invalid}
            if self.down_since:
                return "warning", {"upstream": "down", "since": self.down_since, "error": self.error}
            return "ok", {"upstream": "ok"}

    def _notify(self) -> None:
        if self.on_change:
            self.on_change(*self.status())


class Syncer:
    """One sync run at a time against one adapter and one store."""

    def __init__(self, store: Store, adapter: Adapter, tz: tzinfo, *, page_size: int = 500,
                 timeout: float | None = None) -> None:
        self.store = store
        self.adapter = adapter
        self.tz = tz
        self.page_size = page_size
        self.timeout = timeout
        self._lock = threading.Lock()

    def run(self, full: bool = False) -> SyncResult:
        """Sync until upstream has nothing newer; raises UpstreamError, keeping what was stored."""
        with self._lock:
            if full:
                self.store.set_state(cursor=EPOCH)
                log.info("full resync requested: cursor reset")
            return self._run()

    def _run(self) -> SyncResult:
        res = SyncResult(cursor=self.store.cursor)
        q, page, size = res.cursor, 1, self.page_size
        prev_last: str | None = None      # last code of the previous page while inside a block
        while True:
            got = self.adapter.changed_since(q, page, size, self.timeout)
            res.pages += 1
            records, rejected = self._parse(got.records)
            res.rejected += rejected
            if page > 1 and prev_last is not None and not self._still_at(q, (page - 1) * size, prev_last):
                res.block_restarts += 1
                log.info("records left the block at %s while paging; reading it again", q)
                if res.block_restarts > MAX_BLOCK_RESTARTS:
                    raise UpstreamDown(f"block {q} keeps changing while it is read")
                res.applied += self.store.apply_page(records, time.time(), None)
                page, prev_last = 1, None
                continue
            newest = max((r.updated for r in records), default=q)
            full_page = len(got.records) >= size
            if not full_page:
                res.applied += self.store.apply_page(records, time.time(), max(newest, q))
                res.records += len(records)
                res.cursor = max(newest, q)
                return res
            if newest > q:
                res.applied += self.store.apply_page(records, time.time(), newest)
                q, page, prev_last = newest, 1, None
            else:  # the whole page shares q: page on, cursor held at q
                res.applied += self.store.apply_page(records, time.time(), None)
                prev_last = self._last_code(got.records) or prev_last
                page += 1
            res.records += len(records)
            res.cursor = q

    def _still_at(self, q: str, position: int, code: str) -> bool:
        """True if the record at 1-based ``position`` of the q listing is still ``code``."""
        probe = self.adapter.changed_since(q, position, 1, self.timeout)
        last = self._last_code(probe.records)
        return last is not None and last == code

    @staticmethod
    def _last_code(raw: list[Any]) -> str | None:
        for rec in reversed(raw):
            if isinstance(rec, dict) and rec.get("MaHoSo"):
                return str(rec["MaHoSo"]).strip().upper()
        return None

    def _parse(self, raw: list[Any]) -> tuple[list[Record], int]:
        """Valid records of a page, one per code (the newest copy), and how many were unusable."""
        best: dict[str, Record] = {}
        rejected = 0
        for rec in raw:
            try:
                r = Record.from_upstream(rec, self.tz)
            except RecordError as exc:
                rejected += 1
                log.warning("skipping an upstream record: %s", exc)
                continue
            cur = best.get(r.code)
            if cur is None or r.updated >= cur.updated:
                best[r.code] = r
        return list(best.values()), rejected


class SyncWorker(Worker):
    """The sync thread: every ``interval`` seconds, at once on demand, with backoff while upstream fails."""

    def __init__(self, syncer: Syncer, health: Health, interval: float, *,
                 backoff_base: float = 1.0, backoff_cap: float = 300.0,
                 on_synced: Callable[[SyncResult], None] | None = None) -> None:
        self.syncer = syncer
        self.health = health
        self.interval = interval
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.on_synced = on_synced
        self.failures = 0
        self.last: SyncResult | None = None
        self.runs = 0
        self.applied_total = 0      # rows written by all successful runs of this worker
        self._full = False
        super().__init__("hub-sync")

    def trigger(self, full: bool = False) -> None:
        """Sync now (full: from the beginning)."""
        self._full = self._full or full
        self.wake()

    def backoff(self) -> float:
        return backoff(self.failures, self.backoff_base, self.backoff_cap)

    def step(self) -> float:
        full, self._full = self._full, False
        try:
            result = self.syncer.run(full=full)
        except UpstreamDown as exc:
            self.failures += 1
            self._full = self._full or full
            self.health.down(exc)
            wait = max(self.backoff(), exc.retry_after or 0.0)
            log.info("sync failed (%s); next try in %.1f s", exc, wait)
            return wait
        except UpstreamInvalid as exc:
            self.failures += 1
            self.health.refused(exc)
            return self.interval
        except UpstreamError as exc:
            self.failures += 1
            self.health.down(exc)
            return self.backoff()
        self.failures = 0
        self.runs += 1
        self.applied_total += result.applied
        self.last = result
        self.health.ok(synced=True)
        if result.applied:
            log.info("synced %d changes in %d pages; cursor %s", result.applied, result.pages, result.cursor)
        if self.on_synced:
            self.on_synced(result)
        return self.interval
