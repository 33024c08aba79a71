"""The camera daemon: one camera, its analysis and its snapshots.

A counter camera keeps a snapshot when a ticket is called or finished at its counter, a
short clip around an unsatisfied rating, and warns when the counter is open and nobody
has been at the desk for `absent_minutes`. A waiting-area camera publishes an occupancy
estimate every `occupancy_interval_s`. A camera that cannot be reached is an error on
the device status, and is reopened (with backoff) when it returns.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from edge import protocol as P
from edge.daemon import DaemonContext
from scanner.camera.absences import FILENAME as ABSENCES, AbsenceLog
from scanner.camera.media import MediaStore, PendingClip
from scanner.camera.recorder import Recorder
from scanner.camera.sources import FrameSource, SourceError, VirtualSource, make_source
from scanner.presence import (AbsenceMonitor, OccupancyEstimator, PresenceDetector, ReferenceModel,
                              small_gray)

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


class CameraDaemon:
    def __init__(self, ctx: DaemonContext, source: FrameSource | None = None) -> None:
        self.ctx = ctx
        self.dev = ctx.device
        self.counter: int | None = self.dev.counter
        self.source = source or make_source(self.dev)
        state = ctx.state_dir
        self.media = MediaStore(state / "media", self.dev.budget_mb * 1024 * 1024,
                                self.dev.retention_days, self.dev.jpeg_quality)
        self.reference = ReferenceModel(state / "reference.png")
        self.presence = PresenceDetector(tuple(self.dev.roi), self.reference)
        self.absence = AbsenceMonitor(self.dev.absent_minutes * 60)
        self.occupancy = OccupancyEstimator(self.reference, self.dev.person_area)
        self.ring: deque[bytes] = deque(maxlen=max(1, round(self.dev.clip_pre_s * self.dev.fps)))
        self.clips: list[PendingClip] = []
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.counter_open = False
        self.waiting: int | None = None  # unknown until the queue state arrives
        self.last_frame: np.ndarray | None = None
        self.last_jpeg: bytes | None = None
        self.last_people: int | None = None
        self._next_occupancy: datetime | None = None
        self._next_enforce: datetime | None = None
        self._learned = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.dev.id}", daemon=True)
        self.recorder = make_recorder(self.dev, state)
        self.absences = AbsenceLog(state / ABSENCES) if self.counter is not None else None
        self.staff: str | None = None  # the clerk signed in at the counter, for the absence log
        self._absent_staff: str | None = None
        self.bus = ctx.bus()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        t = self.ctx.topics
        if self.counter is not None:
            self.bus.subscribe(t.counter_state(self.counter), self._on_counter_state)
            self.bus.subscribe(t.ticket_event("called"), self._on_ticket)
            self.bus.subscribe(t.ticket_event("done"), self._on_ticket)
            if self.recorder is not None:  # more bookmarks for the footage by ticket
                for action in ("recalled", "transferred", "no_show"):
                    self.bus.subscribe(t.ticket_event(action), self._on_ticket)
            self.bus.subscribe(t.rating_event, self._on_rating)
        else:
            self.bus.subscribe(t.queue_state, self._on_queue_state)
        self.bus.start()
        if self.recorder is not None:
            self.recorder.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.reference.save()
        self.source.close()
        if self.recorder is not None:
            self.recorder.stop()
        self.bus.stop()
        self.media.close()
        if self.absences is not None:
            self.absences.close()

    def healthy(self) -> bool:
        return self._thread.is_alive() and (self.recorder is None or self.recorder.alive())

    # ------------------------------------------------------------------ bus handlers (bus thread)

    def _on_counter_state(self, topic: str, payload: bytes) -> None:
        state = self.bus.parse_payload(topic, payload, P.CounterState)
        if state is not None:
            self.staff = state.staff
            self.events.put(("counter", state.status == "open"))

    def _on_queue_state(self, topic: str, payload: bytes) -> None:
        state = self.bus.parse_payload(topic, payload, P.QueueState)
        if state is not None:
            self.events.put(("waiting", sum(s.waiting for s in state.services)))

    def _on_ticket(self, topic: str, payload: bytes) -> None:
        ev = self.bus.parse_payload(topic, payload, P.TicketEvent)
        if ev is None:
            return
        counter = ev.counter if ev.counter is not None else ev.ticket.counter
        if counter != self.counter:
            return
        action = self.ctx.topics.last_level(topic)
        if self.recorder is not None:
            self.recorder.index.bookmark(ev.ticket.ticket_id, action, ev.ts, time.time(), counter,
                                         number=ev.ticket.number)
        if action in ("called", "done"):
            self.events.put(("snapshot", (ev.ticket.ticket_id, action)))

    def _on_rating(self, topic: str, payload: bytes) -> None:
        ev = self.bus.parse_payload(topic, payload, P.RatingEvent)
        if ev is not None and ev.counter == self.counter and self.recorder is not None:
            self.recorder.index.bookmark(ev.ticket_id, "rating", f"{ev.submitted_at}#{ev.revision}", time.time(),
                                         ev.counter, ev.staff, ev.number, ev.level)
        if ev is not None and ev.counter == self.counter and ev.level == "unsatisfied":
            self.events.put(("clip", ev.ticket_id))

    # ------------------------------------------------------------------ capture thread

    def _run(self) -> None:
        """The capture thread; if it ever ends but by stop(), the status says so (and
        healthy() is false), never a silent `ok`."""
        try:
            self._capture()
        except Exception as exc:  # noqa: BLE001 - logged with its traceback; the thread ends here
            log.exception("camera %s: capture thread stopped", self.dev.id)
            self._report_error(f"capture thread stopped: {exc!r}"[:200])

    def _capture(self) -> None:
        backoff = 1.0
        period = 1.0 / self.dev.fps
        while not self._stop.is_set():
            try:
                self.source.open()
            except SourceError as exc:
                self._report_error(str(exc))
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            except Exception as exc:  # noqa: BLE001 - a broken driver must not kill the daemon
                log.exception("camera %s: open failed", self.dev.id)
                self._report_error(f"open failed: {exc}")
                self._stop.wait(backoff)
                continue
            backoff = 1.0
            log.info("camera %s open: %s", self.dev.id, self.source.describe())
            next_t = time.monotonic()
            while not self._stop.is_set():
                try:
                    frame = self.source.read()
                except SourceError as exc:
                    self.source.close()
                    self._report_error(str(exc))
                    break
                try:
                    self.process(frame)
                except Exception as exc:  # noqa: BLE001 - one bad frame must not end the capture
                    log.exception("camera %s: frame failed", self.dev.id)
                    self._report_error(f"frame failed: {exc!r}"[:200])
                next_t += period
                delay = next_t - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_t = time.monotonic()  # running late: do not try to catch up

    def _report_error(self, message: str) -> None:
        log.warning("camera %s: %s", self.dev.id, message)
        self.bus.set_status("error", {"error": message, "source": self.source.describe()})

    def process(self, frame: np.ndarray) -> None:
        """Analyse one frame and act on pending events (the capture thread's whole job)."""
        now = self.ctx.clock.now()
        self.last_frame = frame
        self.last_jpeg = None
        self._drain_events(now)
        if self._next_enforce is None or now >= self._next_enforce:
            self._next_enforce = now + timedelta(hours=1)
            self.media.enforce(now)  # retention also runs on days without any new file
        gray = small_gray(frame)
        if self.counter is not None:
            self._desk(gray, now)
            if self.ring.maxlen and (self.clips or self.dev.clip_pre_s > 0):
                jpeg = self._jpeg()
                self.ring.append(jpeg)
                for clip in list(self.clips):
                    if clip.add(jpeg):
                        self.clips.remove(clip)
                        self._write_clip(clip, now)
        else:
            self._waiting(gray, now)
        detail = {"source": self.source.describe(), "calibrated": self.reference.ready}
        if self.counter is not None:  # retained, so a monitor started later still sees it
            detail["desk_absent"] = self.absence.warned
        state = "ok"
        if self.recorder is not None:
            detail["recorder"] = rec = self.recorder.status()
            if rec["state"] != "recording" and rec.get("error"):
                state = "warning"  # the live analysis works, the recording does not
        self.bus.set_status(state, detail)

    def _jpeg(self) -> bytes:
        if self.last_jpeg is None:
            assert self.last_frame is not None
            self.last_jpeg = self.media.encode(self.last_frame)
        return self.last_jpeg

    def _drain_events(self, now: datetime) -> None:
        while True:
            try:
                kind, value = self.events.get_nowait()
            except queue.Empty:
                return
            try:
                self._event(kind, value, now)
            except Exception as exc:  # noqa: BLE001 - one bad event is reported, the capture goes on
                log.exception("camera %s: %s event failed", self.dev.id, kind)
                topic = self.ctx.topics.rating_event if kind == "clip" else self.ctx.topics.error
                if kind == "snapshot":
                    topic = self.ctx.topics.ticket_event(value[1])
                self.bus.report_bad(topic, f"camera {self.dev.id}: {kind} failed: {exc!r}"[:300], code="internal")

    def _event(self, kind: str, value: Any, now: datetime) -> None:
        if kind == "counter":
            self.counter_open = value
            if isinstance(self.source, VirtualSource):
                self.source.set_people(1 if value else 0)
        elif kind == "waiting":
            self.waiting = value
            if isinstance(self.source, VirtualSource):
                self.source.set_people(value)
        elif kind == "snapshot":
            self._snapshot(*value, now)
        elif kind == "clip":
            post = max(1, round(self.dev.clip_post_s * self.dev.fps))
            self.clips.append(PendingClip(self.ring, post, value, "unsatisfied", now))

    def _desk(self, gray: np.ndarray, now: datetime) -> None:
        learn = not self.counter_open  # a closed counter's desk is empty: learn it
        reading = self.presence.observe(gray, learn=learn)
        if learn:
            self._learned += 1
            if self._learned % 50 == 5:
                self.reference.save()
        # without an empty-desk reference a still clerk looks absent: no warning before calibration
        event = self.absence.update(now, self.counter_open and reading.calibrated, reading.present)
        if event is not None:
            state, seconds = event
            log.info("counter %s desk %s (%.0f s)", self.counter, state, seconds)
            if state == "absent":
                self._absent_staff = self.staff  # whose desk it was when the absence began
            elif self.absences is not None and self.counter is not None:
                self.absences.add(self.counter, self._absent_staff or self.staff, now, seconds)
            self._publish("presence", now, state=state, absent_s=round(seconds, 1))

    def _waiting(self, gray: np.ndarray, now: datetime) -> None:
        # nobody waits in the queue and the office is closed (or nothing learned yet): an empty room
        learn = self.waiting == 0 and (not self._office_open(now) or not self.reference.ready)
        people = self.occupancy.estimate(gray, learn=learn)
        self.last_people = people
        if self._next_occupancy is None or now >= self._next_occupancy:
            self._next_occupancy = now + timedelta(seconds=self.dev.occupancy_interval_s)
            if people is not None:
                self._publish("occupancy", now, people=people)

    def _office_open(self, now: datetime) -> bool:
        return self.ctx.cfg.office.hours.is_open(now.weekday(), now.time())

    def _snapshot(self, ticket_id: str, trigger: str, now: datetime) -> None:
        if self.last_frame is None:
            return
        path, size = self.media.snapshot(self._jpeg(), ticket_id, trigger, now)
        self._publish("snapshot", now, ticket_id=ticket_id, trigger=trigger,
                      path=str(path.relative_to(self.ctx.state_dir)), bytes=size)

    def _write_clip(self, clip: PendingClip, now: datetime) -> None:
        path, size = self.media.clip(clip.frames, self.dev.fps, clip.ticket_id, clip.trigger, clip.started)
        self._publish("clip", now, ticket_id=clip.ticket_id, trigger=clip.trigger,
                      path=str(path.relative_to(self.ctx.state_dir)), bytes=size)

    def _publish(self, kind: str, now: datetime, **fields: Any) -> None:
        ev = P.CameraEvent(device=self.dev.id, counter=self.counter, area=self.dev.area,
                           ts=P.rfc3339(now), **fields)
        self.bus.publish(self.ctx.topics.camera_event(kind), ev)


def make_recorder(dev: Any, state_dir: Any) -> Recorder | None:
    """The continuous recorder of a camera with a `main_stream`, under DATA/<camera>/recordings."""
    if not dev.main_stream:
        return None
    return Recorder(dev.id, dev.main_stream, state_dir / "recordings", dev.segment_s,
                    dev.record_budget_mb * 1024 * 1024, dev.record_retention_days * 86400.0,
                    transport=dev.rtsp_transport, min_free_bytes=dev.record_min_free_mb * 1024 * 1024)


def create(ctx: DaemonContext) -> CameraDaemon:
    return CameraDaemon(ctx)
