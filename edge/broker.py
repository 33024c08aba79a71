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
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from edge.config import OfficeConfig
from edge.protocol import Topics

log = logging.getLogger(__name__)

#: Service accounts that are not devices in the config.
SERVICE_USERS = ("engine", "hub", "admin", "simulator", "web")


@dataclass(frozen=True)
class BrokerFiles:
    conf: Path
    passwd: Path
    acl: Path
    credentials: Path


def credentials_path(data_dir: Path) -> Path:
    return Path(data_dir) / "broker" / "credentials.json"


def load_credentials(data_dir: Path, cfg: OfficeConfig | None = None) -> dict[str, str]:
    """Credentials by username; creates missing ones (for every device in `cfg`) on first use."""
    path = credentials_path(data_dir)
    creds: dict[str, str] = {}
    if path.exists():
        creds = json.loads(path.read_text(encoding="utf-8"))
    if cfg is None:
        return creds
    wanted = list(SERVICE_USERS) + [d.id for d in cfg.devices]
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


def mosquitto_hash(password: str, salt: bytes | None = None, iterations: int = 101) -> str:
    """Mosquitto 2 password-file hash ($7$: PBKDF2-HMAC-SHA512)."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def acl_rules(cfg: OfficeConfig) -> dict[str, list[str]]:
    """ACL lines per username: who may read and write which topics."""
    t = Topics(cfg.office.id)
    root = t.root
    read_all = f"topic read {root}/#"
    own_status = lambda u: f"topic write {t.device_status(u)}"  # noqa: E731
    rules: dict[str, list[str]] = {
        "admin": [f"topic readwrite {root}/#", "topic readwrite $SYS/#"],
        "engine": [read_all, own_status("engine"),
                   f"topic write {root}/counter/+/state", f"topic write {t.queue_state}",
                   f"topic write {root}/event/#", f"topic write {root}/reply/#",
                   f"topic write {t.error}", f"topic write {t.display_notice}",
                   f"topic write {t.office_info}"],
        "hub": [read_all, own_status("hub"), f"topic write {root}/reply/#", f"topic write {t.error}",
                f"topic write {root}/event/hub/#", f"topic write {t.dossier_lookup}"],
        "simulator": [read_all, f"topic write {t.error}", f"topic write {t.ticket_issue}", f"topic write {root}/counter/+/command",
                      f"topic write {t.rating_submit}", f"topic write {t.dossier_lookup}",
                      f"topic write {root}/scan/+", f"topic write {root}/print/+/job", own_status("simulator")],
    }
    rules["web"] = web_acl(t)
    for d in cfg.devices:
        # every daemon may report bad input on the error topic (PROTOCOL.md "Bad input")
        lines = [read_all, own_status(d.id), f"topic write {t.error}"]
        if d.kind == "kiosk":
            lines.append(f"topic write {t.dossier_lookup}" if d.mode == "lookup" else f"topic write {t.ticket_issue}")
            if d.mode == "ticket" and d.printer:
                lines.append(f"topic write {t.print_job(d.printer)}")
        elif d.kind == "printer":
            lines.append(f"topic write {t.print_result(d.id)}")
        elif d.kind == "keypad":
            lines.append(f"topic write {t.counter_command(d.counter)}")
            lines.append(f"topic write {t.counter_feedback(d.counter)}")
        elif d.kind == "tablet":
            lines.append(f"topic write {t.rating_submit}")
        elif d.kind == "scanner":
            lines.append(f"topic write {t.scan(d.id)}")
        elif d.kind == "voice":
            lines.append(f"topic write {root}/event/voice/#")
        elif d.kind == "camera":
            lines.append(f"topic write {root}/event/camera/#")
        rules[d.id] = lines
    return rules


def web_acl(t: Topics) -> list[str]:
    """The clerks' web console: reads counter/queue state and ticket events, sends counter commands
    and waiting-list requests, hears its own replies; nothing else."""
    root = t.root
    return [f"topic read {t.counter_state_all}", f"topic read {t.queue_state}",
            f"topic read {t.ticket_event_all}", f"pattern read {root}/reply/%c", f"topic write {t.counter_command_all}",
            f"topic write {t.queue_waiting}", f"topic write {t.device_status('web')}",
            f"topic write {t.error}",
            # the manager's desk (web/manager.py): device alerts in, the TV notice out
            f"topic read {t.device_status_all}", f"topic readwrite {t.display_notice}", f"topic read {t.rating_event}",
            # the technician's page (web/technician.py): the engine's reload after a config change
            f"topic write {t.engine_admin}"]


def write_broker_files(cfg: OfficeConfig, data_dir: Path, *, port: int | None = None,
                       bind: str | None = None) -> BrokerFiles:
    """Write mosquitto.conf, passwd and acl under DATA/broker; returns their paths."""
    bdir = Path(data_dir) / "broker"
    bdir.mkdir(parents=True, exist_ok=True)
    creds = load_credentials(data_dir, cfg)
    passwd = bdir / "passwd"
    acl = bdir / "acl"
    conf = bdir / "mosquitto.conf"
    _write_private(passwd, "".join(f"{u}:{mosquitto_hash(p)}\n" for u, p in sorted(creds.items())))
    rules = acl_rules(cfg)
    acl_text = "# generated by motcua from the office config; do not edit\n"
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
