"""Printer daemon: print jobs over MQTT -> durable queue -> backend; status polled and published.

Flow: a kiosk publishes a ``PrintJob`` on ``print/<printer>/job``. We store it (SQLite,
fsync) and answer ``queued`` on ``print/<printer>/result``, then the worker prints jobs in
order and answers ``printed``. While the printer is off, out of paper or its cover is open
the job waits (device status ``error`` says why); jobs older than ``max_job_age_s`` are
dropped as ``expired`` with a log line. The backend is closed and reopened with backoff
after any failure, so unplug/replug recovers without a restart.

No job can jam the queue: a job is laid out once at intake and refused (``rejected``) if
that fails; a job that still fails at print time for any reason but the printer being
unavailable is tried ``MAX_TRIES`` times and then marked ``failed``, and the jobs behind it
go on. Failing jobs, or a first job that has not moved for ``STUCK_AFTER_S`` while the
printer looks fine, turn the device status to ``error`` so kiosks stop promising tickets.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from edge import protocol as P
from edge.daemon import DaemonContext
from printer.backends import PrinterBackend, PrinterUnavailable, create_backend
from printer.jobs import JobQueue
from printer.layout import TicketInfo, build_ticket, service_places, ticket_link
from printer.status import PrinterStatus

log = logging.getLogger(__name__)

BACKOFF_MAX_S = 10.0
MAX_TRIES = 3
STUCK_AFTER_S = 60.0
IO_WAIT_S = 2.0
PRUNE_EVERY_S = 3600.0
#: Longest ticket texts a job may carry (the engine's are far shorter): bounded before layout.
TEXT_LIMITS = {"ticket_id": 64, "number": 16, "service": 16, "service_name": 200, "day": 10, "issued_at": 40}


def native_qr_for(device: Any) -> bool:
    """Config wins; otherwise ask the python-escpos profile whether it has a QR engine."""
    if device.native_qr is not None:
        return device.native_qr
    try:
        from escpos import capabilities
        return bool(capabilities.get_profile(device.profile).features.get("qrCode", False))
    except Exception:  # unknown profile name: raster is always safe
        log.warning("unknown printer profile %r; printing QR as raster", device.profile)
        return False


class PrinterDaemon:
    def __init__(self, ctx: DaemonContext, backend: PrinterBackend | None = None) -> None:
        self.ctx = ctx
        self.dev = ctx.device
        self.backend = backend or create_backend(self.dev, ctx.data_dir)
        self.queue = JobQueue(ctx.state_dir / "jobs.sqlite")
        self.native_qr = native_qr_for(self.dev)
        self.bus = ctx.bus(persistent=True)  # jobs sent while the daemon restarts wait at the broker
        self.topic_job = ctx.topics.print_job(self.dev.id)
        self.topic_result = ctx.topics.print_result(self.dev.id)
        self.last_status = PrinterStatus()
        self._io = threading.Lock()  # backend calls from worker and poller never interleave
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.stuck_after_s = STUCK_AFTER_S
        self._failing = 0  # jobs failed in a row for a reason of their own (or the backend's)
        self._head: tuple[str | None, float] = (None, time.monotonic())
        self._last_prune = 0.0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.bus.subscribe(self.topic_job, self._on_job)
        self.bus.start(wait=5)
        with self._io:
            try:
                self.backend.open()
            except PrinterUnavailable as exc:
                log.warning("printer not ready at start (%s); will keep trying", exc)
        self.poll_status()
        for name, fn in (("printer-worker", self._work), ("printer-status", self._poll_loop)):
            t = threading.Thread(target=fn, name=f"{name}-{self.dev.id}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self.wake()
        for t in self._threads:
            t.join(timeout=5)
        self.bus.stop()
        with self._io:
            self.backend.close()
        self.queue.close()

    def healthy(self) -> bool:
        return all(t.is_alive() for t in self._threads)

    def wake(self) -> None:
        with self._wake:
            self._wake.notify_all()

    # ------------------------------------------------------------------ MQTT
    def _now(self) -> str:
        return P.rfc3339(self.ctx.clock.now())

    def _result(self, job_id: str, outcome: str, ticket: dict | None = None, detail: str | None = None) -> None:
        ticket = ticket or {}
        self.bus.publish(self.topic_result, P.PrintResult(
            job_id=job_id, ticket_id=ticket.get("ticket_id"), number=ticket.get("number"), outcome=outcome,
            detail=detail, queued=self.queue.pending(), ts=self._now()))

    def _on_job(self, topic: str, payload: bytes) -> None:
        try:
            data = P.decode_json(payload)
            if data.get("kind") == "checklist":  # a procedure's checklist (printer/checklist.py)
                return self._on_checklist_job(P.ChecklistPrintJob.model_validate(data))
            job = P.PrintJob.model_validate(data)
        except P.BadPayload as exc:
            self.bus.report_bad(topic, str(exc))
            return
        except ValidationError as exc:
            jid = data.get("job_id") if isinstance(data.get("job_id"), str) else None
            msg = P.describe_validation(exc)
            self.bus.report_bad(topic, msg)
            if jid and P.REQUEST_ID_RE.match(jid):
                self._result(jid, "rejected", detail=msg)
            return
        problem = self.refuse_reason(job)
        if problem is not None:
            self.bus.report_bad(topic, f"print job {job.job_id[:64]!r}: {problem}")
            self._result(job.job_id, "rejected", detail=problem)
            return
        new, state = self.queue.add(job.job_id, job.wire(), job.created_at)
        if not new:
            log.info("job %s seen again (state %s); not queued twice", job.job_id, state)
        self._result(job.job_id, state, job.ticket.wire())
        self.wake()

    def refuse_reason(self, job: P.PrintJob) -> str | None:
        """Why a job can never print (checked before it is queued), or None."""
        if job.job_id.strip(".") == "":
            return "job_id made only of dots is not a usable id"
        for name, limit in TEXT_LIMITS.items():
            value = getattr(job.ticket, name)
            if len(value) > limit:
                return f"ticket {name} is {len(value)} characters, more than {limit}"
        try:
            build_ticket(self.ticket_info(job), self.dev.paper_mm, self.native_qr)
        except Exception as exc:  # noqa: BLE001 - whatever the layout cannot do, say it now
            return f"cannot lay the ticket out: {str(exc)[:200]}"
        return None

    def _on_checklist_job(self, job: P.ChecklistPrintJob) -> None:
        new, state = self.queue.add(job.job_id, job.wire(), job.created_at)
        if not new:
            log.info("checklist job %s seen again (state %s); not queued twice", job.job_id, state)
        self._result(job.job_id, state)
        self.wake()

    # ------------------------------------------------------------------ status
    def poll_status(self) -> PrinterStatus:
        # A write that hangs (a stalled USB printer) holds the backend: report from what we
        # know instead of waiting for it, so a stuck queue still shows in the status.
        if self._io.acquire(timeout=IO_WAIT_S):
            try:
                st = self.backend.status()
            except Exception:
                log.exception("status poll failed")
                st = PrinterStatus(online=False, reason="offline")
            finally:
                self._io.release()
        else:
            st = self.last_status
        changed = st != self.last_status
        self.last_status = st
        detail = {**st.detail(), "backend": self.backend.name, "queued": self.queue.pending(),
                  "paper_mm": self.dev.paper_mm}
        state = st.state
        if state != "error":
            jam = self._jam()
            if jam is not None:
                state, detail = "error", {**detail, **jam}
        self.bus.set_status(state, detail)
        if changed:
            log.info("printer status: %s %s", st.state, st.detail())
            if st.state != "error":
                self.wake()
        return st

    def _jam(self) -> dict[str, Any] | None:
        """Jobs failing, or the first job not moving although the printer looks fine."""
        if self._failing:
            return {"problem": "jobs_failing", "failed": self._failing}
        head = self.queue.next()
        head_id = head[0] if head else None
        if head_id != self._head[0]:
            self._head = (head_id, time.monotonic())
        elif head_id is not None and time.monotonic() - self._head[1] > self.stuck_after_s:
            return {"problem": "stuck", "stuck_job": head_id}
        return None

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.dev.poll_s):
            self.poll_status()
            if time.monotonic() - self._last_prune > PRUNE_EVERY_S:
                self._last_prune = time.monotonic()
                removed = self.queue.prune()
                if removed:
                    log.info("pruned %d finished print jobs", removed)

    # ------------------------------------------------------------------ printing
    def ticket_info(self, job: P.PrintJob) -> TicketInfo:
        cfg = self.ctx.cfg
        t = job.ticket
        try:
            issued = datetime.fromisoformat(t.issued_at)
        except ValueError:
            issued = self.ctx.clock.now()
        qr, caption = ticket_link(cfg.office.public_url, cfg.office.tracking_url, t)
        return TicketInfo(
            office_name=cfg.office.name, number=t.number, service_name=t.service_name, issued_at=issued,
            qr_data=qr, counters=service_places(cfg, t.service),
            waiting_ahead=job.waiting_ahead, estimated_wait_s=job.estimated_wait_s,
            priority=t.priority, priority_name=cfg.priority_name(t.priority), footer=cfg.office.footer,
            reprint=job.reprint, qr_caption=caption)

    def _too_old(self, job: P.PrintJob) -> bool:
        try:
            created = datetime.fromisoformat(job.created_at)
        except ValueError:
            return False
        return (self.ctx.clock.now() - created).total_seconds() > self.dev.max_job_age_s

    def print_one(self) -> bool:
        """Print the oldest queued job; False when there is nothing to do or the printer failed."""
        item = self.queue.next()
        if item is None:
            return False
        job_id, payload, attempts = item
        try:
            if payload.get("kind") == "checklist":
                return self._print_checklist(job_id, P.ChecklistPrintJob.model_validate(payload))
            job = P.PrintJob.model_validate(payload)
            if self._too_old(job):
                log.warning("job %s (ticket %s) is older than %ss: dropped, not printed",
                            job_id, job.ticket.number, self.dev.max_job_age_s)
                self.queue.mark(job_id, "expired", self._now())
                self._result(job_id, "expired", job.ticket.wire(), "too old to print")
                return True
            data = build_ticket(self.ticket_info(job), self.dev.paper_mm, self.native_qr)
            ok = self._write(job_id, data)  # a printer away is not the job's fault: no try counted
        except Exception as exc:  # noqa: BLE001 - this job (or the backend on it) failed
            return self._job_failed(job_id, payload, attempts + 1, exc)
        if not ok:
            return False
        self.queue.mark(job_id, "printed", self._now())
        self._result(job_id, "printed", job.ticket.wire())
        log.info("printed ticket %s (job %s, %d bytes)", job.ticket.number, job_id, len(data))
        if self._failing:
            self._failing = 0
            self.poll_status()
        return True

    def _job_failed(self, job_id: str, payload: Any, tries: int, exc: Exception) -> bool:
        """Count a failed try; after MAX_TRIES the job is `failed` and the queue moves on."""
        log.warning("job %s failed (try %d of %d): %s", job_id, tries, MAX_TRIES, exc, exc_info=tries == 1)
        self.queue.attempt(job_id, str(exc)[:500])
        if tries < MAX_TRIES:
            return False
        self.queue.mark(job_id, "failed", self._now(), str(exc)[:500])
        ticket = payload.get("ticket") if isinstance(payload, dict) else None
        self._result(job_id, "failed", {k: ticket.get(k) for k in ("ticket_id", "number")}
                     if isinstance(ticket, dict) else None, detail=str(exc)[:200])
        self._failing += 1
        self.poll_status()
        return True

    def _write(self, job_id: str, data: bytes) -> bool:
        """Send a job's bytes; on failure count the attempt, poll the status and say False."""
        with self._io:
            try:
                self.backend.write(data, job_id)
                return True
            except PrinterUnavailable as exc:
                self.queue.attempt(job_id, str(exc))
                log.warning("job %s not printed: %s", job_id, exc)
        self.poll_status()
        return False

    def _print_checklist(self, job_id: str, job: P.ChecklistPrintJob) -> bool:
        """Like a ticket job: stored first, dropped when older than max_job_age_s (the citizen left)."""
        from printer.checklist import build_checklist
        if self._too_old(job):  # type: ignore[arg-type] - only created_at is read
            log.warning("checklist job %s is older than %ss: dropped, not printed", job_id, self.dev.max_job_age_s)
            self.queue.mark(job_id, "expired", self._now())
            self._result(job_id, "expired", detail="too old to print")
            return True
        sheet = build_checklist(job.procedure, self.ctx.cfg.office.name, self.ctx.clock.now(),
                                self.dev.paper_mm, self.native_qr)
        if not self._write(job_id, sheet.data):
            return False
        self.queue.mark(job_id, "printed", self._now())
        self._result(job_id, "printed")
        log.info("printed the checklist of %s (job %s, %d bytes)", job.procedure.code, job_id, len(sheet.data))
        return True

    def _work(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                if self.last_status.state == "error" and self.queue.pending():
                    ok = False
                else:
                    ok = self.print_one()
            except Exception:
                log.exception("print worker error")
                ok = False
            if ok:
                backoff = 0.5
                continue
            wait = backoff if self.queue.pending() else None
            with self._wake:
                if not self._stop.is_set():
                    self._wake.wait(wait if wait is not None else 60)
            if wait is not None:
                backoff = min(BACKOFF_MAX_S, backoff * 2)
                if self.last_status.state == "error":
                    self.poll_status()


def create(ctx: DaemonContext) -> PrinterDaemon:
    return PrinterDaemon(ctx)
