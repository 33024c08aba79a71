"""What every daemon shares: its context, journald-friendly logging, signals, sd_notify.

A daemon module exposes `create(ctx: DaemonContext) -> Daemon`; `run_daemon` does the
rest, so each daemon file holds only what is particular to its device.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from edge.broker import load_credentials
from edge.bus import BrokerURL, Bus
from edge.clock import Clock, parse_clock
from edge.config import OfficeConfig
from edge.protocol import Topics

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A daemon cannot start for a reason a technician must fix; the message is the one line
    `motcua` prints (naming the file and what to do), never a traceback."""


class Daemon(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class DaemonContext:
    cfg: OfficeConfig
    topics: Topics
    clock: Clock
    data_dir: Path
    broker: BrokerURL
    device_id: str
    kind: str
    device: Any = None  # the device's config model, for device daemons
    options: dict[str, Any] = field(default_factory=dict)
    config_path: Path | None = None

    def bus(self, **kw: Any) -> Bus:
        return Bus(self.broker, self.topics, self.device_id, self.kind, self.clock,
                   keepalive=self.cfg.broker.keepalive_s, **kw)

    @property
    def state_dir(self) -> Path:
        """DATA/<device id>: this daemon's own files."""
        d = self.data_dir / self.device_id
        d.mkdir(parents=True, exist_ok=True)
        return d


def default_data_dir() -> Path:
    return Path(os.environ.get("MOTCUA_DATA", "var/office"))


def make_context(cfg: OfficeConfig, device_id: str, kind: str, *, broker: str | None = None,
                 data_dir: Path | str | None = None, clock: str | Clock | None = None,
                 device: Any = None, config_path: Path | str | None = None) -> DaemonContext:
    """Build a daemon's context; credentials come from the URL, MOTCUA_BROKER_PASSWORD_FILE,
    MOTCUA_BROKER_PASSWORD or DATA/broker/credentials.json (never a password on the command line)."""
    # State files (queues, tickets, ratings, clips) are private, under systemd or not.
    os.umask(0o077)
    data = Path(data_dir) if data_dir else default_data_dir()
    data.mkdir(parents=True, exist_ok=True)
    broker = broker or os.environ.get("MOTCUA_BROKER")
    url = BrokerURL.parse(broker) if broker else BrokerURL(cfg.broker.host, cfg.broker.port, tls=cfg.broker.tls)
    if url.username is not None and url.password is None:
        secret = env_password()
        if secret is not None:
            url = url.with_credentials(url.username, secret)
    if url.username is None:
        creds = load_credentials(data)
        if device_id in creds:
            url = url.with_credentials(device_id, creds[device_id])
        else:
            log.warning("no broker credential for %s in %s; connecting anonymously", device_id, data)
    if not isinstance(clock, Clock):
        anchor = os.environ.get("MOTCUA_CLOCK_ANCHOR")
        clock = parse_clock(clock or os.environ.get("MOTCUA_CLOCK"), cfg.office.tz,
                            float(anchor) if anchor else None)
    return DaemonContext(cfg, Topics(cfg.office.id), clock, data, url, device_id, kind, device,
                         config_path=Path(config_path) if config_path else None)


def env_password() -> str | None:
    """The broker password from MOTCUA_BROKER_PASSWORD_FILE (a 0600 file) or
    MOTCUA_BROKER_PASSWORD: `--broker mqtt://user:pass@...` would show it in the process list."""
    path = os.environ.get("MOTCUA_BROKER_PASSWORD_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"MOTCUA_BROKER_PASSWORD_FILE {path}: {exc.strerror}") from None
    return os.environ.get("MOTCUA_BROKER_PASSWORD")


# ---------------------------------------------------------------------------- logging


class _JournalFormatter(logging.Formatter):
    """`<N>name: message` lines: journald reads the priority and adds its own timestamp."""

    PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

    def format(self, record: logging.LogRecord) -> str:
        prio = self.PRIORITY.get(record.levelno, 6)
        text = super().format(record)
        return "\n".join(f"<{prio}>{line}" for line in text.splitlines())


def setup_logging(level: str | int | None = None) -> None:
    level = level or os.environ.get("MOTCUA_LOG", "INFO")
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if isinstance(level, int) else level.upper())


# ---------------------------------------------------------------------------- systemd


def sd_notify(message: str) -> bool:
    """Send a state line to systemd's notify socket; a no-op outside systemd."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(addr)
            s.sendall(message.encode())
        return True
    except OSError as exc:
        log.debug("sd_notify failed: %s", exc)
        return False


def _watchdog_interval() -> float | None:
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 2e6


class DaemonGroup:
    """Several device daemons of one kind in one process (`--device a,b,c`): one Python, one set
    of imported libraries, each device still with its own MQTT connection, credential and status.
    Started in order, stopped in reverse; healthy only while every member is."""

    def __init__(self, members: list[tuple[str, Daemon]]) -> None:
        self.members = members

    def start(self) -> None:
        for _, d in self.members:
            d.start()

    def stop(self) -> None:
        for device_id, d in reversed(self.members):
            try:
                d.stop()
            except Exception:  # noqa: BLE001 - stop the others all the same
                log.exception("%s did not stop cleanly", device_id)

    def healthy(self) -> bool:
        checks = [getattr(d, "healthy", None) for _, d in self.members]
        return all(c() for c in checks if c is not None)


def run_daemon(daemon: Daemon, name: str, healthy: Any = None) -> int:
    """Start `daemon`, notify systemd, keep the watchdog fed, stop cleanly on SIGTERM/SIGINT."""
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        log.info("%s: signal %d, stopping", name, signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    daemon.start()
    sd_notify("READY=1")
    log.info("%s running", name)
    interval = _watchdog_interval()
    while not stop.wait(interval or 3600):
        if interval and (healthy is None or healthy()):
            sd_notify("WATCHDOG=1")
    sd_notify("STOPPING=1")
    daemon.stop()
    log.info("%s stopped", name)
    return 0
