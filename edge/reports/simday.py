"""Play a working day against a running engine, to have realistic data for reports.

A discrete-event simulation on a ManualClock shared with the engine: citizens arrive
(Poisson, with a morning peak and a lunch gap), take tickets over MQTT, counters press
`next` when free, some citizens do not come (`skip`), service times are log-normal per
service and clerk, and most citizens rate the visit (`rating/submit`). Everything goes
through PROTOCOL.md requests, so the engine writes exactly what a real day would.
"""
from __future__ import annotations

import heapq
import logging
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from edge.bus import Bus
from edge.clock import ManualClock
from edge.config import OfficeConfig

log = logging.getLogger(__name__)

#: Arrivals per hour by hour of day (a ward office on a busy day).
PROFILE = {7: 8, 8: 22, 9: 20, 10: 14, 11: 4, 13: 10, 14: 14, 15: 12, 16: 3}


@dataclass
class Clerk:
    name: str
    speed: float  # service-time multiplier
    unsatisfied: float  # share of unsatisfied ratings


@dataclass
class DayPlan:
    day: datetime  # office-local midnight of the day
    clerks: dict[int, Clerk]
    mix: dict[str, float]  # service -> share of arrivals
    service_min: dict[str, float]  # mean service minutes
    seed: int = 23
    scale: float = 1.0  # multiplies arrival rates
    no_show: float = 0.05
    rating_share: float = 0.75
    priority_share: float = 0.1
    reasons: list[str] = field(default_factory=lambda: ["Chậm", "Hướng dẫn sai", "Thái độ", "Đòi thêm giấy tờ", "Khác"])


def simulate_day(bus: Bus, clock: ManualClock, cfg: OfficeConfig, plan: DayPlan) -> dict[str, int]:
    """Run the day; returns counts of what was done."""
    rng = random.Random(plan.seed)
    t = bus.topics
    events: list[tuple[datetime, int, str, Any]] = []
    seq = 0

    def push(when: datetime, kind: str, arg: Any = None) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (when, seq, kind, arg))

    # arrivals
    for hour, rate in PROFILE.items():
        start = plan.day + timedelta(hours=hour)
        when = start + timedelta(minutes=30 if hour == 7 else 0)
        end = start + timedelta(hours=1) - (timedelta(minutes=30) if hour in (11, 16) else timedelta())
        while True:
            when += timedelta(seconds=rng.expovariate(rate * plan.scale / 3600))
            if when >= end:
                break
            push(when, "arrive")
    opening = plan.day + timedelta(hours=7, minutes=30)
    for number in plan.clerks:
        push(opening - timedelta(minutes=5), "open", number)
    push(plan.day + timedelta(hours=17), "close_all")
    idle: set[int] = set()
    counts = {"issued": 0, "refused": 0, "called": 0, "done": 0, "no_show": 0, "ratings": 0}
    services = list(plan.mix)
    weights = [plan.mix[s] for s in services]

    def command(counter: int, action: str, **extra: Any) -> dict[str, Any]:
        return bus.request(t.counter_command(counter), {"action": action, **extra}, timeout=5, retries=2)

    while events:
        when, _, kind, arg = heapq.heappop(events)
        clock.set(when)
        if kind == "open":
            command(arg, "open", staff=plan.clerks[arg].name)
            idle.add(arg)
        elif kind == "arrive":
            service = rng.choices(services, weights)[0]
            prio = "elderly" if rng.random() < plan.priority_share else "none"
            reply = bus.request(t.ticket_issue, {"service": service, "priority": prio, "source": "simday"},
                                timeout=5, retries=2)
            counts["issued" if reply.get("ok") else "refused"] += 1
            for c in sorted(idle):
                push(when + timedelta(seconds=rng.uniform(5, 40)), "free", c)
            idle.clear()
        elif kind == "free":
            reply = command(arg, "next")
            ticket = reply.get("ticket") if reply.get("ok") else None
            if ticket is None:
                idle.add(arg)
                continue
            counts["called"] += 1
            if rng.random() < plan.no_show:
                push(when + timedelta(seconds=90), "skip", arg)
                continue
            clerk = plan.clerks[arg]
            mean_s = plan.service_min.get(ticket["service"], 5) * 60 * clerk.speed
            sigma = 0.5
            service_s = rng.lognormvariate(math.log(mean_s) - sigma ** 2 / 2, sigma)
            push(when + timedelta(seconds=max(30, service_s)), "finish", (arg, ticket["ticket_id"]))
        elif kind == "skip":
            command(arg, "skip")
            counts["no_show"] += 1
            push(when + timedelta(seconds=5), "free", arg)
        elif kind == "finish":
            counter, ticket_id = arg
            command(counter, "finish")
            counts["done"] += 1
            if rng.random() < plan.rating_share:
                push(when + timedelta(seconds=rng.uniform(3, 20)), "rate", (counter, ticket_id))
            push(when + timedelta(seconds=rng.uniform(10, 60)), "free", counter)
        elif kind == "rate":
            counter, ticket_id = arg
            clerk = plan.clerks[counter]
            r = rng.random()
            if r < clerk.unsatisfied:
                level = "unsatisfied"
                reasons = rng.sample(plan.reasons, k=1 if rng.random() < 0.7 else 2)
            else:
                level = "very_satisfied" if rng.random() < 0.55 else "satisfied"
                reasons = []
            fields = {"counter": counter, "ticket_id": ticket_id, "level": level, "reasons": reasons}
            if level == "unsatisfied" and rng.random() < 0.4:
                fields["comment"] = rng.choice(["Chờ lâu quá", "Cán bộ hướng dẫn chưa rõ ràng",
                                                "Phải về lấy thêm giấy tờ", "Cần thêm ghế ngồi chờ"])
            reply = bus.request(t.rating_submit, fields, timeout=5, retries=2)
            counts["ratings"] += 1 if reply.get("ok") else 0
        elif kind == "close_all":
            for c in plan.clerks:
                command(c, "close")
    log.info("simulated day %s: %s", plan.day.date(), counts)
    return counts


def default_plan(cfg: OfficeConfig, day: datetime, seed: int = 23, scale: float = 1.0) -> DayPlan:
    """Clerks for every counter of the config, an even service mix, plausible service times."""
    names = ["Nguyễn Thị Lan", "Trần Văn Minh", "Lê Thị Hoa", "Phạm Quốc Bảo", "Võ Thị Mai", "Đặng Văn Hùng"]
    clerks = {c.number: Clerk(names[i % len(names)], speed=(0.8, 1.0, 1.3, 1.1, 0.9, 1.2)[i % 6],
                              unsatisfied=(0.04, 0.1, 0.22, 0.08, 0.05, 0.15)[i % 6])
              for i, c in enumerate(cfg.counters)}
    codes = [s.code for s in cfg.services]
    mix = {code: (0.5 if i == 0 else 0.5 / max(1, len(codes) - 1)) for i, code in enumerate(codes)}
    minutes = {code: (6, 10, 8, 5, 7)[i % 5] for i, code in enumerate(codes)}
    return DayPlan(day.replace(hour=0, minute=0, second=0, microsecond=0), clerks, mix, minutes, seed, scale)
