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

A lagging gateway (a replica behind a load balancer) may serve an older copy of a record
where its listing holds a newer one. The listing is sorted, so the record at a position has
a version at least the page's lower bound and at least every timestamp served before it: a
copy older than that bound, when the hub holds nothing as new, proves the hub is behind.
Such a record is fetched on its own (``TraCuuHoSo``); until a copy at least as new arrives,
its floor is kept with the page and the stored cursor never passes it, so the next run asks
that window again, and the lookup never calls it fresh. A stale copy served in order cannot
be told from a real one in one read, so each run starts ``lag_window_s`` (upstream time)
before the newest timestamp read, asking the recent window again, and the lookup asks
upstream for dossiers changed within that window.

A run that fails (outage) leaves the cursor where the last stored page put it, so the next
run resumes there: nothing is skipped and re-reading is harmless.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from typing import Any, Callable

from edge.clock import Clock
from edge.protocol import rfc3339
from hub.dossier import EPOCH, Record, RecordError, format_ts, parse_ts
from hub.store import Store
from hub.upstream import Adapter, UpstreamDown, UpstreamError, UpstreamInvalid
from hub.worker import Worker, backoff

log = logging.getLogger(__name__)

MAX_BLOCK_RESTARTS = 5
MAX_FETCHES_PER_PAGE = 50     # records proven behind fetched at once; the rest hold the cursor
HOLD_MAX_S = 86400.0          # a floor older than this (upstream time) no longer holds the cursor


@dataclass
class SyncResult:
    pages: int = 0
    records: int = 0
    applied: int = 0            # rows really written (re-reads of a known version write nothing)
    rejected: int = 0
    block_restarts: int = 0
    behind_seen: int = 0        # copies older than the listing proves upstream has
    fetched: int = 0            # of those, fetched on their own (TraCuuHoSo)
    still_behind: int = 0       # still unmet at the end of the run (the cursor waits for them)
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
                 timeout: float | None = None, lag_window_s: float = 300.0) -> None:
        self.store = store
        self.adapter = adapter
        self.tz = tz
        self.page_size = page_size
        self.timeout = timeout
        self.lag_window_s = lag_window_s
        self._lock = threading.Lock()

    def run(self, full: bool = False) -> SyncResult:
        """Sync until upstream has nothing newer; raises UpstreamError, keeping what was stored."""
        with self._lock:
            if full:
                self.store.set_state(cursor=EPOCH)
                log.info("full resync requested: cursor reset")
            return self._run()

    def start(self) -> str:
        """Where a run starts: the cursor, or the lag window before the newest read if earlier."""
        cursor = self.store.cursor
        newest = self.store.newest
        if newest == EPOCH or self.lag_window_s <= 0:
            return cursor
        window = format_ts(parse_ts(newest, self.tz) - timedelta(seconds=self.lag_window_s), self.tz)
        return min(cursor, window)

    def _hold_from(self, page_newest: str) -> str:
        """Floors from here on hold the cursor: a day before the newest timestamp read so far."""
        newest = max(self.store.newest, page_newest)
        if newest == EPOCH:
            return EPOCH
        return format_ts(parse_ts(newest, self.tz) - timedelta(seconds=HOLD_MAX_S), self.tz)

    def _run(self) -> SyncResult:
        res = SyncResult(cursor=self.store.cursor)
        q, page, size = self.start(), 1, self.page_size
        prev_last: str | None = None      # last code of the previous page while inside a block
        while True:
            got = self.adapter.changed_since(q, page, size, self.timeout)
            res.pages += 1
            records, rejected, floors = self._parse(got.records, q)
            res.rejected += rejected
            records, floors = self._catch_up(records, floors, res)
            if page > 1 and prev_last is not None and not self._still_at(q, (page - 1) * size, prev_last):
                res.block_restarts += 1
                log.info("records left the block at %s while paging; reading it again", q)
                if res.block_restarts > MAX_BLOCK_RESTARTS:
                    raise UpstreamDown(f"block {q} keeps changing while it is read")
                res.applied += self.store.apply_page(records, time.time(), None, floors)
                page, prev_last = 1, None
                continue
            newest = max((r.updated for r in records), default=q)
            hold = self._hold_from(newest)
            full_page = len(got.records) >= size
            if not full_page:
                res.applied += self.store.apply_page(records, time.time(), max(newest, q), floors, hold)
                res.records += len(records)
                res.cursor = self.store.cursor
                self.store.refresh_figures()
                res.still_behind = len(self.store.behind())
                if res.still_behind:
                    log.warning("%d dossiers are behind upstream (a lagging gateway); cursor held at %s",
                                res.still_behind, res.cursor)
                return res
            if newest > q:
                res.applied += self.store.apply_page(records, time.time(), newest, floors, hold)
                q, page, prev_last = newest, 1, None
            else:  # the whole page shares q: page on, cursor held at q
                res.applied += self.store.apply_page(records, time.time(), None, floors)
                prev_last = self._last_code(got.records) or prev_last
                page += 1
            res.records += len(records)
            res.cursor = q

    def _catch_up(self, records: list[Record], floors: dict[str, str],
                  res: SyncResult) -> tuple[list[Record], dict[str, str]]:
        """Drop floors the cache or the page already meets; fetch the rest on their own.

        Returns the page's records plus what the fetches brought, and the floors still unmet.
        """
        if not floors:
            return records, floors
        have = self.store.versions(floors)
        page = {r.code: r for r in records}
        for code, r in page.items():
            have[code] = max(have.get(code, EPOCH), r.updated)
        floors = {c: f for c, f in floors.items() if f > have.get(c, EPOCH)}
        res.behind_seen += len(floors)
        for code in sorted(floors, key=floors.get)[:MAX_FETCHES_PER_PAGE]:
            try:
                raw = self.adapter.fetch(code, self.timeout)
            except UpstreamError as exc:
                log.info("fetching %s (behind upstream) failed: %s", code, exc)
                break
            res.fetched += 1
            if raw is None:
                log.warning("%s is listed upstream but TraCuuHoSo does not know it", code)
                floors.pop(code)
                continue
            try:
                rec = Record.from_upstream(raw, self.tz)
            except RecordError as exc:
                log.warning("TraCuuHoSo answered an unusable record for %s: %s", code, exc)
                continue
            if rec.code not in page or rec.updated >= page[rec.code].updated:
                page[rec.code] = rec
            if rec.updated >= floors[code]:
                floors.pop(code)
        return list(page.values()), floors

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

    def _parse(self, raw: list[Any], q: str) -> tuple[list[Record], int, dict[str, str]]:
        """Valid records of a page, one per code (the newest copy), how many were unusable,
        and the floors the listing's order proves: code -> a version upstream has."""
        best: dict[str, Record] = {}
        floors: dict[str, str] = {}
        rejected = 0
        bound = q       # records are sorted by NgayCapNhat, each at least TuNgay
        for rec in raw:
            try:
                r = Record.from_upstream(rec, self.tz)
            except RecordError as exc:
                rejected += 1
                log.warning("skipping an upstream record: %s", exc)
                continue
            if r.updated < bound:
                floors[r.code] = max(floors.get(r.code, EPOCH), bound)
            bound = max(bound, r.updated)
            cur = best.get(r.code)
            if cur is None or r.updated >= cur.updated:
                best[r.code] = r
        return list(best.values()), rejected, floors


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
