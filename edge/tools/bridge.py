"""The office broker's bridge to a central cluster (Mosquitto or EMQX).

The office's whole topic tree goes out (state, events, device health), and only the
topics the centre may act on come in (by default the display notice). The centre sends
those under its own root, `motcua-down/v1/{office}/...`, which the bridge maps onto the
office's tree: the inbound and outbound topics never overlap on the centre, so a message
cannot loop, even to a broker that does not know mosquitto's bridge mode (EMQX). The bridge keeps
a persistent session on both ends (`cleansession false`), so QoS 1 messages published
while the link is down wait in the office broker (persisted to disk) and are delivered
when it returns. The file goes to DATA/broker/conf.d/bridge.conf, which the generated
mosquitto.conf includes, so `motcua broker` picks it up at its next start.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from edge.protocol import Topics

log = logging.getLogger(__name__)

#: Root of the topics the centre publishes for an office (mapped onto the office's own root).
DOWN_ROOT = "motcua-down/v1"

_ADDRESS = re.compile(r"^[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?$")
_LEVELS = re.compile(r"^[A-Za-z0-9._/+#-]+$")


@dataclass(frozen=True)
class CentralLink:
    """How an office broker reaches the central cluster."""

    address: str                          # host:port (several, space-separated, for a cluster)
    username: str | None = None
    password: str | None = None
    cafile: str | None = None             # TLS to the centre when set
    inbound: tuple[str, ...] = ("display/notice",)  # topics under the office root the centre may publish
    qos: int = 1
    try_private: bool = True              # mosquitto's bridge mode; False for EMQX and other brokers
    restart: tuple[int, int] = (5, 60)    # reconnect backoff: first and longest wait (s)
    keepalive: int = 30

    def validate(self) -> None:
        """Refuse anything that could break out of its line in mosquitto.conf."""
        if any(c in self.address for c in "\r\n\t#"):
            raise ValueError("bridge address must be host:port on one line")
        for addr in self.address.split(" "):
            if not _ADDRESS.match(addr) or (":" in addr and not 0 < int(addr.rsplit(":", 1)[1] or 0) < 65536):
                raise ValueError(f"bridge address {addr!r} is not host[:port]")
        if not self.address.strip():
            raise ValueError("bridge address is empty")
        for t in self.inbound:
            if not _LEVELS.match(t) or t.startswith("/"):
                raise ValueError(f"inbound topic {t!r} must be a topic below the office root, e.g. display/notice")
        if self.qos not in (0, 1, 2):
            raise ValueError("qos must be 0, 1 or 2")
        if not 1 <= self.restart[0] <= self.restart[1]:
            raise ValueError("restart must be FIRST LONGEST with 1 <= FIRST <= LONGEST")
        for value in (self.username, self.password, self.cafile):
            if value is not None and ("\n" in value or not value.strip()):
                raise ValueError("credentials and paths must be one non-empty line")


def bridge_conf(office_id: str, link: CentralLink) -> str:
    """The mosquitto.conf bridge section for one office."""
    link.validate()
    root = Topics(office_id).root
    name = f"motcua-{office_id}"
    lines = [
        f"# Bridge of office {office_id} to the central cluster; written by motcua (edge/tools/bridge.py).",
        f"connection {name}",
        f"address {link.address}",
        "bridge_protocol_version mqttv311",
        f"try_private {'true' if link.try_private else 'false'}",
        f"remote_clientid {name}",
        f"local_clientid {name}-local",
        # Persistent sessions on both ends: QoS 1 traffic waits while the link is down.
        "cleansession false",
        "local_cleansession false",
        "start_type automatic",
        f"restart_timeout {link.restart[0]} {link.restart[1]}",
        f"keepalive_interval {link.keepalive}",
        "notifications true",
        "bridge_outgoing_retain true",
    ]
    if link.username:
        lines.append(f"remote_username {link.username}")
    if link.password:
        lines.append(f"remote_password {link.password}")
    if link.cafile:
        lines += [f"bridge_cafile {link.cafile}", "bridge_insecure false", "bridge_tls_version tlsv1.2"]
    lines.append(f"topic {root}/# out {link.qos}")
    down = f"{DOWN_ROOT}/{office_id}/"
    lines += [f"topic {t} in {link.qos} {root}/ {down}" for t in link.inbound]
    return "\n".join(lines) + "\n"


def bridge_path(data_dir: Path) -> Path:
    return Path(data_dir) / "broker" / "conf.d" / "bridge.conf"


def write_bridge(data_dir: Path, office_id: str, link: CentralLink) -> Path:
    """Write DATA/broker/conf.d/bridge.conf (mode 0600: it may hold the central password)."""
    path = bridge_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(bridge_conf(office_id, link))
    if os.geteuid() == 0:  # written with sudo: the broker (user motcua) owns conf.d and must read it
        owner = path.parent.stat()
        os.chown(tmp, owner.st_uid, owner.st_gid)
    os.replace(tmp, path)
    return path


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="motcua bridge",
                                 description="Write the office broker's bridge to a central cluster "
                                             "(DATA/broker/conf.d/bridge.conf); restart the broker to apply.")
    ap.add_argument("config", help="office TOML file")
    ap.add_argument("--central", required=False, help="central broker host:port (several space-separated)")
    ap.add_argument("--user", default=None, help="username on the central broker")
    ap.add_argument("--password-file", default=None, help="file holding that user's password")
    ap.add_argument("--cafile", default=None, help="CA certificate: connect with TLS")
    ap.add_argument("--inbound", action="append", default=None,
                    help="topic below the office root the centre may publish (repeatable; default display/notice)")
    ap.add_argument("--emqx", action="store_true", help="the centre is EMQX (or another non-mosquitto broker)")
    ap.add_argument("--data", default=None, help="data folder (default MOTCUA_DATA or var/office)")
    ap.add_argument("--remove", action="store_true", help="remove the bridge")
    return ap


def cli_main(argv: list[str]) -> int:
    from edge.daemon import default_data_dir
    from edge.tools import load_config
    args = build_parser().parse_args(argv)
    cfg = load_config(args.config, "motcua bridge")
    if cfg is None:
        return 1
    data = Path(args.data) if args.data else default_data_dir()
    if args.remove:
        bridge_path(data).unlink(missing_ok=True)
        print(f"removed {bridge_path(data)}; restart the broker (systemctl restart motcua-broker)")
        return 0
    if not args.central:
        print("motcua bridge: --central host:port is required", file=sys.stderr)
        return 2
    password = None
    if args.password_file:
        try:
            password = Path(args.password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            print(f"motcua bridge: cannot read the password file: {exc}", file=sys.stderr)
            return 2
    link = CentralLink(args.central, args.user, password, args.cafile,
                       tuple(args.inbound) if args.inbound else ("display/notice",), try_private=not args.emqx)
    try:
        path = write_bridge(data, cfg.office.id, link)
    except ValueError as exc:
        print(f"motcua bridge: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}; restart the broker to apply (systemctl restart motcua-broker)")
    return 0


if __name__ == "__main__":  # `python -m edge.tools.bridge`, until `motcua bridge` is registered
    sys.exit(cli_main(sys.argv[1:]))
