"""`motcua install CONFIG`: write and enable the systemd units for this host's daemons.

The unit files live in the repository's `systemd/` folder (reviewable, usable as they
are under /opt/motcua); install copies the ones this host needs with the real path of
the `motcua` binary, writes /etc/motcua/motcua.env (config path, data folder), the udev
rules and the sysusers entry, then enables exactly the configured daemons under
motcua.target, and disables the ones no longer configured, so re-running it after a
config change is how units follow the config.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from edge.config import OfficeConfig
from edge.grouping import split_devices
from edge.tools import load_config

log = logging.getLogger(__name__)

UNITS_DIR = Path(__file__).resolve().parents[2] / "systemd"
#: The binary path written in the repository's unit files; replaced with this host's.
DEFAULT_BIN = "/opt/motcua/.venv/bin/motcua"
DATA_DIR = "/var/lib/motcua"
TARGET = "motcua.target"
#: Device kinds that have a daemon (and so a unit template).
DEVICE_KINDS = ("printer", "kiosk", "tablet", "keypad", "display", "led", "voice", "scanner", "camera")
LOOPBACK = {"127.0.0.1", "::1", "localhost", "localhost.localdomain"}
UDEV_SUBSYSTEMS = ("usb", "usbmisc", "tty", "input", "video4linux")

Runner = Callable[[Sequence[str]], None]


@dataclass(frozen=True)
class UnitPlan:
    """One unit to enable: `name` is an instance of the repository file `template`."""

    name: str
    template: str
    daemon: str
    device: str | None = None
    members: tuple[str, ...] = ()  # `motcua group`: the devices (or services) sharing this unit's process

    @property
    def runs(self) -> tuple[str, ...]:
        """The broker users (device ids or service names) whose daemons this unit runs."""
        return self.members or (self.device or self.daemon,)


@dataclass
class InstallResult:
    written: list[Path] = field(default_factory=list)
    enabled: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    first_technician: tuple[str, str] | None = None  # (login, password) made by this install


def this_host() -> str:
    return socket.gethostname()


def is_main_host(cfg: OfficeConfig, host: str) -> bool:
    """The host that runs the broker (and with it the engine and hub)."""
    names = {host, host.split(".")[0], f"{host.split('.')[0]}.local"}
    return cfg.broker.host in LOOPBACK or cfg.broker.host in names


def plan_units(cfg: OfficeConfig, host: str, role: str = "auto", small_box: bool = False) -> list[UnitPlan]:
    """The units this host runs: service daemons on the main host, and its devices.

    A device runs here when enabled and its `host` is "local" or this host's name. With
    `small_box`, the headless devices share one unit (motcua-devices) and the hub and reports
    another (motcua-services), as `motcua run` does (edge/grouping.py).
    """
    main = role == "main" or (role == "auto" and is_main_host(cfg, host))
    units: list[UnitPlan] = []
    if main:
        if cfg.broker.embedded:
            units.append(UnitPlan("motcua-broker.service", "motcua-broker.service", "broker"))
        units.append(UnitPlan("motcua-engine.service", "motcua-engine.service", "engine"))
        units.append(UnitPlan("motcua-reports.service", "motcua-reports.service", "reports"))
        if cfg.hub.enabled:
            units.append(UnitPlan("motcua-hub.service", "motcua-hub.service", "hub"))
        if cfg.web.enabled:
            units.append(UnitPlan("motcua-web.service", "motcua-web.service", "web"))
    short = host.split(".")[0]
    mine = [d for d in cfg.devices if d.enabled and d.host in ("local", host, short)]
    shared, alone = split_devices(mine) if small_box else ([], mine)
    if shared:
        units.append(UnitPlan("motcua-devices.service", "motcua-devices.service", "group",
                              members=tuple(d.id for d in shared)))
    for d in alone:
        template = f"motcua-{d.kind}@.service"
        units.append(UnitPlan(f"motcua-{d.kind}@{d.id}.service", template, d.kind, d.id))
    if small_box:
        services = [u for u in units if u.daemon in ("hub", "reports")]
        if len(services) > 1:
            at = units.index(services[0])
            units = [u for u in units if u not in services]
            units.insert(at, UnitPlan("motcua-services.service", "motcua-services.service", "group",
                                      members=tuple(u.daemon for u in services)))
    return units


def render_unit(text: str, binary: str) -> str:
    return text.replace(DEFAULT_BIN, binary)


def env_file(config_path: Path, log_level: str = "INFO", plan: Sequence[UnitPlan] = ()) -> str:
    text = ("# Written by `motcua install`; read by every motcua unit (EnvironmentFile=).\n"
            "# After changing the config: motcua config check, then see docs/operations.md.\n"
            f"MOTCUA_CONFIG={config_path}\n"
            f"MOTCUA_DATA={DATA_DIR}\n"
            f"MOTCUA_LOG={log_level}\n")
    for u in plan:  # --small-box: who shares the process of motcua-devices / motcua-services
        if u.name == "motcua-devices.service":
            text += f"MOTCUA_DEVICES={','.join(u.members)}\n"
        elif u.name == "motcua-services.service":
            text += f"MOTCUA_SERVICES={','.join(u.members)}\n"
    return text


def office_udev_rules(cfg: OfficeConfig, units: list[UnitPlan]) -> str:
    """One /dev/motcua/DEVICE_ID name per configured USB device of this host."""
    here = {r for u in units for r in u.runs}
    lines = [f"# motcua: names for the devices of office {cfg.office.id} on this host.",
             "# Written by `motcua install` from the office config; re-run it after a change."]
    for d in cfg.devices:
        if d.id not in here:
            continue
        usb = getattr(d, "usb", None)
        if usb:
            vid, pid = usb.lower().split(":")
            if d.kind == "printer":
                lines.append(f'SUBSYSTEM=="usb", ENV{{DEVTYPE}}=="usb_device", ATTR{{idVendor}}=="{vid}", '
                             f'ATTR{{idProduct}}=="{pid}", GROUP="lp", MODE="0660", SYMLINK+="motcua/{d.id}"')
            else:
                lines.append(f'SUBSYSTEM=="input", KERNEL=="event*", ENV{{ID_INPUT_KEY}}=="1", '
                             f'ATTRS{{idVendor}}=="{vid}", ATTRS{{idProduct}}=="{pid}", GROUP="input", '
                             f'MODE="0660", SYMLINK+="motcua/{d.id}"')
        elif getattr(d, "port", None):
            lines.append(f"# {d.id}: serial port {d.port} (pick a stable name with `motcua devices`)")
    return "\n".join(lines) + "\n"


def device_credentials(creds: dict[str, str], plan: list[UnitPlan]) -> dict[str, str]:
    """Only the credentials of the daemons this host runs: a kiosk never holds the admin password."""
    if any(u.daemon == "broker" for u in plan):
        raise ValueError("--credentials is for device hosts: on the main host the broker keeps the "
                         "full credentials.json itself (use --role devices on a device host)")
    wanted = [r for u in plan for r in u.runs]
    missing = [w for w in wanted if w not in creds]
    if missing:
        raise ValueError(f"the credentials file has no entry for {', '.join(missing)}: restart the broker on "
                         "the main host (it creates them) and copy its credentials.json again")
    return {w: creds[w] for w in wanted}


def write_credentials(path: Path, creds: dict[str, str]) -> Path:
    """DATA/broker/credentials.json, mode 0600, owned by the service user when it exists."""
    import json
    import pwd
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, json.dumps(creds, indent=1, sort_keys=True) + "\n", 0o600)
    try:
        user = pwd.getpwnam("motcua")
        if os.geteuid() == 0:
            os.chown(path, user.pw_uid, user.pw_gid)
            os.chown(path.parent, user.pw_uid, user.pw_gid)
    except KeyError:
        pass  # sysusers has not created the user yet (a --root install): the unit's StateDirectory fixes owners
    return path


def systemd_running() -> bool:
    return shutil.which("systemctl") is not None and Path("/run/systemd/system").is_dir()


def _run(cmd: Sequence[str]) -> None:
    print("+ " + " ".join(cmd), file=sys.stderr)
    subprocess.run(list(cmd), check=True)


def _write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return path


def install(cfg: OfficeConfig, config_path: Path, *, root: Path | None = None, host: str | None = None,
            role: str = "auto", binary: str | None = None, enable: bool = True, now: bool = False,
            units_dir: Path = UNITS_DIR, runner: Runner = _run, live: bool | None = None,
            credentials: dict[str, str] | None = None, small_box: bool = False) -> InstallResult:
    """Write units, env file, udev rules and sysusers under `root` (default /), then enable.

    With a root folder (a test or an image being built) nothing is run: enabling is done
    with the same symlinks `systemctl enable` makes. On a live system (systemd running,
    no root folder; `live` overrides) systemctl, udevadm and systemd-sysusers do it.
    """
    host = host or this_host()
    binary = binary or default_binary()
    base = root or Path("/")
    live = (root is None and systemd_running()) if live is None else live
    plan = plan_units(cfg, host, role, small_box)
    res = InstallResult()
    unit_dir = base / "etc/systemd/system"
    templates = sorted({u.template for u in plan} | {TARGET})
    for name in templates:
        src = units_dir / name
        if not src.is_file():
            raise FileNotFoundError(f"unit file {src} is missing: is the repository's systemd/ folder there?")
        res.written.append(_write(unit_dir / name, render_unit(src.read_text(encoding="utf-8"), binary)))
    res.written.append(_write(base / "etc/motcua/motcua.env", env_file(config_path.resolve(), plan=plan)))
    res.written.append(_write(base / "etc/sysusers.d/motcua.conf",
                              (units_dir / "motcua.sysusers").read_text(encoding="utf-8")))
    rules = base / "etc/udev/rules.d"
    res.written.append(_write(rules / "70-motcua.rules", (units_dir / "70-motcua.rules").read_text(encoding="utf-8")))
    res.written.append(_write(rules / "71-motcua-office.rules", office_udev_rules(cfg, plan)))
    if credentials is not None:
        res.written.append(write_credentials(base / DATA_DIR.lstrip("/") / "broker/credentials.json",
                                             device_credentials(credentials, plan)))

    if any(u.daemon == "engine" for u in plan):
        res.first_technician = first_technician(base / DATA_DIR.lstrip("/"))
        if res.first_technician:
            res.written.append(base / DATA_DIR.lstrip("/") / "staff/staff.db")

    wants = unit_dir / f"{TARGET}.wants"
    wanted = [u.name for u in plan]
    stale = sorted(p.name for p in wants.glob("motcua-*.service") if p.name not in wanted) if wants.is_dir() else []

    def run(cmd: list[str]) -> None:
        res.commands.append(cmd)
        runner(cmd)

    if live:
        run(["systemd-sysusers", str(base / "etc/sysusers.d/motcua.conf")])
        run(["udevadm", "control", "--reload-rules"])
        run(["udevadm", "trigger", "--action=add", *(f"--subsystem-match={s}" for s in UDEV_SUBSYSTEMS)])
        run(["systemctl", "daemon-reload"])
    if enable:
        if live:
            if stale:
                run(["systemctl", "disable", "--now", *stale])
            run(["systemctl", "enable", TARGET, *wanted])
            if now:
                run(["systemctl", "restart", TARGET])
        else:
            for name in stale:
                (wants / name).unlink()
            for u in plan:
                _link(wants / u.name, Path("/etc/systemd/system") / u.template)
            _link(unit_dir / "multi-user.target.wants" / TARGET, Path("/etc/systemd/system") / TARGET)
        res.enabled, res.disabled = wanted, stale
    return res


FIRST_TECHNICIAN = "kythuat"


def first_technician(data_dir: Path) -> tuple[str, str] | None:
    """On the main host, an office with no technician account gets one (password printed once)."""
    from edge.staff import StaffStore, give_to_service_user, new_password, store_path
    path = store_path(data_dir)
    store = StaffStore(path)
    try:
        if any(s.role == "technician" for s in store):
            return None
        login = FIRST_TECHNICIAN
        n = 1
        while store.get(login) is not None:
            n += 1
            login = f"{FIRST_TECHNICIAN}{n}"
        password = new_password()
        store.add(login, "Kỹ thuật viên", "technician", password)
    finally:
        store.close()
    give_to_service_user(path)
    return login, password


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


def default_binary() -> str:
    """This installation's `motcua` (the venv that runs us), else the one on PATH."""
    here = Path(sys.prefix) / "bin" / "motcua"
    if here.exists():
        return str(here)
    return shutil.which("motcua") or DEFAULT_BIN


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="motcua install",
                                 description="Write and enable the systemd units, udev rules and service user "
                                             "for the daemons this host runs.")
    ap.add_argument("config", help="office TOML file (its absolute path goes into /etc/motcua/motcua.env)")
    ap.add_argument("--root", default=None, help="write under this folder instead of / and run nothing")
    ap.add_argument("--no-enable", action="store_true", help="write the files but enable nothing")
    ap.add_argument("--now", action="store_true", help="also (re)start motcua.target")
    ap.add_argument("--host", default=None, help="install the devices of this host (default: this hostname)")
    ap.add_argument("--role", choices=("auto", "main", "devices"), default="auto",
                    help="main: broker, engine and hub run here; devices: only devices; "
                         "auto: main when [broker] host is this machine")
    ap.add_argument("--bin", default=None, help="path of the motcua command the units run")
    ap.add_argument("--units", default=str(UNITS_DIR), help="folder of the unit files (default: the repository's)")
    ap.add_argument("--small-box", action="store_true",
                    help="for 1-2 GB boxes: the headless devices share one unit and process, the hub and reports another")
    ap.add_argument("--credentials", default=None,
                    help="device host: the main host's credentials.json; only this host's entries are installed")
    return ap


def cli_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    cfg = load_config(args.config, "motcua install", warn=True)
    if cfg is None:
        return 1
    if args.root is None and os.geteuid() != 0:
        print("motcua install: writing to /etc needs root (sudo), or use --root DIR", file=sys.stderr)
        return 2
    try:
        creds = None
        if args.credentials:
            import json
            creds = json.loads(Path(args.credentials).read_text(encoding="utf-8"))
            if not isinstance(creds, dict):
                raise ValueError(f"{args.credentials} is not a credentials.json (a JSON object)")
        res = install(cfg, Path(args.config), root=Path(args.root) if args.root else None, host=args.host,
                      role=args.role, binary=args.bin, enable=not args.no_enable, now=args.now,
                      units_dir=Path(args.units), credentials=creds, small_box=args.small_box)
    except (OSError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"motcua install: {exc}", file=sys.stderr)
        return 1
    for p in res.written:
        print(f"wrote {p}")
    for name in res.enabled:
        print(f"enabled {name}")
    for name in res.disabled:
        print(f"disabled {name} (no longer in the config for this host)")
    if res.first_technician:
        login, password = res.first_technician
        print(f"first technician account: {login}, password {password} (shown once; change it with "
              f"`motcua staff passwd {login}`)")
    if not res.enabled and not args.no_enable:
        print("nothing to run on this host: no device has host = 'local' or this hostname", file=sys.stderr)
    if args.root is None and not systemd_running():
        print("note: systemd is not running here; units are enabled by symlinks and start at next boot",
              file=sys.stderr)
    return 0
