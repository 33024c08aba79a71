"""Simulated citizens and clerks for `motcua run --simulate`, talking only PROTOCOL.md.

Citizens arrive at random (a Poisson stream at the configured rate, in office time) while
tickets are issued, take a ticket for a service, and sometimes do not come when called;
clerks open their counters, call the next number, serve for a random time, finish, and
citizens rate the visit. Everything goes through the broker like a real office would.
"""
from __future__ import annotations

import logging
import random
import threading
from typing import Any

from edge import protocol as P
from edge.bus import RequestTimeout
from edge.daemon import DaemonContext

log = logging.getLogger(__name__)

STAFF = ["Nguyễn Thị Lan", "Trần Văn Bình", "Lê Thị Hoa", "Phạm Minh Tuấn", "Hoàng Thị Mai",
         "Võ Văn Dũng", "Đặng Thị Thu", "Bùi Quang Huy", "Đỗ Thị Hằng", "Ngô Văn Sơn"]
RATINGS = [("very_satisfied", 0.55), ("satisfied", 0.35), ("unsatisfied", 0.10)]
REASONS = ["Chậm", "Hướng dẫn sai", "Thái độ", "Đòi thêm giấy tờ", "Khác"]


class Simulator:
    def __init__(self, ctx: DaemonContext, seed: int | None = None) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.sim = ctx.cfg.simulation
        self.clock = ctx.clock
        self.topics = ctx.topics
        self.bus = ctx.bus()
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self.issued = 0
        self.threads: list[threading.Thread] = []
        self._scan_file = self._scanner_feed()
        self._printer = next((d.printer for d in self.cfg.devices if d.kind == "kiosk" and d.enabled
                              and d.mode == "ticket" and d.printer), None)
        self._known_codes: list[str] = []

    def _scanner_feed(self):
        """The file a file/virtual scanner reads, so citizens can 'scan' receipts."""
        try:
            from scanner.filefeed import feed_path
        except ImportError:
            return None
        for d in self.cfg.devices:
            if d.kind == "scanner" and d.enabled:
                path = feed_path(self.ctx.data_dir, d)
                if path is not None:
                    return path
        return None

    def _on_board(self, topic: str, payload: bytes) -> None:
        try:
            board = P.DossierBoard.model_validate_json(payload)
        except ValueError:
            return
        self._known_codes = [d.code for d in board.ready + board.needs_documents]

    def start(self) -> None:
        self.bus.subscribe(self.topics.dossier_board, self._on_board)
        self.bus.start(wait=10)
        self.bus.set_status("ok", {"role": "simulated citizens and clerks"})
        self.threads.append(threading.Thread(target=self._citizens, name="sim-citizens", daemon=True))
        for c in self.cfg.counters:
            self.threads.append(threading.Thread(target=self._clerk, args=(c.number,), name=f"sim-clerk-{c.number}",
                                                 daemon=True))
        for th in self.threads:
            th.start()

    def stop(self) -> None:
        self.stop_event.set()
        for th in self.threads:
            th.join(timeout=3)
        self.bus.stop()

    # ------------------------------------------------------------------ helpers

    def _sleep(self, office_seconds: float) -> bool:
        """Sleep in office time; False when stopping."""
        return not self.stop_event.wait(max(0.01, office_seconds / self.clock.speed))

    def _request(self, topic: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self.bus.request(topic, fields, timeout=3, retries=5)
        except RequestTimeout:
            log.warning("no reply on %s", topic)
            return None

    def _office_open(self) -> bool:
        now = self.clock.now()
        return self.cfg.office.hours.is_open(now.weekday(), now.time()) and now.date() not in self.cfg.office.holidays

    # ------------------------------------------------------------------ citizens

    def _citizens(self) -> None:
        rate_per_s = self.sim.arrivals_per_hour / 3600.0
        services = [s for s in self.cfg.services if s.enabled]
        weights = [max(1, len(self.cfg.counters_for(s.code))) for s in services]
        priorities = [c.priority for c in self.cfg.priority_categories]  # the categories the kiosk offers
        while self._sleep(self.rng.expovariate(rate_per_s)):
            svc = self.rng.choices(services, weights)[0]
            prio = self.rng.choice(priorities) if priorities and self.rng.random() < self.sim.priority_share \
                else "none"
            r = self._request(self.topics.ticket_issue, {"service": svc.code, "priority": prio, "source": "simulator"})
            if r and r.get("ok"):
                self.issued += 1
                self._print(r)
                log.info("citizen took %s for %s (%d ahead)", r["ticket"]["number"], svc.code, r["waiting_ahead"])
            elif r:
                log.debug("no ticket: %s", r["error"]["message"])
            if self._scan_file is not None and self.rng.random() < 0.2:
                self._scan_receipt()

    def _print(self, reply: dict[str, Any]) -> None:
        """The ticket comes out of the entrance kiosk's printer, as if the citizen had touched it."""
        if self._printer is None:
            return
        job = P.PrintJob(job_id=reply["ticket"]["ticket_id"], ticket=reply["ticket"],
                         waiting_ahead=reply.get("waiting_ahead"), estimated_wait_s=reply.get("estimated_wait_s"),
                         source="simulator", created_at=P.rfc3339(self.clock.now()))
        self.bus.publish(self.topics.print_job(self._printer), job)

    def _scan_receipt(self) -> None:
        """A citizen scans a receipt at the lookup kiosk (the virtual scanner reads a file).

        Mostly codes the hub knows (from the dossier board), sometimes an unknown code or a
        receipt's QR link, as at a real kiosk."""
        roll = self.rng.random()
        if self._known_codes and roll < 0.7:
            code = self.rng.choice(self._known_codes)
        else:
            code = f"{self.cfg.office.id}-{self.clock.now():%y%m%d}-{self.rng.randint(1, 9999):04d}"
        if roll > 0.9:
            code = f"https://dichvucong.example.gov.vn/tra-cuu?MHS={code}"
        try:
            self._scan_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self._scan_file, "a", encoding="utf-8") as fh:
                fh.write(code + "\n")
        except OSError as exc:
            log.debug("cannot feed the scanner file: %s", exc)

    # ------------------------------------------------------------------ clerks

    def _clerk(self, number: int) -> None:
        t = self.topics.counter_command(number)
        staff = STAFF[(number - 1) % len(STAFF)]
        opened = False
        while not self.stop_event.is_set():
            if not self._office_open():
                if opened:
                    self._request(t, {"action": "close"})
                    opened = False
                if not self._sleep(60):
                    return
                continue
            if not opened:
                r = self._request(t, {"action": "open", "staff": staff})
                opened = bool(r and r.get("ok"))
                if not opened:
                    self._sleep(30)
                    continue
            r = self._request(t, {"action": "next"})
            if not r or not r.get("ok"):
                if r and r["error"]["code"] == "counter_closed":
                    opened = False
                self._sleep(30)
                continue
            ticket = r.get("ticket")
            if ticket is None:
                self._sleep(self.rng.uniform(20, 60))
                continue
            if self.rng.random() < self.sim.no_show_share:
                if self._sleep(45):
                    self._request(t, {"action": "recall"})
                if self._sleep(60):
                    self._request(t, {"action": "skip"})
                continue
            if not self._sleep(self.rng.expovariate(1.0 / self.sim.service_time_s)):
                return
            done = self._request(t, {"action": "finish"})
            if done and done.get("ok") and done.get("ticket"):
                self._rate(number, done["ticket"]["ticket_id"])

    def _rate(self, counter: int, ticket_id: str) -> None:
        level = self.rng.choices([lv for lv, _ in RATINGS], [w for _, w in RATINGS])[0]
        fields: dict[str, Any] = {"counter": counter, "ticket_id": ticket_id, "level": level}
        if level == "unsatisfied":
            fields["reasons"] = self.rng.sample(REASONS, k=self.rng.randint(1, 2))
        self.bus.request_async(self.topics.rating_submit, fields)


def create(ctx: DaemonContext) -> Simulator:
    return Simulator(ctx)


__all__ = ["Simulator", "create", "P"]
