"""The embedded broker: mosquitto.conf, password file and ACL generated from the office config.

Anonymous access is off; each device gets its own credential, generated once and kept in
DATA/broker/credentials.json (mode 0600); each role may publish only its own topics.
"""
from __future__ import annotations

import base64
import getpass
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import paho.mqtt.client as mqtt

from edge.config import OfficeConfig
from edge.protocol import Topics

log = logging.getLogger(__name__)

#: Service accounts that are not devices in the config (`simulator` only with --simulate).
SERVICE_USERS = ("engine", "hub", "admin", "reports", "web")
SIMULATOR = "simulator"
#: `ROLE~NAME` is an extra account with ROLE's rights under its own name (a second technician
#: session, a test client): `~` is not allowed in device ids, so the role is unambiguous.
ROLE_SEP = "~"
#: The broker refuses bigger packets by disconnecting the sender (payloads are <= 64 KiB).
MAX_PACKET_BYTES = 1048576
_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}~[A-Za-z0-9._-]{1,32}$")


@dataclass(frozen=True)
class BrokerFiles:
    conf: Path
    passwd: Path
    acl: Path
    credentials: Path


def credentials_path(data_dir: Path) -> Path:
    return Path(data_dir) / "broker" / "credentials.json"


def role_of(user: str) -> str:
    """The role whose rights `user` has: itself, or ROLE for an extra account `ROLE~NAME`."""
    return user.split(ROLE_SEP, 1)[0]


def load_credentials(data_dir: Path, cfg: OfficeConfig | None = None, *, simulate: bool = False,
                     extra_users: Iterable[str] = ()) -> dict[str, str]:
    """Credentials by username; creates missing ones (for every device in `cfg`) on first use."""
    path = credentials_path(data_dir)
    creds: dict[str, str] = {}
    if path.exists():
        creds = json.loads(path.read_text(encoding="utf-8"))
    if cfg is None:
        return creds
    wanted = list(SERVICE_USERS) + [d.id for d in cfg.devices] + ([SIMULATOR] if simulate else [])
    wanted += list(extra_users)
    missing = [u for u in wanted if u not in creds]
    if missing:
        for user in missing:
            creds[user] = secrets.token_urlsafe(18)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(creds, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        log.info("generated broker credentials for %d users in %s", len(missing), path)
    os.chmod(path, 0o600)
    return creds


def rotate_credential(data_dir: Path, user: str) -> str:
    """Give `user` a new password in credentials.json (the old one stops working once the
    broker files are written again and mosquitto restarts); returns the new password."""
    path = credentials_path(data_dir)
    creds = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if user not in creds:
        raise KeyError(user)
    creds[user] = secrets.token_urlsafe(18)
    _write_private(path, json.dumps(creds, indent=1, sort_keys=True))
    log.info("new broker password for %s in %s", user, path)
    return creds[user]


def mosquitto_hash(password: str, salt: bytes | None = None, iterations: int = 101) -> str:
    """Mosquitto 2 password-file hash ($7$: PBKDF2-HMAC-SHA512)."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def acl_rules(cfg: OfficeConfig, *, simulate: bool = True) -> dict[str, list[str]]:
    """ACL lines per username: each role reads only what it needs and writes only its own topics.

    Replies are readable only by their requester (`pattern read .../reply/%u/#`, added by
    write_broker_files); requests, lookups, scans, ratings and print jobs only by whoever
    serves them; what every waiting-room screen shows anyway (state, ticket events, device
    status) by every device.
    """
    t = Topics(cfg.office.id)
    root = t.root
    read = lambda *topics: [f"topic read {x}" for x in topics]  # noqa: E731
    own_status = lambda u: f"topic write {t.device_status(u)}"  # noqa: E731
    public = read(t.device_status_all, t.counter_state_all, t.queue_state, t.display_notice, t.ticket_event_all)
    rules: dict[str, list[str]] = {
        "admin": [f"topic readwrite {root}/#", "topic readwrite $SYS/#"],
        "engine": public + read(t.ticket_issue, t.counter_command_all, t.engine_admin, t.rating_submit, t.queue_waiting,
                                f"{root}/print/+/result") + [
                   own_status("engine"),
                   f"topic write {root}/counter/+/state", f"topic write {t.queue_state}",
                   f"topic write {root}/event/#", f"topic write {root}/reply/#",
                   f"topic write {t.error}", f"topic write {t.display_notice}",
                   f"topic write {t.office_info}"],
        "hub": public + read(t.dossier_lookup, t.hub_admin, t.rating_event, t.queue_stats_event,
                             f"{root}/event/hub/#", t.procedures_search, t.procedures_get,
                             t.appointment_redeem, t.ticket_event_all) + [
                own_status("hub"), f"topic write {root}/reply/#", f"topic write {t.error}",
                f"topic write {root}/event/hub/#", f"topic write {t.dossier_lookup}"],
        "reports": [own_status("reports"), f"topic write {t.error}"],
    }
    rules["web"] = web_acl(t)
    if simulate:
        rules[SIMULATOR] = [f"topic read {root}/#", f"topic write {t.error}", f"topic write {t.ticket_issue}",
                            f"topic write {root}/counter/+/command",
                            f"topic write {t.rating_submit}", f"topic write {t.dossier_lookup}",
                            f"topic write {root}/scan/+", f"topic write {root}/print/+/job", own_status(SIMULATOR)]
    for d in cfg.devices:
        # every daemon may report bad input on the error topic (PROTOCOL.md "Bad input")
        lines = list(public) + [own_status(d.id), f"topic write {t.error}"]
        if d.kind == "kiosk":
            if d.mode == "lookup":
                lines.append(f"topic write {t.dossier_lookup}")
                if d.scanner:
                    lines += read(t.scan(d.scanner))
            else:
                lines.append(f"topic write {t.ticket_issue}")
            if d.mode == "ticket" and d.printer:
                lines.append(f"topic write {t.print_job(d.printer)}")
                lines += read(t.print_result(d.printer))
            if d.mode == "procedures":
                lines.append(f"topic write {root}/procedures/#")
                if d.printer:
                    lines += [f"topic write {t.print_job(d.printer)}"] + read(t.print_result(d.printer))
            if d.mode == "ticket" and d.scanner:  # receipts and bookings scanned at the ticket kiosk (issue 16)
                lines.append(f"topic write {t.dossier_lookup}")
                lines.append(f"topic write {t.appointment_redeem}")
                lines += read(t.scan(d.scanner))
        elif d.kind == "printer":
            lines.append(f"topic write {t.print_result(d.id)}")
            lines += read(t.print_job(d.id))
        elif d.kind == "keypad":
            lines.append(f"topic write {t.counter_command(d.counter)}")
            lines.append(f"topic write {t.counter_feedback(d.counter)}")
        elif d.kind == "led" and d.counter is not None:  # a keypad's answers (MO, DONG, LOI) on its board
            lines += read(t.counter_feedback(d.counter))
        elif d.kind == "tablet":
            lines.append(f"topic write {t.rating_submit}")
        elif d.kind == "display" and d.mode == "information":
            lines.append(f"topic write {root}/procedures/#")
        elif d.kind == "scanner":
            lines.append(f"topic write {t.scan(d.id)}")
        elif d.kind == "voice":
            lines.append(f"topic write {root}/event/voice/#")
        elif d.kind == "camera":
            lines.append(f"topic write {root}/event/camera/#")
            lines += read(t.rating_event)
        elif d.kind == "display":  # any mode: the dossier board is a public screen anyway
            lines += read(t.dossier_board)
            if d.mode in ("cameras", "presence"):  # desks seen empty by the counter cameras
                lines += read(f"{root}/event/camera/#")
        rules[d.id] = lines
    return rules


def web_acl(t: Topics) -> list[str]:
    """The clerks' web console: reads counter/queue state and ticket events, sends counter commands
    and waiting-list requests, hears its own replies; nothing else."""
    return [f"topic read {t.counter_state_all}", f"topic read {t.queue_state}",
            f"topic read {t.ticket_event_all}", f"topic write {t.counter_command_all}",
            f"topic write {t.queue_waiting}", f"topic write {t.device_status('web')}",
            f"topic write {t.error}",
            # the manager's desk (web/manager.py): device alerts in, the TV notice out
            f"topic read {t.device_status_all}", f"topic readwrite {t.display_notice}", f"topic read {t.rating_event}",
            # the technician's page (web/technician.py): the engine's reload after a config change
            f"topic write {t.engine_admin}"]


def may_write(rules: dict[str, list[str]], user: str, topic: str) -> bool:
    """Whether the ACL lets `user` (or its role) publish on `topic`: a requester named in a
    reply_to must be one that could have sent the request (docs/operations.md)."""
    for line in rules.get(role_of(user), ()):
        kind, _, pattern = line.partition(" ")[2].partition(" ")
        if kind in ("write", "readwrite") and mqtt.topic_matches_sub(pattern, topic):
            return True
    return False


def write_broker_files(cfg: OfficeConfig, data_dir: Path, *, port: int | None = None,
                       bind: str | None = None, simulate: bool = False,
                       extra_users: Iterable[str] = ()) -> BrokerFiles:
    """Write mosquitto.conf, passwd and acl under DATA/broker; returns their paths.

    `extra_users` are new `ROLE~NAME` accounts with ROLE's rights (a second technician's
    session, a test client); those already in credentials.json are kept. The `simulator`
    account exists only for a simulated office.
    """
    bdir = Path(data_dir) / "broker"
    bdir.mkdir(parents=True, exist_ok=True)
    rules = acl_rules(cfg, simulate=simulate)
    new = list(extra_users)
    for user in new:
        if role_of(user) not in rules or user == role_of(user) or not _ACCOUNT_RE.match(user):
            raise ValueError(f"extra broker account {user!r}: must be ROLE{ROLE_SEP}NAME (NAME of [A-Za-z0-9._-]) "
                             f"with ROLE one of {', '.join(rules)}")
    known = load_credentials(data_dir)
    extra = list(dict.fromkeys([*new, *(u for u in known if ROLE_SEP in u)]))
    for user in extra:
        if role_of(user) in rules:  # an account of a removed device goes with it
            rules[user] = rules[role_of(user)]
    creds = load_credentials(data_dir, cfg, simulate=simulate, extra_users=new)
    passwd = bdir / "passwd"
    acl = bdir / "acl"
    conf = bdir / "mosquitto.conf"
    # Only accounts of this config: a device removed (or the simulator) can no longer connect.
    _write_private(passwd, "".join(f"{u}:{mosquitto_hash(p)}\n" for u, p in sorted(creds.items()) if u in rules))
    t = Topics(cfg.office.id)
    acl_text = "# generated by motcua from the office config; do not edit\n"
    # Each user reads only its own reply subtree (client id = username, so nobody can take it).
    acl_text += f"pattern read {t.reply_prefix}%u/#\n"
    for user, lines in rules.items():
        acl_text += f"\nuser {user}\n" + "\n".join(lines) + "\n"
    _write_private(acl, acl_text)
    persist = bdir / "persist"
    persist.mkdir(exist_ok=True)
    # Site additions (the bridge to a central cluster, see edge/tools/bridge.py) survive regeneration.
    confd = bdir / "conf.d"
    confd.mkdir(exist_ok=True)
    conf_text = "\n".join([
        "# generated by motcua from the office config; do not edit",
        "per_listener_settings false",
        # Stay the user that runs us: dropping to 'mosquitto' would lose access to our 0600 files.
        f"user {getpass.getuser()}",
        f"listener {port or cfg.broker.port} {bind or cfg.broker.bind}",
        "allow_anonymous false",
        # A client id is its username: no credential can take over another daemon's session.
        "use_username_as_clientid true",
        f"max_packet_size {MAX_PACKET_BYTES}",
        f"password_file {passwd}",
        f"acl_file {acl}",
        "set_tcp_nodelay true",
        "persistence true",
        f"persistence_location {persist}/",
        "autosave_interval 30",
        "max_queued_messages 10000",
        "max_inflight_messages 100",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        f"include_dir {confd}",
        "",
    ])
    _write_private(conf, conf_text)
    return BrokerFiles(conf, passwd, acl, credentials_path(data_dir))


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)), None)
    if not found:
        raise FileNotFoundError("mosquitto is not installed: run scripts/setup.sh as root, "
                                "or apt-get install mosquitto")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(host: str, port: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


class BrokerProcess:
    """A mosquitto child process for one generated config."""

    def __init__(self, conf: Path, host: str, port: int) -> None:
        self.conf, self.host, self.port = conf, host, port
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "BrokerProcess":
        logfile = self.conf.parent / "mosquitto.log"
        with open(logfile, "ab") as err:
            self.proc = subprocess.Popen([mosquitto_binary(), "-c", str(self.conf)],
                                         stdout=subprocess.DEVNULL, stderr=err)
        connect_host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        if not wait_port(connect_host, self.port, timeout):
            self.stop()
            tail = logfile.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"mosquitto did not start on {self.host}:{self.port}: {tail}")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
