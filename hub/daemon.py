"""The `hub` daemon: dossier cache synced with the provincial system, lookups over MQTT, outbox.

Threads: the bus worker answers lookups from the cache; ``hub-sync`` syncs; ``hub-outbox``
pushes; ``hub-lookup-*`` ask upstream for lookups the cache cannot answer fresh. With
``adapter = "simulator"`` the hub runs the upstream simulator in-process and talks to it over
HTTP like to a real gateway.
"""
from __future__ import annotations

import logging
import secrets
import ssl
import threading
from datetime import datetime
from pathlib import Path
from typing import Any


from edge.broker import acl_rules
from edge.config.model import Hub as HubConfig
from edge.daemon import DaemonContext
from edge.protocol import (HubAdminRequest, ProcedureGetRequest, ProcedureSearchRequest, QueueStatsEvent,
                           RatingEvent, TicketEvent, ok_reply)
from hub.appointments import AppointmentBook, Appointments, RedeemRequest
from hub.board import board_snapshot
from hub.catalogue import Catalogue
from hub.catalogue_service import CatalogueService
from hub.codes import agency_code
from hub.lookup import HubLookupRequest, LookupService
from hub.outbox import Outbox
from hub.simulator import SimulatorServer, Upstream
from hub.store import Store
from hub.sync import Health, SyncResult, Syncer, SyncWorker
from hub.upstream import RestAdapter

log = logging.getLogger(__name__)


def build_adapter(cfg: HubConfig, madonvi: str, now: datetime | None = None) -> tuple[RestAdapter, SimulatorServer | None]:
    """The configured adapter; for ``simulator`` also the started in-process simulator.

    The simulator's dossiers are dated around ``now`` (the office clock, which may be simulated).
    """
    if cfg.adapter == "simulator":
        password = secrets.token_hex(12)
        sim = SimulatorServer(Upstream(cfg.simulator_dossiers, agency=agency_code(madonvi),
                                       username=cfg.username or "hub", password=password, now=now),
                              port=cfg.simulator_port, auth_path=cfg.auth_path,
                              service_path=cfg.service_path).start()
        return RestAdapter(sim.url, username=cfg.username or "hub", password=password, madonvi=madonvi,
                           dstcode=cfg.dstcode, auth_path=cfg.auth_path, service_path=cfg.service_path,
                           timeout=cfg.timeout_s), sim
    if not cfg.base_url or not cfg.username:  # the config model refuses this; kept for direct callers
        raise ValueError("hub.adapter = 'rest' needs hub.base_url and hub.username")
    tls = ssl.create_default_context(cafile=cfg.ca_file) if cfg.ca_file else None
    return RestAdapter(cfg.base_url, username=cfg.username, password_file=cfg.password_file, madonvi=madonvi,
                       dstcode=cfg.dstcode, auth_path=cfg.auth_path, service_path=cfg.service_path,
                       field_map=cfg.field_map, service_names=cfg.service_names, timeout=cfg.timeout_s,
                       ssl_context=tls), None


class HubDaemon:
    def __init__(self, ctx: DaemonContext, *, backoff_base: float = 1.0) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg.hub
        self.tz = ctx.cfg.office.tz
        self.bus = ctx.bus(persistent=True)  # ratings and day figures queue at the broker while the hub is down
        self.bus.check_requesters(acl_rules(ctx.cfg))
        self.store = Store(ctx.state_dir / "hub.sqlite")
        self.adapter, self.simulator = build_adapter(self.cfg, self.cfg.madonvi or ctx.cfg.office.id,
                                                     ctx.clock.now())
        self.health = Health(ctx.clock, self._on_health)
        self.syncer = Syncer(self.store, self.adapter, self.tz, page_size=self.cfg.page_size,
                             timeout=self.cfg.timeout_s, lag_window_s=self.cfg.lag_window_s)
        self.sync = SyncWorker(self.syncer, self.health, self.cfg.sync_interval_s,
                               backoff_base=backoff_base, on_synced=self._on_synced)
        self.outbox = Outbox(self.store, self.adapter, self.health, ctx.clock, timeout=self.cfg.timeout_s)
        self.lookup = LookupService(self.store, self.adapter, self.health, ctx.clock, self.tz,
                                    publish=self.bus.publish, rate_per_min=self.cfg.lookup_rate_per_min,
                                    timeout=self.cfg.lookup_timeout_s,
                                    fresh_s=max(60.0, 3 * self.cfg.sync_interval_s),
                                    return_place=self.cfg.return_counter, lag_window_s=self.cfg.lag_window_s,
                                    agency=agency_code(self.cfg.madonvi or ctx.cfg.office.id))
        self.catalogue = Catalogue(ctx.state_dir / "catalogue.sqlite")
        config_dir = Path(ctx.config_path).parent if ctx.config_path else Path.cwd()
        self.procedures = CatalogueService(ctx.cfg, self.catalogue, self.adapter, ctx.clock, config_dir,
                                           timeout=self.cfg.timeout_s)
        self.appointments: Appointments | None = None
        if self.cfg.appointments:  # bookings (issue 16): own SQLite file, own sync thread
            self.appointments = Appointments(
                AppointmentBook(ctx.state_dir / "appointments.sqlite"), self.adapter, tz=self.tz,
                now=ctx.clock.now, enqueue=self.outbox.enqueue, services=self.cfg.appointment_services,
                known={s.code for s in ctx.cfg.services}, late_min=self.cfg.appointment_late_min,
                interval_s=self.cfg.sync_interval_s, page_size=self.cfg.page_size, timeout=self.cfg.timeout_s)
        self._board_key: dict[str, Any] | None = None
        self._board_lock = threading.Lock()

    def start(self) -> None:
        t = self.ctx.topics
        self.bus.serve(t.dossier_lookup, HubLookupRequest, self.lookup.handle)
        self.bus.serve(t.hub_admin, HubAdminRequest, self._admin)
        self.bus.serve(t.procedures_search, ProcedureSearchRequest, self.procedures.search)
        self.bus.serve(t.procedures_get, ProcedureGetRequest, self.procedures.get)
        self.bus.subscribe(t.rating_event, self._on_rating)
        self.bus.subscribe(t.queue_stats_event, self._on_stats)
        if self.appointments is not None:
            self.bus.serve(t.appointment_redeem, RedeemRequest, self.appointments.redeem)
            self.bus.subscribe(t.ticket_event("issued"), self._on_issued)
        self.bus.start(wait=10)
        self.procedures.start()  # imports changed catalogue exports first, then fetches on its thread
        self.bus.set_status("ok", self._detail({"upstream": "starting", "dossiers": self.store.count()}))
        self.sync.start()
        self.outbox.start()
        if self.appointments is not None:
            self.appointments.start()

    def stop(self) -> None:
        self.sync.stop()
        if self.appointments is not None:
            self.appointments.stop()
            self.appointments.book.close()
        self.outbox.stop()
        self.procedures.stop()
        self.lookup.close()
        self.bus.stop()
        if self.simulator is not None:
            self.simulator.stop()
        self.store.close()
        self.catalogue.close()

    def healthy(self) -> bool:
        return self.bus.connected.is_set()

    # ------------------------------------------------------------------ status

    def _on_health(self, state: str, detail: dict[str, Any]) -> None:
        self.bus.set_status(state, self._detail(detail))
        if state == "ok":  # upstream is back (seen by any part): sync and push now, not after backoff
            self.store.retry_pushes_now()
            self.outbox.wake()
            self.sync.trigger()
        self.publish_board()

    def _detail(self, detail: dict[str, Any]) -> dict[str, Any]:
        """The device status detail: upstream health plus the procedure catalogue's."""
        procedures = getattr(self, "procedures", None)  # health may report before __init__ ends
        return {**detail, **procedures.status()} if procedures is not None else detail

    def _on_synced(self, result: SyncResult) -> None:
        state, detail = self.health.status()
        self.bus.set_status(state, self._detail(detail))
        self.publish_board()

    def publish_board(self) -> None:
        """Retained board summary, republished when anything on it changed (not just its ts)."""
        board = board_snapshot(self.store.conn, self.ctx.clock.now(), self.tz, stale=not self.health.up)
        key = board.model_dump(exclude={"ts"})
        with self._board_lock:
            if key == self._board_key:
                return
            self._board_key = key
        self.bus.publish(self.ctx.topics.dossier_board, board, retain=True)

    # ------------------------------------------------------------------ requests and events

    def _admin(self, req: HubAdminRequest, topic: str) -> dict[str, Any]:
        if req.action in ("sync", "resync"):
            self.sync.trigger(full=req.action == "resync")
        state, detail = self.health.status()
        last = self.sync.last
        return ok_reply(req.id, action=req.action, state=state, detail=detail,
                        dossiers=self.store.count(), cursor=self.store.cursor,
                        behind=len(self.store.behind()),
                        last_sync={"pages": last.pages, "records": last.records} if last else None,
                        outbox=self.store.outbox_counts())

    def _on_rating(self, topic: str, payload: bytes) -> None:
        ev = self.bus.parse_payload(topic, payload, RatingEvent)
        if ev is not None:
            self.outbox.enqueue_rating(ev)

    def _on_issued(self, topic: str, payload: bytes) -> None:
        ev = self.bus.parse_payload(topic, payload, TicketEvent)
        if ev is not None and ev.ticket.appointment and self.appointments is not None:
            self.appointments.on_issued(ev.ticket.model_dump(), self.ctx.clock.now())

    def _on_stats(self, topic: str, payload: bytes) -> None:
        ev = self.bus.parse_payload(topic, payload, QueueStatsEvent)
        if ev is not None:
            rows = [{"LinhVuc": r.field, "SoPhieu": r.tickets, "ThoiGianChoTB": round(r.avg_wait_s),
                     "ThoiGianPhucVuTB": round(r.avg_service_s), "VangMat": r.no_show} for r in ev.rows]
            self.outbox.enqueue_stats(ev.day, rows)


def create(ctx: DaemonContext) -> HubDaemon:
    return HubDaemon(ctx)
