"""`motcua run`: the embedded broker plus every daemon configured for this host, as children.

A child that dies is restarted with backoff; SIGTERM stops them all in order. With
--simulate every daemon loads the config with its devices switched to their virtual backends
and the hub to the upstream simulator (edge.config.simulated), simulated citizens and clerks
drive the office, and a simulated clock lets a whole working day play at any hour.
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from edge.broker import BrokerProcess, free_port, wait_port, write_broker_files
from edge.config import OfficeConfig
from edge.grouping import GROUPABLE_SERVICES, split_devices

log = logging.getLogger(__name__)

BACKOFF_MAX_S = 30.0

STABLE_AFTER_S = 60.0


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    started: float = 0.0
    backoff: float = 1.0
    next_start: float = 0.0
    restarts: int = 0
    log_path: Path | None = None


def daemon_available(name: str) -> bool:
    from edge.cli import DAEMONS
    try:
        return importlib.util.find_spec(DAEMONS[name]) is not None
    except ModuleNotFoundError:
        return False


def default_sim_clock(cfg: OfficeConfig, now: datetime | None = None) -> str:
    """A working day's opening minus two minutes, today or the next working day, at 10x."""
    tz = cfg.office.tz
    now = now or datetime.now(tz)
    for add in range(0, 8):
        day = (now + timedelta(days=add)).date()
        spans = cfg.office.hours.spans(day.weekday())
        if spans and day not in cfg.office.holidays:
            start = datetime.combine(day, spans[0].start, tz) - timedelta(minutes=2)
            return f"{start.strftime('%Y-%m-%dT%H:%M')}x10"
    return f"{now.strftime('%Y-%m-%dT%H:%M')}x10"


def plan_children(args: argparse.Namespace, cfg: OfficeConfig, broker_arg: list[str]) -> list[Child]:
    base = [sys.executable, "-m", "edge.cli"]
    common = [args.config, "--data", str(args.data)] + broker_arg + (["--simulate"] if args.simulate else [])
    hosts = {"local", socket.gethostname()} if not args.host else {args.host}
    only = set(args.only.split(",")) if args.only else None
    children: list[Child] = []

    def want(name: str) -> bool:
        return only is None or name in only

    children.append(Child("engine", base + ["engine"] + common))
    if want("reports") and daemon_available("reports"):
        children.append(Child("reports", base + ["reports"] + common))
    if cfg.hub.enabled and daemon_available("hub") and want("hub"):
        children.append(Child("hub", base + ["hub"] + common))
    if cfg.web.enabled and daemon_available("web") and want("web"):
        children.append(Child("web", base + ["web"] + common))
    mine = []
    for d in cfg.devices:
        if not d.enabled or d.host not in hosts or not (want(d.id) or want(d.kind)):
            continue
        if not daemon_available(d.kind):
            log.warning("no %s daemon in this build; %s is not started", d.kind, d.id)
            continue
        mine.append(d)
    shared, alone = split_devices(mine) if not getattr(args, "one_per_device", False) else ([], mine)
    if shared:  # one process for the headless devices (edge/grouping.py)
        children.append(Child("devices", base + ["group"] + common + ["--device", ",".join(d.id for d in shared)]))
    for d in alone:
        children.append(Child(d.id, base + [d.kind] + common + ["--device", d.id]))
    if args.simulate and want("simulator"):
        children.append(Child("simulator", base + ["simulator"] + common))
    # The hub, the reports writer and the simulated citizens wait on the network or the clock
    # most of the time: one process for them (the engine always keeps its own).
    services = [c for c in children if c.name in GROUPABLE_SERVICES]
    if len(services) > 1 and not getattr(args, "one_per_device", False):
        names = [c.name for c in services]
        children = [c for c in children if c not in services]
        children.insert(1, Child("services", base + ["group"] + common + ["--device", ",".join(names)]))
    return children


def run_office(args: argparse.Namespace, cfg: OfficeConfig) -> int:
    args.data = Path(args.data or os.environ.get("MOTCUA_DATA", "var/office"))
    args.data.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if args.simulate:
        env.setdefault("MOTCUA_CLOCK", args.clock or default_sim_clock(cfg))
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            env.setdefault("SDL_VIDEODRIVER", "dummy")
        env.setdefault("SDL_AUDIODRIVER", "dummy")
    elif args.clock:
        env["MOTCUA_CLOCK"] = args.clock
    env["MOTCUA_CLOCK_ANCHOR"] = str(time.time())
    env["PYTHONUNBUFFERED"] = "1"
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")

    broker: BrokerProcess | None = None
    broker_arg: list[str] = []
    if args.broker:
        broker_arg = ["--broker", args.broker]
    elif cfg.broker.embedded:
        port, bind = cfg.broker.port, cfg.broker.bind
        if args.simulate and _port_busy(port):
            port, bind = free_port(), "127.0.0.1"
            log.info("port %d is busy; the simulated office's broker uses %d", cfg.broker.port, port)
        files = write_broker_files(cfg, args.data, port=port, bind=bind, simulate=args.simulate)
        broker = BrokerProcess(files.conf, bind, port).start()
        log.info("broker listening on %s:%d (log: %s)", bind, port, files.conf.parent / "mosquitto.log")
        broker_arg = ["--broker", f"mqtt://127.0.0.1:{port}"]
    else:
        write_broker_files(cfg, args.data, simulate=args.simulate)  # credentials for the daemons; the broker runs elsewhere

    if not args.simulate:  # a real office run with simulated parts: say so in its log, every start
        from edge.config import format_path, warnings
        for loc, vi, en in warnings(cfg):
            log.warning("CẢNH BÁO / WARNING %s: %s / %s", format_path(loc), vi, en)
    children = plan_children(args, cfg, broker_arg)
    log.info("starting %d daemons: %s", len(children), ", ".join(c.name for c in children))
    if args.simulate:
        log.info("simulated clock %s; pictures of tickets and screens under %s", env["MOTCUA_CLOCK"], args.data)
    stop = threading.Event()

    def on_signal(signum, frame):  # noqa: ANN001
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    view = None
    if args.simulate and not args.no_view and sys.stdout.isatty():
        view = _start_view(args, broker_arg, env)
        if view is not None:  # the live view owns the terminal: daemons log to files
            logs = args.data / "logs"
            logs.mkdir(exist_ok=True)
            for c in children:
                c.log_path = logs / f"{c.name}.log"
            log.info("daemon logs in %s", logs)
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while not stop.is_set():
            now = time.monotonic()
            for c in children:
                _tend(c, env, now)
            if broker is not None and broker.proc is not None and broker.proc.poll() is not None:
                log.error("broker exited (%s); restarting it", broker.proc.returncode)
                broker.start()
            if deadline is not None and now >= deadline:
                break
            stop.wait(0.5)
    finally:
        if view is not None:
            view.terminate()
        _stop_children(children)
        if broker is not None:
            broker.stop()
    return 0


def _port_busy(port: int) -> bool:
    return wait_port("127.0.0.1", port, timeout=0.05)


def _tend(c: Child, env: dict[str, str], now: float) -> None:
    if c.proc is not None:
        code = c.proc.poll()
        if code is None:
            if now - c.started > STABLE_AFTER_S:
                c.backoff = 1.0
            return
        log.warning("%s exited with %s; restarting in %.0f s%s", c.name, code, c.backoff,
                    f" (log: {c.log_path})" if c.log_path else "")
        c.proc = None
        c.next_start = now + c.backoff
        c.backoff = min(c.backoff * 2, BACKOFF_MAX_S)
        c.restarts += 1
    if now >= c.next_start:
        if c.log_path is not None:
            with open(c.log_path, "ab") as out:
                c.proc = subprocess.Popen(c.argv, env=env, stdout=out, stderr=out)
        else:
            c.proc = subprocess.Popen(c.argv, env=env)
        c.started = now


def _stop_children(children: list[Child]) -> None:
    # Devices first, the engine last, so nothing is left waiting on a reply.
    order = [c for c in children if c.name != "engine"] + [c for c in children if c.name == "engine"]
    for c in order:
        if c.proc is not None and c.proc.poll() is None:
            c.proc.terminate()
    end = time.monotonic() + 8
    for c in order:
        if c.proc is None:
            continue
        try:
            c.proc.wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop; killing it", c.name)
            c.proc.kill()
            c.proc.wait()


def _start_view(args: argparse.Namespace, broker_arg: list[str], env: dict[str, str]) -> subprocess.Popen | None:
    if importlib.util.find_spec("edge.tools.status") is None:
        return None
    return subprocess.Popen([sys.executable, "-m", "edge.cli", "status", args.config, "--data", str(args.data)]
                            + broker_arg, env=env)
