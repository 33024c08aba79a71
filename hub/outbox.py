"""The durable, idempotent outbox: what the office must push upstream (ratings, daily queue figures).

Items live in the hub's SQLite file (``outbox`` table) until upstream accepts them. Each has
its own key (``MaDanhGia`` for a rating, the day for queue figures), so pushing one twice is
harmless; a revised item (a rating replaced by a later one) is pushed again as an update.
error_code 3 (already exists) turns a push into an update; error_code 2 sets the item aside
(``dead``) and shows on the hub's status; anything else is retried with capped backoff.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, tzinfo
from typing import Any

from edge.clock import Clock
from edge.protocol import RatingEvent, rfc3339
from hub.store import Store
from hub.sync import Health
from hub.worker import Worker, backoff
from hub.upstream import PUSH_APPOINTMENT, PUSH_RATINGS, PUSH_STATS, Adapter, AlreadyExists, UpstreamDown, UpstreamError, UpstreamInvalid

log = logging.getLogger(__name__)

#: RatingEvent.level -> MucDo sent upstream (3 best).
LEVELS = {"very_satisfied": 3, "satisfied": 2, "unsatisfied": 1}
BATCH = 50


def _ts(value: str, tz: tzinfo) -> str:
    """RFC 3339 -> yyyyMMddHHmmss local; unparsable -> as given."""
    try:
        return datetime.fromisoformat(value).astimezone(tz).strftime("%Y%m%d%H%M%S")
    except (TypeError, ValueError):
        return value


def rating_record(ev: RatingEvent, tz: tzinfo) -> dict[str, Any]:
    """A RatingEvent as one ``DongBoDanhGia`` DanhSach entry (reasons and comment in LyDo)."""
    reasons = [r for r in ev.reasons if r] + ([ev.comment] if ev.comment else [])
    rec = {"MaDanhGia": ev.rating_id, "SoThuTu": ev.number, "Quay": ev.counter,
           "CanBo": ev.staff or "", "MucDo": LEVELS[ev.level], "LyDo": "; ".join(reasons),
           "ThoiGian": _ts(ev.submitted_at, tz)}
    if ev.dossier:  # a visit for a scanned receipt: upstream keys the rating on the dossier
        rec["MaHoSo"] = ev.dossier
    return rec


class Outbox(Worker):
    """Enqueue from any thread; one pusher thread drains it."""

    def __init__(self, store: Store, adapter: Adapter, health: Health, clock: Clock, *,
                 timeout: float | None = None, idle_s: float = 5.0, backoff_cap: float = 300.0) -> None:
        self.store = store
        self.adapter = adapter
        self.health = health
        self.clock = clock
        self.timeout = timeout
        self.idle_s = idle_s
        self.backoff_cap = backoff_cap
        super().__init__("hub-outbox")

    # ------------------------------------------------------------------ producers

    def enqueue(self, service: str, key: str, record: dict[str, Any]) -> bool:
        """Durably add (or revise) one push; returns False when it is a repeat of what is queued."""
        if service not in (PUSH_RATINGS, PUSH_STATS, PUSH_APPOINTMENT):
            raise ValueError(f"unknown push service {service!r}")
        if not key:
            raise ValueError("a push needs its own key")
        fresh = self.store.enqueue(service, key, record, rfc3339(self.clock.now()))
        if fresh:
            self.wake()
        return fresh

    def enqueue_rating(self, ev: RatingEvent) -> bool:
        return self.enqueue(PUSH_RATINGS, ev.rating_id, rating_record(ev, self.clock.tz))

    def enqueue_stats(self, day: str, rows: list[dict[str, Any]]) -> bool:
        """Daily queue figures: ``day`` yyyyMMdd or YYYY-MM-DD, rows as DongBoSoLieuXepHang's DanhSach."""
        day = day.replace("-", "")
        if len(day) != 8 or not day.isdigit():
            raise ValueError(f"day {day!r} is not yyyyMMdd")
        return self.enqueue(PUSH_STATS, day, {"Ngay": day, "DanhSach": rows})

    # ------------------------------------------------------------------ pusher

    def step(self) -> float:
        self.drain()
        return self.idle_s

    def drain(self) -> int:
        """Push everything due now; returns how many items upstream accepted."""
        sent = 0
        while not self.stopping:
            items = self.store.due_pushes(time.time(), limit=500)
            if not items:
                return sent
            progress = False
            for batch in self._batches(items):
                n = self._push(batch)
                sent += n
                progress = progress or n > 0
            if not progress:
                return sent
        return sent

    @staticmethod
    def _batches(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        out: list[list[dict[str, Any]]] = []
        for service, mode in sorted({(i["service"], i["update_mode"]) for i in items}):
            group = [i for i in items if i["service"] == service and i["update_mode"] == mode]
            step = BATCH if service == PUSH_RATINGS else 1
            out.extend(group[k:k + step] for k in range(0, len(group), step))
        return out

    def _push(self, batch: list[dict[str, Any]]) -> int:
        service, update = batch[0]["service"], batch[0]["update_mode"]
        data = ({"DanhSach": [i["record"] for i in batch]} if service == PUSH_RATINGS else batch[0]["record"])
        try:
            try:
                self.adapter.push(service, data, update=update, timeout=self.timeout)
            except AlreadyExists:
                log.info("%s: upstream has %d item(s) already; pushing as an update", service, len(batch))
                for i in batch:
                    self.store.mark_update(i["id"])
                self.adapter.push(service, data, update=True, timeout=self.timeout)
        except UpstreamInvalid as exc:
            log.error("%s refused as invalid; setting %d item(s) aside: %s; body %s", service, len(batch),
                      exc, str(data)[:500])
            self.health.refused(exc)
            for i in batch:
                self.store.mark_failed(i["id"], str(exc), time.time(), dead=True)
            return 0
        except UpstreamError as exc:
            if isinstance(exc, UpstreamDown):
                self.health.down(exc)
            for i in batch:
                delay = backoff(i["attempts"] + 1, cap=self.backoff_cap)
                self.store.mark_failed(i["id"], str(exc), time.time() + delay)
            return 0
        self.health.ok()
        for i in batch:
            self.store.mark_sent(i["id"], i["revision"])
        return len(batch)
