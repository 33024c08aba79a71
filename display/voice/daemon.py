"""The voice daemon: says every call and recall, in order, one at a time.

Events arrive on the bus worker and go into a FIFO; one named thread takes them in turn,
assembles the announcement from the voice pack and plays it to the end before taking the
next, so two voices never overlap. Each speaker announces only its counters (`counters`,
`zones`, `floors`). When calls pile up the phrasing shortens (display/voice/backlog.py) so
the speaker keeps up; a call it still could not say within `max_delay_s` is dropped,
reported on `event/voice/dropped` and counted on the status (`skipped`), never lost unseen.
The status also shows the backlog: calls waiting and the seconds of speech they need.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from display.calling.model import chosen_counters
from display.voice.announce import Announcement, Call, counter_label, render, script
from display.voice.backlog import plan
from display.voice.pack import PackError, VoicePack, build_pack, default_pack_dir
from display.voice.players import Player, PlayerError, PlayerState, create_player
from edge import protocol as P
from edge.daemon import DaemonContext

log = logging.getLogger(__name__)

RETRY_S = (1.0, 2.0, 5.0, 10.0, 30.0)
STOPPED = "the voice daemon stopped before saying it"


@dataclass
class _Item:
    call: Call
    received: float  # office time (epoch seconds) when the event arrived


class VoiceDaemon:
    def __init__(self, ctx: DaemonContext, player: Player | None = None) -> None:
        self.ctx = ctx
        self.dev = ctx.device
        self.topics = ctx.topics
        self.default_pack = self.dev.pack is None
        self.pack_dir = Path(self.dev.pack) if self.dev.pack else default_pack_dir(ctx.data_dir)
        self.output_dir = (Path(self.dev.output_dir) if self.dev.output_dir
                           else ctx.state_dir / "announcements")
        self.player = player or self._make_player()
        self.pack: VoicePack | None = None
        self.bus = ctx.bus()
        self.announced = 0
        self.shortened = 0  # said once instead of `repeat` times, to keep up
        self.terse = 0  # of those, said in the shortest form
        self.skipped = 0  # dropped: could not be said within max_delay_s (or could not be read)
        self.scope = chosen_counters(ctx.cfg, self.dev.counters, self.dev.zones, self.dev.floors)
        self._times: OrderedDict[str, int] = OrderedDict()  # ticket id -> calls of it so far
        self._last_end = float("-inf")  # office time the speaker last fell silent
        self._last_s = 0.0  # length of the last announcement, to estimate the backlog
        self._late_s = 0.0
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"voice-{ctx.device_id}", daemon=True)

    def _make_player(self) -> Player:
        if self.dev.backend == "wav":
            return create_player("wav", output_dir=self.output_dir, max_files=self.dev.max_files,
                                 speed=self.ctx.clock.speed if self.dev.pace else None)
        return create_player(self.dev.backend)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        for action in ("called", "recalled"):
            self.bus.subscribe(self.topics.ticket_event(action), self._on_event)
        self.bus.start()
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._queue.put(None)
        self.player.interrupt()
        self._thread.join(timeout=10)
        while True:  # calls still waiting are reported, not lost unseen
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self._skip(item.call, STOPPED)
        self.player.close()
        self.bus.stop()

    def healthy(self) -> bool:
        return self._thread.is_alive()

    def pending(self) -> int:
        return self._queue.qsize()

    def _office_s(self) -> float:
        return self.ctx.clock.now().timestamp()

    # ------------------------------------------------------------------ input

    def _on_event(self, topic: str, payload: bytes) -> None:
        action = self.topics.last_level(topic)
        ev = self.bus.parse_payload(topic, payload, P.TicketEvent)
        if ev is None:
            return
        counter = ev.counter if ev.counter is not None else ev.ticket.counter
        if counter is None:
            self.bus.report_bad(topic, "ticket event has no counter to announce")
            return
        if self.scope is not None and counter not in self.scope:
            return  # another speaker's counter
        key = (action, ev.ticket.ticket_id, ev.ts)
        if key in self._seen:  # a QoS 1 redelivery of the same event
            log.info("duplicate %s event for %s ignored", action, ev.ticket.number)
            return
        self._seen[key] = None
        while len(self._seen) > 1000:
            self._seen.popitem(last=False)
        tid = ev.ticket.ticket_id
        times = self._times.pop(tid, 1) + 1 if action == "recalled" else 1
        self._times[tid] = times
        while len(self._times) > 1000:
            self._times.popitem(last=False)
        configured = self.ctx.cfg.counter(counter)
        name = configured.label if configured is not None else ev.counter_name
        call = Call(number=ev.ticket.number, counter=counter, ticket_id=ev.ticket.ticket_id,
                    counter_name=name, recall=action == "recalled", event_ts=ev.ts,
                    counter_label=counter_label(name, counter), times=times)
        self._queue.put(_Item(call, self._office_s()))

    # ------------------------------------------------------------------ worker

    def _run(self) -> None:
        # Get ready before the first call: the status tells the office at once if the pack
        # or the sound card is missing (published once connected, after our subscriptions).
        while not self.bus.connected.wait(1.0):
            if self._stopping.is_set():
                return
        ready, attempt = self._prepare(), 0
        while not self._stopping.is_set():
            try:  # while not ready, keep trying between calls so the status recovers by itself
                item = self._queue.get(timeout=None if ready else RETRY_S[min(attempt, len(RETRY_S) - 1)])
            except queue.Empty:
                ready, attempt = self._prepare(), attempt + 1
                continue
            if item is None:
                return
            try:
                self._announce(item)
            except Exception:  # one bad call must not silence the rest of the day
                log.exception("announcement of %s failed", item.call.number)
            ready, attempt = self.pack is not None and self.player.state is not PlayerState.ERROR, 0

    def _wait_retry(self, attempt: int) -> bool:
        """Back off before retrying; False when the daemon is stopping."""
        return not self._stopping.wait(RETRY_S[min(attempt, len(RETRY_S) - 1)])

    def _prepare(self) -> bool:
        try:
            if self.pack is None:
                self.pack = self._load_pack()
            if self.player.state in (PlayerState.CLOSED, PlayerState.ERROR):
                self.player.open(self.pack.rate)
                self._report_ok()
            return True
        except (PackError, PlayerError) as exc:
            log.error("voice not ready: %s", exc)
            self.bus.set_status("error", {"backend": self.dev.backend, "error": str(exc)})
            return False

    def _ready(self, item: _Item) -> bool:
        """Make sure the pack is loaded and the output open, retrying until the call is stale."""
        attempt = 0
        while not self._stopping.is_set():
            if self._office_s() - item.received > self.dev.max_delay_s:
                return False
            if self._prepare():
                return True
            if not self._wait_retry(attempt):
                return False
            attempt += 1
        return False

    def _load_pack(self) -> VoicePack:
        try:
            return VoicePack.load(self.pack_dir)
        except PackError:
            if not self.default_pack or (self.pack_dir / "manifest.json").exists():
                raise
        log.info("no voice pack at %s: building one with espeak-ng", self.pack_dir)
        self.bus.set_status("warning", {"backend": self.dev.backend, "pack": "building"})
        build_pack(self.pack_dir, dialect=self.dev.dialect)
        return VoicePack.load(self.pack_dir)

    def _report_ok(self) -> None:
        """The status with the backlog: calls waiting, the speech they need, how late the last
        one started, and how many were shortened or skipped today (since start)."""
        if self.pack is None:
            return
        missing = self.pack.missing()
        backlog = self._queue.qsize()
        # The backlog first: `motcua status` shows the beginning of the detail.
        detail: dict[str, Any] = {"backlog": backlog, "backlog_s": round(backlog * self._last_s, 1),
                                  "skipped": self.skipped, "late_s": round(self._late_s, 1),
                                  "announced": self.announced, "shortened": self.shortened, "terse": self.terse,
                                  "backend": self.dev.backend, "pack": self.pack.manifest.name}
        if missing:
            detail["missing"] = missing
        if self.scope is not None and not self.scope & {c.number for c in self.ctx.cfg.counters}:
            detail["error"] = "no counter matches counters/zones/floors"
        self.bus.set_status("warning" if missing or "error" in detail else "ok", detail)

    def compose(self, call: Call, repeat: int | None = None, chime: str | None = None,
                terse: bool = False, continued: bool = False) -> Announcement:
        assert self.pack is not None
        segments = script(call, self.dev.dialect, self.dev.digit_by_digit, self.dev.four_word, terse, continued)
        return render(self.pack, segments, repeat or self.dev.repeat, call, chime or self.dev.chime)

    def _skip(self, call: Call, reason: str) -> None:
        self.skipped += 1
        self._publish("dropped", call, reason=reason)
        self._report_ok()

    def _announce(self, item: _Item) -> None:
        call = item.call
        attempt = 0
        while True:
            if not self._ready(item):
                self._skip(call, STOPPED if self._stopping.is_set() else "not announced within max_delay_s")
                return
            try:
                ann = self.compose(call)
            except ValueError as exc:
                self._skip(call, str(exc))
                return
            now = self._office_s()
            self._late_s = now - item.received
            how = plan(self.dev, self._queue.qsize() * ann.duration_s, self._late_s, now - self._last_end)
            if (how.repeat, how.chime, how.terse) != (self.dev.repeat, self.dev.chime, False):
                ann = self.compose(call, how.repeat, how.chime, how.terse, how.continued)
            if ann.missing:
                log.warning("voice pack has no clip for %s", ", ".join(ann.missing))
            if self._stopping.is_set():
                self._skip(call, STOPPED)
                return
            started = P.rfc3339(self.ctx.clock.now())
            record = self._record(ann, started)
            record.update(repeat=how.repeat, chime=how.chime, shortened=how.shortened, terse=how.terse,
                          late_s=round(self._late_s, 3))
            self._last_s = ann.duration_s
            self._publish("started", call, duration_s=round(ann.duration_s, 3), repeat=how.repeat,
                          shortened=how.shortened, terse=how.terse, late_s=round(self._late_s, 3))
            self._report_ok()
            try:
                extra = self.player.play(ann, record)
            except PlayerError as exc:
                log.error("playing %s failed: %s", call.number, exc)
                self.bus.set_status("error", {"backend": self.dev.backend, "error": str(exc)})
                if not self._wait_retry(attempt):
                    return
                attempt += 1
                continue
            self.announced += 1
            self.shortened += how.shortened
            self.terse += how.terse
            self._last_end = self._office_s()
            if self._stopping.is_set():  # cut short by stop(): said, but perhaps not to the end
                extra = {**extra, "interrupted": True}
            self._publish("finished", call, **extra)
            self._report_ok()
            return

    def _record(self, ann: Announcement, started: str) -> dict[str, Any]:
        c = ann.call
        assert self.pack is not None
        return {"device": self.ctx.device_id, "number": c.number, "counter": c.counter,
                "counter_name": c.counter_name, "ticket_id": c.ticket_id, "recall": c.recall,
                "event_ts": c.event_ts, "started_at": started, "repeat": self.dev.repeat,
                "dialect": self.dev.dialect, "digit_by_digit": self.dev.digit_by_digit,
                "pack": self.pack.manifest.name, "sample_rate": ann.rate,
                "duration_s": round(ann.duration_s, 3), "missing": ann.missing,
                "sequence": ann.sequence}

    def _publish(self, action: str, call: Call, **fields: Any) -> None:
        if action == "dropped":
            log.warning("call %s to counter %s dropped: %s", call.number, call.counter, fields.get("reason"))
        self.bus.publish(self.topics.voice_event(action), {
            "device": self.ctx.device_id, "number": call.number, "counter": call.counter,
            "ticket_id": call.ticket_id, "recall": call.recall, "event_ts": call.event_ts,
            "ts": P.rfc3339(self.ctx.clock.now()), **fields})


def create(ctx: DaemonContext) -> VoiceDaemon:
    return VoiceDaemon(ctx)


__all__ = ["VoiceDaemon", "create"]
