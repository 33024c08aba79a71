"""The catalogue inside the hub daemon: answers `procedures/search` and `procedures/get`, keeps
the catalogue filled from the configured exports (looked at again every FILES_S) and, when
enabled, from the provincial system.

Fetching from upstream (``LayDanhSachTTHC``) runs on its own thread (``hub-catalogue``):
pages of procedures changed since the cursor, the cursor kept at the newest ``NgayCapNhat``
fully seen (not past it: many procedures can share one stamp, and repeats are harmless
because an upsert of the same version changes nothing). A province without the extension
answers error_code 2: logged once and asked again only an hour later.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from edge import protocol as P
from hub.catalogue import Catalogue, service_for
from hub.catalogue_import import import_changed
from hub.upstream import Adapter, UpstreamDown, UpstreamError, UpstreamInvalid

log = logging.getLogger(__name__)

CURSOR = "upstream_cursor"
PAGE = 200
FILES_S = 30.0  # how often the listed exports are looked at for a change


class CatalogueService:
    def __init__(self, cfg: Any, catalogue: Catalogue, adapter: Adapter | None, clock: Any,
                 config_dir: Path, timeout: float = 5.0) -> None:
        self.cfg = cfg
        self.catalogue = catalogue
        self.adapter = adapter
        self.clock = clock
        self.config_dir = config_dir
        self.timeout = timeout
        self.runs = 0
        self.last_error: str | None = None
        self.notes: list[str] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-catalogue", daemon=True)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self.notes = import_changed(self.catalogue, self.cfg, self.config_dir, self.clock.now())
        self._thread.start()  # then: exports that change, and the provincial system

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def trigger(self) -> None:
        self._wake.set()

    def status(self) -> dict[str, Any]:
        d: dict[str, Any] = {"procedures": self.catalogue.count()}
        if self.last_error:
            d["catalogue_error"] = self.last_error
        if self.notes:
            d["catalogue_import"] = self.notes[:5]
        return d

    # ---------------------------------------------------------------- requests
    def _with_service(self, row: P.ProcedureSummary) -> dict[str, Any]:
        return {**row.wire(), "service": service_for(self.cfg, row)}

    def search(self, req: P.ProcedureSearchRequest, topic: str) -> dict[str, Any]:
        total, rows = self.catalogue.search(req.query, req.field, req.limit, req.offset)
        return P.ok_reply(req.id, total=total, procedures=[self._with_service(r) for r in rows],
                          fields=[f.wire() for f in self.catalogue.fields()])

    def get(self, req: P.ProcedureGetRequest, topic: str) -> dict[str, Any]:
        proc = self.catalogue.get(req.code)
        if proc is None:
            return P.error_reply(req.id, "not_found", f"Không có thủ tục mã {req.code} trong danh mục.")
        return P.ok_reply(req.id, procedure=self._with_service(proc))

    # ---------------------------------------------------------------- upstream
    def _run(self) -> None:
        """Look at the listed exports every FILES_S; fetch from upstream every sync_interval_s
        (sooner after trouble, an hour after a refusal, at once when triggered)."""
        upstream = self.cfg.catalogue.upstream and self.adapter is not None
        if not upstream and not self.cfg.catalogue.files:
            return
        interval = self.cfg.catalogue.sync_interval_s
        due = 0.0  # monotonic time of the next upstream fetch
        forced = False
        while not self._stop.is_set():
            try:
                if self.cfg.catalogue.files:
                    notes = import_changed(self.catalogue, self.cfg, self.config_dir, self.clock.now())
                    if notes:
                        self.notes = notes
                if upstream and (forced or time.monotonic() >= due):
                    due = time.monotonic() + self._fetch(interval)
            except Exception:  # noqa: BLE001 - a bug here must not end the thread
                log.exception("catalogue refresh failed")
            self.runs += 1
            wait = FILES_S if self.cfg.catalogue.files else interval
            if upstream:
                wait = min(wait, max(0.0, due - time.monotonic()))
            forced = self._wake.wait(wait)
            self._wake.clear()

    def _fetch(self, interval: float) -> float:
        """One upstream fetch; returns the seconds until the next one."""
        try:
            self.sync_once()
            self.last_error = None
            return interval
        except UpstreamInvalid as exc:
            if self.last_error != str(exc):
                log.warning("catalogue: upstream refuses LayDanhSachTTHC (%s); asking again in an hour", exc)
            self.last_error = str(exc)
            return max(interval, 3600)
        except UpstreamError as exc:
            log.info("catalogue: upstream unavailable (%s); retrying", exc)
            self.last_error = str(exc)
            return min(interval, 60)

    def sync_once(self) -> int:
        """Fetch every page changed since the cursor; returns the procedures stored."""
        assert self.adapter is not None
        since = self.catalogue.get_state(CURSOR)
        stored, page, newest = 0, 1, since
        while not self._stop.is_set():
            res = self.adapter.list_procedures(since, page, PAGE, timeout=self.timeout)
            if not res.records:
                break
            good = [r for r in res.records if isinstance(r, dict)]
            out = self.catalogue.upsert(good, "upstream", portal_url=self.cfg.catalogue.portal_url,
                                        now=self.clock.now(), where="LayDanhSachTTHC record")
            for e in out.errors:
                log.warning("catalogue: %s", e)
            stored += out.stored
            for r in good:
                ts = str(r.get("NgayCapNhat") or "")
                if len(ts) == 14 and ts.isdigit() and ts > newest:
                    newest = ts
            if page * PAGE >= res.total:
                break
            page += 1
        else:
            return stored
        if newest != since:
            self.catalogue.set_state(CURSOR, newest)
        if stored:
            log.info("catalogue: %d procedures from upstream (cursor %s)", stored, newest or "-")
        return stored


__all__ = ["CatalogueService", "UpstreamDown"]
